"""Beat's daily publish: the district-statistics site's tree brought up to date with every
stored snapshot, whatever follow-ups did or missed (a publish writes only what changed)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from ..models import BackfillJob, CreatedVia, JobType
from .jobs import create_job
from .planning.request import BackfillRequest

log = logging.getLogger(__name__)


def publish_daily() -> BackfillJob | None:
    """Queue today's publish job of every stored date to PUBLISH_DESTINATION, once a day
    whoever calls it how often (its `schedule_key`). None, logged, when no destination is set
    or nothing is stored."""
    destination = settings.PUBLISH_DESTINATION
    if not destination:
        log.info("daily publish skipped: no PUBLISH_DESTINATION is set")
        return None
    key = f"publish:{timezone.localdate()}"
    existing = BackfillJob.objects.filter(schedule_key=key).first()
    if existing is not None:
        log.info("daily publish: %s is already job %s", key, existing.pk)
        return existing
    request = BackfillRequest(
        start_date=None, end_date=None, job_type=JobType.PUBLISH, destination=destination
    )
    try:
        return create_job(request=request, created_via=CreatedVia.BEAT, schedule_key=key)
    except ValidationError as exc:
        log.warning("daily publish not queued: %s", exc.messages)
        return None
    except IntegrityError:
        # Another caller created it at the same moment.
        return BackfillJob.objects.filter(schedule_key=key).first()
