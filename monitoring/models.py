"""The admin's Operations page needs a model to hang from (the admin lists models): a proxy of
the jobs, with no table of its own. Who may see it is decided by the jobs' view permission
(monitoring/admin.py), not by permissions of its own."""

from __future__ import annotations

from backfill.models import BackfillJob


class Operations(BackfillJob):
    class Meta:
        proxy = True
        verbose_name = "operations"
        verbose_name_plural = "operations"
        # No add/change/delete/view permissions of its own: the jobs' decide.
        default_permissions = ()
