from django.db import migrations


class Migration(migrations.Migration):
    """`AnalyticsOutput` moves to the `analytics` app (analytics 0001): it leaves backfill's
    state only; its table, `backfill_analyticsoutput`, and its rows stay as they are."""

    dependencies = [
        ("backfill", "0015_polling_unit_ran_unavailable"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AnalyticsOutput")],
            database_operations=[],
        ),
    ]
