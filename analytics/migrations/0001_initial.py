from django.db import migrations, models


def move_content_type(apps, schema_editor):
    """The model's content type follows it, so its permissions (and the groups and users that
    hold them, backfill 0014) are the same rows under the new app label."""
    _relabel(apps, old="backfill", new="analytics")


def restore_content_type(apps, schema_editor):
    _relabel(apps, old="analytics", new="backfill")


def _relabel(apps, *, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="analyticsoutput").exists():
        ContentType.objects.filter(app_label=old, model="analyticsoutput").update(app_label=new)
    ContentType.objects.clear_cache()


class Migration(migrations.Migration):
    """`AnalyticsOutput`, until now a model of `backfill` (backfill 0008), in state only: the
    table keeps its name and its rows (backfill 0016 removed it from backfill's state)."""

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("backfill", "0016_apps_move_analytics"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AnalyticsOutput",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("district-time-series", "District Time Series"),
                                    ("rankings", "Rankings"),
                                ],
                                max_length=24,
                            ),
                        ),
                        ("district_id", models.CharField(blank=True, default="", max_length=8)),
                        ("program_year", models.CharField(help_text="2024-2025", max_length=9)),
                        ("logical_date", models.DateField(blank=True, null=True)),
                        (
                            "name",
                            models.CharField(
                                help_text="The file in the store.", max_length=255, unique=True
                            ),
                        ),
                        ("size_bytes", models.PositiveIntegerField(default=0)),
                        ("sha256", models.CharField(max_length=64)),
                        (
                            "snapshot_count",
                            models.PositiveIntegerField(
                                default=0,
                                help_text="Snapshot dates (district files) the document was "
                                "computed from.",
                            ),
                        ),
                        ("missing_dates", models.JSONField(blank=True, default=list)),
                        ("partial_dates", models.JSONField(blank=True, default=list)),
                        ("job_id", models.UUIDField(blank=True, null=True)),
                        ("generated_at", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "backfill_analyticsoutput",
                        "ordering": ["kind", "program_year", "district_id", "logical_date"],
                        "indexes": [
                            models.Index(
                                fields=["kind", "district_id", "program_year"],
                                name="analytics_district",
                            ),
                            models.Index(fields=["kind", "logical_date"], name="analytics_date"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, restore_content_type),
    ]
