"""Unit leases: who holds a running unit, until when, under which dispatch token; and the beat
schedule that re-dispatches units whose lease expired or whose worker is gone (every 10 s)."""

from django.db import migrations, models

RECLAIM_SCHEDULE = "backfill: re-dispatch lost units"
RECLAIM_TASK = "backfill.tasks.reclaim_lost_units"
RECLAIM_EVERY_SECONDS = 10


def create_reclaim_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=RECLAIM_EVERY_SECONDS, period="seconds"
    )
    PeriodicTask.objects.get_or_create(
        name=RECLAIM_SCHEDULE,
        defaults={"task": RECLAIM_TASK, "interval": interval, "enabled": True},
    )


def remove_reclaim_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=RECLAIM_SCHEDULE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backfill", "0004_unit_waiting"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="backfillunit",
            name="lease_token",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="backfillunit",
            name="lease_owner",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddField(
            model_name="backfillunit",
            name="lease_pid",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="backfillunit",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="backfillunit",
            index=models.Index(fields=["status", "lease_expires_at"], name="unit_status_lease"),
        ),
        migrations.RunPython(create_reclaim_schedule, remove_reclaim_schedule),
    ]
