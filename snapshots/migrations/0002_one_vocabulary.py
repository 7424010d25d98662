"""Snapshot statuses use the job's outcome words; the strategy is the one collection name."""

from django.db import migrations, models

WORDS = {"success": "completed", "partial": "partial_success"}


def unify(apps, schema_editor):
    Snapshot = apps.get_model("snapshots", "Snapshot")
    for old, new in WORDS.items():
        Snapshot.objects.filter(status=old).update(status=new)


def restore(apps, schema_editor):
    Snapshot = apps.get_model("snapshots", "Snapshot")
    for old, new in WORDS.items():
        Snapshot.objects.filter(status=new).update(status=old)


class Migration(migrations.Migration):
    dependencies = [("snapshots", "0001_initial")]

    operations = [
        migrations.RemoveField("snapshot", "collection_method"),
        migrations.AlterField(
            model_name="snapshot",
            name="status",
            field=models.CharField(
                choices=[
                    ("completed", "Completed"),
                    ("partial_success", "Partial Success"),
                    ("failed", "Failed"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(unify, restore),
    ]
