"""What the rules find in the database and the store (no channels needed)."""

from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from alerts.conditions import find
from alerts.evaluation import evaluate
from alerts.models import AlertState, RuleKind
from backfill.models import AuditOutcome, JobStatus, SnapshotAudit
from districts.dashboard import closing
from districts.models import ClosingSource, MonthEndClosing
from tests.factories import BackfillJobFactory
from tests.fixtures.alerts import only_rule


def audit(outcome: str, checked_at: datetime) -> SnapshotAudit:
    return SnapshotAudit.objects.create(
        logical_date=date(2026, 3, 1),
        district_id="42",
        detail="full",
        outcome=outcome,
        recorded_sha256="a" * 64,
        checked_at=checked_at,
    )


def test_drift_is_reported_for_the_rules_window(db):
    rule = only_rule(RuleKind.AUDIT_DRIFT, threshold=24)
    now = timezone.now()
    audit(AuditOutcome.MATCH, now)
    assert find(rule, now) == {}
    audit(AuditOutcome.DRIFT, now)
    [finding] = find(rule, now).values()
    assert finding.subject == "An audit found drift in 1 stored file(s)"
    assert "2026-03-01 district 42" in finding.detail
    assert find(rule, now + timedelta(hours=25)) == {}


def test_a_month_whose_closing_stays_unknown_past_the_threshold_is_reported(db):
    rule = only_rule(RuleKind.CLOSING_UNDISCOVERED, threshold=31)
    now = datetime(2031, 1, 15, 12, tzinfo=UTC)  # Nov. ended 46 days ago, Dec. 15
    assert list(find(rule, now)) == ["closing:2030-11"]
    MonthEndClosing.objects.create(
        data_month=date(2030, 11, 1),
        closing_date=date(2030, 12, 5),
        source=ClosingSource.OPERATOR,
    )
    closing.clear_cache()
    assert find(rule, now) == {}


def test_event_states_are_forgotten_a_week_after_their_job_is_gone(db, private_prefix, settings):
    settings.ADMINS = []
    rule = only_rule(RuleKind.JOB_FAILED, send_webhooks=False)
    job = BackfillJobFactory(status=JobStatus.FAILED, finished_at=rule.created_at)
    evaluate()
    evaluate(now=timezone.now() + timedelta(days=8))  # the job is still there: still seen
    assert AlertState.objects.count() == 1
    job.delete()
    evaluate(now=timezone.now() + timedelta(days=16))
    assert AlertState.objects.count() == 0
