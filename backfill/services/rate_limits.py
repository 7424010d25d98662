"""Changing the one rate-limit configuration (the admin and the API both come here)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from django.db import transaction

from ..limits import LimitSettings, clear_settings_cache
from ..models import RateLimitConfig

log = logging.getLogger(__name__)


def update_rate_limit_config(*, limits: LimitSettings) -> RateLimitConfig:
    """Save `limits` (validated already, see `backfill.contracts`) as the configuration.

    Every worker re-reads it within `limits.config.SETTINGS_CACHE_SECONDS`; this process at once.
    """
    with transaction.atomic():
        config = RateLimitConfig.load()
        for name, value in asdict(limits).items():
            setattr(config, name, value)
        config.save()
    clear_settings_cache()
    log.info("rate-limit configuration changed: %s", asdict(limits))
    return config
