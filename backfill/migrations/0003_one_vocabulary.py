"""One word per concept: `collection_strategy`, `succeeded_units`, ALL_DISTRICTS ("*")."""

from django.db import migrations, models


def every_district_as_star(apps, schema_editor):
    apps.get_model("backfill", "BackfillUnit").objects.filter(district_id="").update(
        district_id="*"
    )


def every_district_as_empty(apps, schema_editor):
    apps.get_model("backfill", "BackfillUnit").objects.filter(district_id="*").update(
        district_id=""
    )


class Migration(migrations.Migration):
    dependencies = [("backfill", "0002_default_schedules")]

    operations = [
        migrations.RenameField("backfilljob", "strategy", "collection_strategy"),
        migrations.RenameField("backfilljob", "completed_units", "succeeded_units"),
        migrations.RunPython(every_district_as_star, every_district_as_empty),
        migrations.AlterField(
            model_name="backfillunit",
            name="district_id",
            field=models.CharField(max_length=8),
        ),
        migrations.AlterField(
            model_name="backfilljob",
            name="scope",
            field=models.JSONField(
                default=dict,
                help_text=(
                    "targetDistricts, configuredDistricts, excludedDistricts, scopeType "
                    "(system-wide, targeted, single-district), warnings."
                ),
            ),
        ),
    ]
