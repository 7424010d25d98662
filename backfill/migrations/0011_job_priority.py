"""Jobs get a priority (dispatch serves higher first) and a run kind (daily refresh of current
data vs backfill of history). Jobs created by beat's daily gap fill so far become daily
refreshes with the daily priority; every other job is a normal backfill."""

from django.db import migrations, models

BEAT = "beat"
DAILY = 20
DAILY_REFRESH = "daily-refresh"


def mark_beat_jobs_daily(apps, schema_editor):
    BackfillJob = apps.get_model("backfill", "BackfillJob")
    BackfillJob.objects.filter(created_via=BEAT).update(priority=DAILY, run_kind=DAILY_REFRESH)


class Migration(migrations.Migration):
    dependencies = [
        ("backfill", "0010_snapshot_audits"),
    ]

    operations = [
        migrations.AddField(
            model_name="backfilljob",
            name="priority",
            field=models.PositiveSmallIntegerField(
                choices=[(0, "low"), (10, "normal"), (20, "daily"), (30, "urgent")], default=10
            ),
        ),
        migrations.AddField(
            model_name="backfilljob",
            name="run_kind",
            field=models.CharField(
                choices=[("daily-refresh", "Daily Refresh"), ("backfill", "Backfill")],
                default="backfill",
                max_length=16,
            ),
        ),
        migrations.RunPython(mark_beat_jobs_daily, migrations.RunPython.noop),
    ]
