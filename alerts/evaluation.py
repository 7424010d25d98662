"""Rules in, alerts out: each evaluation finds every enabled rule's conditions
(`conditions.find`), moves each condition's `AlertState` along pending -> firing -> resolved, and
sends one delivery per channel for each firing and each resolution.

One alert per condition until it clears: a condition fires once (after the rule's hold time);
it resolves only after staying clear for the rule's quiet period, so a breaker that flaps
fifty times sends one alert and one resolution. Event kinds (a failed job) fire once and never
resolve. Evaluations are serialized by a row lock on the rules, so beat's evaluator and an
operator's run never send the same alert twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import channels
from .conditions import DEFAULT_THRESHOLDS, Findings, find
from .models import EVENT_KINDS, AlertRule, AlertState, Delivery, StateStatus

log = logging.getLogger(__name__)

FORGET_AFTER = timedelta(days=7)


def ensure_default_rules() -> None:
    """Create the rules an installation starts with, if missing (disable one rather than
    delete it: a deleted rule comes back)."""
    for kind, threshold in DEFAULT_THRESHOLDS.items():
        AlertRule.objects.get_or_create(kind=kind, defaults={"threshold": threshold})


def evaluate(now: datetime | None = None) -> list[Delivery]:
    """One evaluation of every enabled rule; returns the deliveries it sent (tried once)."""
    now = now or timezone.now()
    ensure_default_rules()
    with transaction.atomic():
        rules = list(AlertRule.objects.select_for_update().filter(enabled=True))
        deliveries = []
        for rule in rules:
            try:
                findings = find(rule, now)
            except (redis.RedisError, OSError) as exc:
                # Unknown is not clear: the rule's states stay as they are until it reads again.
                log.warning("alert rule %s not evaluated: %s", rule.kind, exc)
                continue
            for state, event in apply(rule, findings, now):
                deliveries += channels.queue(state, event)
    prune(now)
    return [channels.attempt(delivery) for delivery in deliveries]


def prune(now: datetime) -> None:
    """Forget what is over: conditions resolved and events (a failed job) not seen for
    FORGET_AFTER (an event is seen at every evaluation while its job exists, so it never fires
    twice), and deliveries older than BACKFILL_JOB_RETENTION_DAYS."""
    cutoff = now - FORGET_AFTER
    AlertState.objects.filter(last_seen_at__lt=cutoff).filter(
        Q(status=StateStatus.RESOLVED) | Q(rule__kind__in=EVENT_KINDS)
    ).delete()
    retention = timedelta(days=settings.BACKFILL_JOB_RETENTION_DAYS)
    Delivery.objects.filter(created_at__lt=now - retention).delete()


def apply(rule: AlertRule, findings: Findings, now: datetime) -> list[tuple[AlertState, str]]:
    """Move `rule`'s states by what was found now; returns (state, event) to announce."""
    states = {state.key: state for state in rule.states.all()}
    events = []
    for key, finding in findings.items():
        state = states.get(key) or AlertState(rule=rule, key=key, status=StateStatus.RESOLVED)
        if state.status == StateStatus.RESOLVED:  # new, or back after it resolved
            state.status, state.pending_since = StateStatus.PENDING, now
            state.fired_at = state.resolved_at = None
        state.subject, state.detail = finding.subject[:255], finding.detail
        state.last_seen_at, state.clear_since = now, None
        fires = state.status == StateStatus.PENDING and (
            now - state.pending_since >= timedelta(seconds=rule.hold_seconds)
        )
        if fires:
            state.status, state.fired_at = StateStatus.FIRING, now
        state.save()
        if fires:
            events.append((state, StateStatus.FIRING.value))
    if rule.kind in EVENT_KINDS:
        return events
    for key, state in states.items():
        if key not in findings:
            events += _clear(rule, state, now)
    return events


def _clear(rule: AlertRule, state: AlertState, now: datetime) -> list[tuple[AlertState, str]]:
    """`state`'s condition was not found now: a pending one is forgotten, a firing one
    resolves once clear for the rule's quiet period."""
    if state.status == StateStatus.PENDING:
        state.delete()
        return []
    if state.status != StateStatus.FIRING:
        return []
    state.clear_since = state.clear_since or now
    resolves = now - state.clear_since >= timedelta(seconds=rule.quiet_seconds)
    if resolves:
        state.status, state.resolved_at = StateStatus.RESOLVED, now
    state.save()
    return [(state, StateStatus.RESOLVED.value)] if resolves else []
