"""Creating a job once per idempotency key: a client's retry, a double submit or two identical
requests racing each other get the first job instead of a second one.

The key (an API client's `Idempotency-Key` header, the one-time token of the admin's Start
button) is scoped to its user and kept `KEY_LIFETIME`. Its row is inserted in the transaction
that creates the job: a concurrent request with the same key waits on the database's unique
constraint until the first commits (then it finds that job) or rolls back (then it creates the
job itself). The database decides, not a read-then-write in Python.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..errors import IdempotencyConflict
from ..models import BackfillJob, CreatedVia, IdempotencyKey
from .jobs import create_job
from .planning.request import BackfillRequest

log = logging.getLogger(__name__)

KEY_LIFETIME = timedelta(hours=24)
KEY_MAX_LENGTH = 255
# Visible ASCII: what an HTTP header carries unambiguously (UUIDs, ULIDs, client ids).
KEY_PATTERN = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class KeyedJob:
    job: BackfillJob
    created: bool  # False: the key's first request had created it (a replay)


def check_key(key: str) -> str:
    """The key as given, or ValidationError (field `Idempotency-Key`) when it is empty, longer
    than KEY_MAX_LENGTH or not visible ASCII."""
    if len(key) > KEY_MAX_LENGTH or not KEY_PATTERN.fullmatch(key):
        raise ValidationError(
            {
                "Idempotency-Key": [
                    f"1 to {KEY_MAX_LENGTH} visible ASCII characters (a UUID, for example)."
                ]
            }
        )
    return key


def fingerprint(*, entry_point: str, body: Any) -> str:
    """sha256 of where the request came in and its body (JSON, keys sorted): the same key is
    the same request only with the same body on the same entry point."""
    canonical = json.dumps(
        {"entryPoint": entry_point, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_job_once(
    *,
    key: str,
    user,
    entry_point: str,
    body: Any,
    request: BackfillRequest,
    created_via: str = CreatedVia.API,
) -> KeyedJob:
    """Create the job of `request` for `user` unless `key` already created one in the last
    KEY_LIFETIME; then return that job (`created` False). `entry_point` and `body` (the request
    as received) identify the request the key stands for.

    Raises IdempotencyConflict when the key was used with another body or entry point, and
    what `create_job` raises (the key is then not kept: a corrected request may reuse it)."""
    check_key(key)
    digest = fingerprint(entry_point=entry_point, body=body)
    now = timezone.now()
    with transaction.atomic():
        IdempotencyKey.objects.filter(
            user=user, key=key, created_at__lt=now - KEY_LIFETIME
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user, key=key, fingerprint=digest, created_at=now
                )
        except IntegrityError:
            # Taken, by a request that has committed by now (the insert waited for it).
            first = IdempotencyKey.objects.select_related("job").get(user=user, key=key)
            if first.fingerprint != digest:
                raise IdempotencyConflict(key=key, job_id=first.job_id) from None
            log.info("idempotency key %r of %s: job %s again", key, user, first.job_id)
            return KeyedJob(first.job, created=False)
        job = create_job(request=request, created_via=created_via, created_by=user)
        record.job = job
        record.save(update_fields=["job"])
    return KeyedJob(job, created=True)


def forget_expired_keys(*, now=None) -> int:
    """Delete keys older than KEY_LIFETIME; returns how many (housekeeping)."""
    now = now or timezone.now()
    return IdempotencyKey.objects.filter(created_at__lt=now - KEY_LIFETIME).delete()[0]
