"""The groups of backfill 0014 get the alerts' permissions, split the same way: *Backfill
operators* every one (edit rules and webhook endpoints, send tests), *Backfill viewers* the view
ones (rules, conditions, endpoints without their secrets, the delivery log). The Operations page
(monitoring) has no permissions of its own: the jobs' view permission opens it."""

import importlib

from django.db import migrations

GROUPS = importlib.import_module("backfill.migrations.0014_perms_groups")


def grant(apps, schema_editor):
    GROUPS.create_groups(apps, schema_editor, labels=("alerts",))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=(GROUPS.OPERATORS, GROUPS.VIEWERS)):
        group.permissions.remove(*group.permissions.filter(content_type__app_label="alerts"))


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_ops_alerts_rules"),
        ("backfill", "0014_perms_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
