"""Publish and import jobs: their strategies, the publish history (`PublishStep`) and the daily
publish on the beat schedule (a no-op until PUBLISH_DESTINATION is set)."""

import django.db.models.deletion
from django.db import migrations, models

PUBLISH_SCHEDULE = "backfill: publish the site"


def create_schedule(apps, schema_editor):
    """Every day at 08:30 UTC, after the gap fill (06:30) and the analytics it queues."""
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="8",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.get_or_create(
        name=PUBLISH_SCHEDULE,
        defaults={"task": "backfill.tasks.publish_site", "crontab": crontab, "enabled": True},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=PUBLISH_SCHEDULE
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backfill", "0017_job_types_publish_import"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterField(
            model_name="backfilljob",
            name="collection_strategy",
            field=models.CharField(
                choices=[
                    ("system-wide", "System Wide"),
                    ("per-district", "Per District"),
                    ("targeted", "Targeted"),
                    ("analytics", "Analytics"),
                    ("publish", "Publish"),
                    ("import", "Import"),
                ],
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="PublishStep",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("logical_date", models.DateField(blank=True, null=True)),
                ("destination", models.CharField(max_length=500)),
                (
                    "written",
                    models.PositiveIntegerField(default=0, help_text="Objects written (changed)."),
                ),
                (
                    "skipped",
                    models.PositiveIntegerField(
                        default=0, help_text="Objects unchanged, not written."
                    ),
                ),
                ("bytes", models.BigIntegerField(default=0, help_text="Bytes written.")),
                ("paths", models.JSONField(blank=True, default=list)),
                ("errors", models.JSONField(blank=True, default=list)),
                ("started_at", models.DateTimeField(db_index=True)),
                ("duration_ms", models.PositiveIntegerField(default=0)),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="publish_steps",
                        to="backfill.backfilljob",
                    ),
                ),
            ],
            options={
                "ordering": ["-started_at", "-id"],
                "indexes": [models.Index(fields=["job", "started_at"], name="publish_step_job")],
            },
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
