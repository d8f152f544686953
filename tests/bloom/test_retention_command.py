"""`manage.py apply_retention`: a dry run per policy, --only, and a progress bar per policy."""

import pytest
from django.core.management import CommandError

from accounts.models import SecurityEvent
from bloom import retention
from bloom.management.commands.apply_retention import progress_bar
from content.models import AnalyticsEvent, ContactStatus, ContactSubmission
from tests.bloom.retention_support import aged, run_retention
from tests.factories.accounts import SecurityEventFactory
from tests.factories.content import AnalyticsEventFactory, ContactSubmissionFactory

pytestmark = pytest.mark.django_db


def test_the_dry_run_says_what_each_policy_would_do_and_changes_nothing():
    for _ in range(3):
        aged(SecurityEventFactory(), 400)
    aged(ContactSubmissionFactory(status=ContactStatus.CLOSED), 400, "closed_at")

    out = run_retention("--dry-run")

    assert "accounts: security_events older than the limit (over 365 days): 3 due, would delete" in out
    assert "content: contact_submissions closed before the limit (over 365 days): 1 due, would delete" in out
    assert "content: chat_conversations closed before the limit (over 365 days): 0 due, nothing to do" in out
    assert "[" not in out  # no progress bars: nothing ran
    assert SecurityEvent.objects.count() == 3 and ContactSubmission.objects.count() == 1


def test_only_runs_the_named_policy():
    event = aged(SecurityEventFactory(), 400)
    analytics = aged(AnalyticsEventFactory(), 800)

    out = run_retention("--only", "analytics_events")

    assert SecurityEvent.objects.filter(pk=event.pk).exists()
    assert not AnalyticsEvent.objects.filter(pk=analytics.pk).exists()
    assert "1 policies, 1 rows changed." in out
    assert "security_events" not in out
    # A full policy name works too.
    run_retention("--only", "security_events older than the limit")
    assert not SecurityEvent.objects.filter(pk=event.pk).exists()


def test_an_unknown_name_is_refused_with_the_known_keys():
    with pytest.raises(CommandError, match=r"No retention policy is called 'cvs'\. Known keys: .*career_applications"):
        run_retention("--only", "cvs")


def test_each_policy_shows_a_progress_bar_batch_by_batch(monkeypatch):
    monkeypatch.setattr(retention, "BATCH_SIZE", 4)
    for _ in range(10):
        aged(SecurityEventFactory(), 400)

    out = run_retention("--only", "security_events")

    bars = [line.strip() for line in out.splitlines() if "security_events older" in line and "] " in line]
    assert bars == [
        "accounts: security_events older than the limit [########............] 4/10",
        "accounts: security_events older than the limit [################....] 8/10",
        "accounts: security_events older than the limit [####################] 10/10",
    ]
    assert not SecurityEvent.objects.exists()


def test_the_bar_is_full_when_nothing_was_due_and_never_overflows():
    assert progress_bar(0, 0) == "[" + "#" * 20 + "]"
    assert progress_bar(1, 3) == "[" + "#" * 6 + "." * 14 + "]"
    assert progress_bar(7, 5) == "[" + "#" * 20 + "]"


def test_a_policy_whose_apply_changes_nothing_stops_instead_of_looping(monkeypatch):
    monkeypatch.setattr(retention, "BATCH_SIZE", 1)
    stuck = retention.RetentionPolicy(
        name="stuck",
        setting="security_events",
        find=lambda cutoff: SecurityEvent.objects.all(),
        apply=lambda qs: 0,
        action="nothing",
    )
    monkeypatch.setattr(retention, "retention_policies", lambda only=None: [("test", stuck)])
    SecurityEventFactory()
    SecurityEventFactory()
    [result] = retention.retention_apply()
    assert (result.due, result.changed) == (2, 0)
