"""Default beat schedules (editable in the admin afterwards): daily gap fill, stale-job recovery,
cleanup of old jobs and task results."""

from django.db import migrations

SCHEDULES = [
    # name, task, crontab (minute, hour)
    ("backfill: fill yesterday's gap", "backfill.tasks.fill_yesterday", ("30", "6")),
    ("backfill: recover stale jobs", "backfill.tasks.recover_jobs", ("*/5", "*")),
    ("backfill: clean up old jobs", "backfill.tasks.cleanup_jobs", ("15", "3")),
]


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, (minute, hour) in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="UTC",
        )
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "enabled": True}
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backfill", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
