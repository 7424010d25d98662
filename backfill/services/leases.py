"""A unit's lease: how long it lasts, how long a dispatched unit may wait to be claimed, and the
token each dispatch draws (`units` for how a worker takes, renews and ends a lease)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import F


def _lease_seconds() -> float:
    return float(settings.BACKFILL_UNIT_LEASE_SECONDS)


def lease_until(now, extra: float = 0.0):
    """When a lease taken or renewed at `now` runs out."""
    return now + timedelta(seconds=_lease_seconds() + extra)


def claim_deadline(now, extra: float = 0.0):
    """How long a dispatched unit waits to be claimed before its message is presumed lost (a
    third of the lease): a message reserved by a worker killed before it started the unit is
    never redelivered in time, and re-sending one that was merely queued costs only a message
    the claim then ignores."""
    return now + timedelta(seconds=_lease_seconds() / 3 + extra)


def new_token() -> str:
    """A fresh lease token: each dispatch of a unit draws one."""
    return uuid.uuid4().hex


def taken_by(owner: str, pid: int, now) -> dict:
    """The fields a claim sets on a unit it takes: its worker and process, the lease's end, and
    one more attempt."""
    return {
        "lease_owner": owner,
        "lease_pid": pid,
        "lease_expires_at": lease_until(now),
        "attempts": F("attempts") + 1,
    }
