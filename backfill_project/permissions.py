"""Who may do what: Django's model permissions, one mapping for the admin and the API.

Reading needs a model's `view_` permission; starting a job, its actions and editing the rate
limit need the model permission plus a permission of their own (the models' Meta). The groups
*Backfill viewers* (view only) and *Backfill operators* (everything) hold them (migration
backfill 0013); a superuser has them all.

- The admin: the ModelAdmins' `has_*_permission` hooks answer from these; their own views are
  wrapped in `guarded(...)`, which is `admin_site.admin_view` plus a 403 unless the hook agrees.
- The API: `HasPermissions` reads a view's `required_permissions` ({method: permissions}); a
  method the view does not list is refused, so a new endpoint is closed until it says what it
  needs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

VIEW_JOBS = ("backfill.view_backfilljob",)
RUN_JOBS = ("backfill.add_backfilljob", "backfill.run_backfill")
CONTROL_JOBS = ("backfill.change_backfilljob", "backfill.control_backfill")
VIEW_RATE_LIMIT = ("backfill.view_ratelimitconfig",)
EDIT_RATE_LIMIT = ("backfill.change_ratelimitconfig", "backfill.edit_rate_limit")
VIEW_AUDITS = ("backfill.view_snapshotaudit",)
VIEW_ANALYTICS = ("analytics.view_analyticsoutput",)
VIEW_SNAPSHOTS = ("snapshots.view_snapshot",)


def guarded(admin_site, check: Callable, view: Callable) -> Callable:
    """`admin_site.admin_view(view)` (staff login) that also answers 403 unless
    `check(request)`: a ModelAdmin's own permission hook."""

    @wraps(view)
    def inner(request, *args, **kwargs):
        if not check(request):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return admin_site.admin_view(inner)


class ReadOnlyAdmin(admin.ModelAdmin):
    """The admin of an index whose files are the data (snapshots, analytics documents): nobody
    adds, changes or deletes a row here; its own pages are `guarded_view`s that need the model's
    view permission."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def guarded_view(self, view: Callable) -> Callable:
        return guarded(self.admin_site, self.has_view_permission, view)


class HasPermissions(BasePermission):
    """The permissions the view lists for the request's method (HEAD as GET; OPTIONS with any
    method's)."""

    def has_permission(self, request, view) -> bool:
        required: dict[str, tuple[str, ...]] = getattr(view, "required_permissions", {})
        if not hasattr(view, request.method.lower()):
            return True  # a method the view does not serve: DRF answers 405
        if request.method == "OPTIONS":
            return any(request.user.has_perms(perms) for perms in required.values())
        method = "GET" if request.method == "HEAD" else request.method
        return method in required and request.user.has_perms(required[method])
