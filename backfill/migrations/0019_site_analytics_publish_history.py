"""One publish history for the admin: the view `backfill_publish_history` over the publish
jobs' steps (`backfill_publishstep`) and the runs of `manage.py publish_site`
(`website_publishrun`), read by the unmanaged `PublishHistoryEntry`."""

from django.db import migrations, models

CREATE_VIEW = """
CREATE VIEW backfill_publish_history AS
SELECT 'step-' || s.id AS id, s.job_id, s.logical_date AS first_date,
       s.logical_date AS last_date, CASE WHEN s.logical_date IS NULL THEN 0 ELSE 1 END AS dates,
       s.logical_date IS NULL AS indexes, FALSE AS dry_run, s.destination, s.written, s.skipped,
       s.bytes, s.errors, s.started_at, s.duration_ms::bigint AS duration_ms
FROM backfill_publishstep s
UNION ALL
SELECT 'run-' || r.id, NULL::uuid, r.first_date, r.last_date, r.dates, TRUE, r.dry_run,
       r.destination, r.objects_written, r.objects_skipped, r.bytes_written, r.errors,
       r.started_at, round(r.duration_seconds * 1000)::bigint
FROM website_publishrun r
"""


class Migration(migrations.Migration):
    dependencies = [
        ("backfill", "0018_site_jobs_publish_steps"),
        ("website", "0001_site_publish_published_objects"),
    ]

    operations = [
        migrations.RunSQL(CREATE_VIEW, "DROP VIEW backfill_publish_history"),
        migrations.CreateModel(
            name="PublishHistoryEntry",
            fields=[
                ("id", models.CharField(max_length=32, primary_key=True, serialize=False)),
                ("first_date", models.DateField(null=True)),
                ("last_date", models.DateField(null=True)),
                (
                    "dates",
                    models.PositiveIntegerField(help_text="Dates published (0 for the indexes)."),
                ),
                ("indexes", models.BooleanField(help_text="The indexes were published.")),
                ("dry_run", models.BooleanField()),
                ("destination", models.CharField(max_length=500)),
                ("written", models.PositiveIntegerField(help_text="Objects written (changed).")),
                (
                    "skipped",
                    models.PositiveIntegerField(help_text="Objects unchanged, not written."),
                ),
                ("bytes", models.BigIntegerField(help_text="Bytes written.")),
                ("errors", models.JSONField()),
                ("started_at", models.DateTimeField()),
                ("duration_ms", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "publish history entry",
                "verbose_name_plural": "publish history",
                "db_table": "backfill_publish_history",
                "ordering": ["-started_at", "-id"],
                "managed": False,
            },
        ),
    ]
