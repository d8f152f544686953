"""Encryption at rest (bloom.crypto, docs/adr/0330): every health column holds ciphertext in SQL
and the typed value through the ORM; SQL that would silently match nothing is refused."""

import datetime
import importlib
import json
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django import forms
from django.conf import settings
from django.core.exceptions import FieldError, ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import RiskAlert, ScreeningResponse, User, UserProfile, WellnessEntry
from appointments.models import CalendlyWebhookEvent
from appointments.webhooks import PROVIDER as CALENDLY
from bloom import crypto
from tests.factories.accounts import RiskAlertFactory, ScreeningResponseFactory, UserFactory, WellnessEntryFactory
from tests.factories.workshops import WorkshopFeedbackFactory
from workshops.models import WorkshopFeedback

pytestmark = pytest.mark.django_db


def raw(table: str, column: str, pk) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}::text FROM {table} WHERE id = %s", [pk])  # noqa: S608 - test constants
        return cursor.fetchone()[0]


def assert_ciphertext(table: str, column: str, pk, plain: str) -> None:
    stored = raw(table, column, pk)
    assert stored is not None
    assert stored != plain
    if len(plain) > 3:  # a one-digit score may occur in any token by chance
        assert plain not in stored
    assert stored.startswith(crypto.TOKEN_PREFIX)
    key = Fernet(settings.BLOOM_FIELD_ENCRYPTION_KEYS[0].encode())
    assert key.decrypt(stored.encode()).decode() == plain


def test_profile_stage_and_dates_are_ciphertext_in_sql_and_typed_in_python():
    member = UserFactory()
    profile = member.profile
    profile.stage = "pregnant"
    profile.due_date = datetime.date(2027, 3, 14)
    profile.baby_birth_date = datetime.date(2025, 1, 2)
    profile.save()

    assert_ciphertext("user_profiles", "stage", profile.pk, "pregnant")
    assert_ciphertext("user_profiles", "due_date", profile.pk, "2027-03-14")
    assert_ciphertext("user_profiles", "baby_birth_date", profile.pk, "2025-01-02")
    again = UserProfile.objects.get(pk=profile.pk)
    assert again.stage == "pregnant"
    assert again.get_stage_display() == "Pregnant"
    assert again.due_date == datetime.date(2027, 3, 14)
    assert again.baby_birth_date == datetime.date(2025, 1, 2)


def test_wellness_scores_and_notes_are_ciphertext_in_sql():
    entry = WellnessEntryFactory(mood=2, anxiety=4, energy=1, support=5, sleep_hours=Decimal("6.5"), notes="Cried")
    for column, plain in [
        ("mood", "2"),
        ("anxiety", "4"),
        ("energy", "1"),
        ("support", "5"),
        ("sleep_hours", "6.5"),
        ("notes", "Cried"),
    ]:
        assert_ciphertext("wellness_entries", column, entry.pk, plain)
    again = WellnessEntry.objects.get(pk=entry.pk)
    assert (again.mood, again.anxiety, again.energy, again.support) == (2, 4, 1, 5)
    assert again.sleep_hours == Decimal("6.5")


def test_empty_scores_stay_null_so_isnull_still_works():
    entry = WellnessEntryFactory(anxiety=None, sleep_hours=None)
    assert raw("wellness_entries", "anxiety", entry.pk) is None
    assert WellnessEntry.objects.filter(pk=entry.pk, anxiety__isnull=True, mood__isnull=False).exists()


def test_workshop_feedback_comments_are_ciphertext_and_rating_stays_plain():
    feedback = WorkshopFeedbackFactory(rating=4, comments="It helped me with my panic attacks.")
    assert_ciphertext("workshop_feedback", "comments", feedback.pk, "It helped me with my panic attacks.")
    assert raw("workshop_feedback", "rating", feedback.pk) == "4"
    assert WorkshopFeedback.objects.get(pk=feedback.pk).comments == "It helped me with my panic attacks."


def test_calendly_intake_answers_leave_the_payload_for_an_encrypted_column(django_capture_on_commit_callbacks):
    answers = [{"question": "What brings you to Bloom?", "answer": "Intrusive thoughts since the birth"}]
    payload = {
        "event": "invitee.created",
        "created_at": "2026-01-05T10:00:00.000000Z",
        "payload": {"uri": "https://api.calendly.com/invitees/i-1", "questions_and_answers": answers},
    }
    with django_capture_on_commit_callbacks():
        event_id = CALENDLY.store_payload(payload)
        assert CALENDLY.store_payload(payload) is None  # idempotent: the same delivery stores nothing

    event_data = raw("calendly_webhook_events", "event_data", event_id)
    assert "Intrusive thoughts" not in event_data
    assert "questions_and_answers" not in json.loads(event_data)["payload"]
    assert_ciphertext("calendly_webhook_events", "intake_answers", event_id, json.dumps(answers, sort_keys=True))
    event = CalendlyWebhookEvent.objects.get(pk=event_id)
    assert event.intake_answers == answers
    assert event.event_data["payload"]["uri"] == "https://api.calendly.com/invitees/i-1"


def test_a_payload_without_intake_answers_stores_no_intake(django_capture_on_commit_callbacks):
    payload = {"event": "invitee.canceled", "created_at": "2026-01-05T10:00:00Z", "payload": {"uri": "u-2"}}
    with django_capture_on_commit_callbacks():
        event_id = CALENDLY.store_payload(payload)
    assert raw("calendly_webhook_events", "intake_answers", event_id) is None


@pytest.mark.parametrize(
    "query",
    [
        lambda: UserProfile.objects.filter(stage="pregnant"),
        lambda: UserProfile.objects.filter(due_date__lte=datetime.date(2027, 1, 1)),
        lambda: WellnessEntry.objects.filter(mood__gte=3),
        lambda: WorkshopFeedback.objects.filter(comments__icontains="panic"),
    ],
    ids=["stage", "due_date", "mood", "comments"],
)
def test_sql_on_an_encrypted_column_is_refused_loudly(query):
    with pytest.raises(FieldError, match="is encrypted"):
        list(query())


def test_empty_text_is_still_comparable():
    WellnessEntryFactory(notes="")
    assert WellnessEntry.objects.filter(notes="").count() == 1
    assert WellnessEntry.objects.filter(notes=None).count() == 0
    with pytest.raises(FieldError, match="WellnessEntry.notes is encrypted"):
        WellnessEntry.objects.filter(notes="Cried")


def test_out_of_range_scores_and_unknown_stages_are_refused_before_they_are_encrypted():
    with pytest.raises(ValidationError), transaction.atomic():
        WellnessEntryFactory(mood=0)
    with pytest.raises(ValidationError), transaction.atomic():
        ScreeningResponseFactory(total=31)
    profile = UserFactory().profile
    profile.stage = "trimester-2"
    with pytest.raises(ValidationError), transaction.atomic():
        profile.save()


def test_migration_helper_converts_plain_rows_and_back():
    entry = WellnessEntryFactory(notes="kept", mood=4)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wellness_entries SET mood = '4' WHERE id = %s", [entry.pk])  # plain, as before 0040
    crypto.columns_encrypt(table="wellness_entries", columns=["mood"], plain_only=True)
    assert_ciphertext("wellness_entries", "mood", entry.pk, "4")
    token = raw("wellness_entries", "mood", entry.pk)
    crypto.columns_encrypt(table="wellness_entries", columns=["mood"], plain_only=True)  # tokens left alone
    assert raw("wellness_entries", "mood", entry.pk) == token
    crypto.columns_encrypt(table="wellness_entries", columns=["mood"], reverse=True)
    assert raw("wellness_entries", "mood", entry.pk) == "4"


def test_the_calendly_migration_moves_stored_intake_answers_out_and_back():
    migration = importlib.import_module("appointments.migrations.0040_calendly_intake_answers_encrypted")
    answers = [{"question": "How have you been sleeping?", "answer": "Two hours a night"}]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO calendly_webhook_events (id, event_uuid, event_type, event_data, processed, attempts,"
            " outcome, created_at) VALUES (gen_random_uuid(), 'old-1', 'invitee.created', %s::jsonb, true, 1,"
            " 'booked', now()) RETURNING id",
            [json.dumps({"event": "invitee.created", "payload": {"uri": "u", "questions_and_answers": answers}})],
        )
        pk = cursor.fetchone()[0]
    editor = SimpleNamespace(connection=connection)

    migration.intake_answers_extract(None, editor)
    assert "Two hours" not in raw("calendly_webhook_events", "event_data", pk)
    assert CalendlyWebhookEvent.objects.get(pk=pk).intake_answers == answers

    migration.intake_answers_restore(None, editor)
    assert json.loads(raw("calendly_webhook_events", "event_data", pk))["payload"]["questions_and_answers"] == answers


def test_seed_scale_profiles_are_encrypted_like_any_other():
    out = StringIO()
    call_command("seed_scale", "--factor", "0.01", "--only", "members,profiles", stdout=out)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE stage LIKE 'gAAAAA%%'), count(due_date),"
            " count(*) FILTER (WHERE due_date LIKE 'gAAAAA%%') FROM user_profiles WHERE stage <> ''"
        )
        rows, stage_tokens, due_dates, due_tokens = cursor.fetchone()
    assert rows > 0 and stage_tokens == rows
    assert due_tokens == due_dates
    stages = {profile.stage for profile in UserProfile.objects.exclude(stage="")}
    assert stages <= {"pregnant", "postpartum", "loss", "other"}
    pregnant = [p for p in UserProfile.objects.exclude(stage="") if p.stage == "pregnant"]
    assert all(isinstance(p.due_date, datetime.date) for p in pregnant)


def test_the_admin_edits_an_encrypted_date_as_a_date(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    member = UserFactory()
    client = Client()
    client.force_login(User.objects.create_superuser("owner@example.com", "pw-not-used-123"))
    page = client.get(reverse("admin:accounts_userprofile_change", args=[member.profile.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert isinstance(form.fields["due_date"], forms.DateField)
    assert not isinstance(form.fields["due_date"].widget, forms.Textarea)
    assert isinstance(form.fields["stage"], forms.TypedChoiceField)


def test_screening_scores_and_risk_alert_texts_are_ciphertext_in_sql():
    response = ScreeningResponseFactory(total=21, band="severe", perinatal_stage="loss", perinatal_week=3)
    for column, plain in [("total", "21"), ("band", "severe"), ("perinatal_stage", "loss"), ("perinatal_week", "3")]:
        assert_ciphertext("screening_responses", column, response.pk, plain)
    again = ScreeningResponse.objects.get(pk=response.pk)
    assert (again.total, again.band, again.perinatal_stage, again.perinatal_week) == (21, "severe", "loss", 3)
    assert raw("screening_responses", "urgent", response.pk) in ("false", "true")  # routing flag stays plain

    alert = RiskAlertFactory(reason="Words in a wellness note matched (self-harm).", acknowledgement_note="Called her.")
    assert_ciphertext("risk_alerts", "reason", alert.pk, "Words in a wellness note matched (self-harm).")
    assert_ciphertext("risk_alerts", "acknowledgement_note", alert.pk, "Called her.")
    assert RiskAlert.objects.get(pk=alert.pk).reason.endswith("(self-harm).")
