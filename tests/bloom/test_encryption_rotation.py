"""One rotation command for every encrypted column and file (bloom.crypto, docs/adr/0330):
1,000 rows per field with a progress bar, and a wrong or missing key fails loudly, changing nothing."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import RiskAlert, ScreeningResponse, User, UserProfile, WellnessEntry
from appointments.models import CalendlyWebhookEvent
from bloom import crypto
from content.models import CareerApplication
from tests.factories.content import JobPostingFactory
from tests.factories.workshops import WorkshopFactory
from workshops.models import WorkshopFeedback

pytestmark = pytest.mark.django_db

ROWS = 1000
BAR = "#" * 30

# Every field these tests fill, as the command labels it.
FIELDS = [
    "accounts.UserProfile.stage",
    "accounts.UserProfile.due_date",
    "accounts.UserProfile.baby_birth_date",
    "accounts.WellnessEntry.mood",
    "accounts.WellnessEntry.sleep_hours",
    "accounts.WellnessEntry.anxiety",
    "accounts.WellnessEntry.energy",
    "accounts.WellnessEntry.support",
    "accounts.WellnessEntry.notes",
    "accounts.ScreeningResponse.total",
    "accounts.ScreeningResponse.band",
    "accounts.ScreeningResponse.perinatal_stage",
    "accounts.ScreeningResponse.perinatal_week",
    "accounts.RiskAlert.reason",
    "workshops.WorkshopFeedback.comments",
    "appointments.CalendlyWebhookEvent.intake_answers",
    "content.CareerApplication.cv",
]
TABLE_COLUMNS = [
    ("user_profiles", "stage"),
    ("user_profiles", "due_date"),
    ("wellness_entries", "mood"),
    ("wellness_entries", "notes"),
    ("screening_responses", "total"),
    ("risk_alerts", "reason"),
    ("workshop_feedback", "comments"),
    ("calendly_webhook_events", "intake_answers"),
]


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def _raw_column(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND {column}::text <> '' ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def _fill(rows: int = ROWS) -> None:
    """`rows` rows of every field above, written under the current key (bulk, for speed)."""
    users = User.objects.bulk_create(User(email=f"rotation-{n}@example.com", password="!unusable") for n in range(rows))
    born = datetime.date(2025, 6, 1)
    UserProfile.objects.bulk_create(
        UserProfile(user=user, stage="postpartum", due_date=born, baby_birth_date=born + datetime.timedelta(days=n))
        for n, user in enumerate(users)
    )
    WellnessEntry.objects.bulk_create(
        WellnessEntry(
            user=users[0],
            entry_date=born + datetime.timedelta(days=n),
            mood=1 + n % 5,
            sleep_hours=Decimal("6.5"),
            anxiety=2,
            energy=3,
            support=4,
            notes=f"night {n}",
        )
        for n in range(rows)
    )
    ScreeningResponse.objects.bulk_create(
        ScreeningResponse(
            user=user,
            instrument="epds",
            answers="{}",
            total=n % 30,
            band="low",
            perinatal_stage="postpartum",
            perinatal_week=6,
        )
        for n, user in enumerate(users)
    )
    RiskAlert.objects.bulk_create(
        RiskAlert(user=user, source="wellness_note", reason=f"Words matched the risk phrases ({n})")
        for n, user in enumerate(users)
    )
    workshop = WorkshopFactory()
    WorkshopFeedback.objects.bulk_create(
        WorkshopFeedback(workshop=workshop, user=user, rating=5, comments=f"helped {n}") for n, user in enumerate(users)
    )
    CalendlyWebhookEvent.objects.bulk_create(
        CalendlyWebhookEvent(
            event_uuid=f"rotation-{n}",
            event_type="invitee.created",
            event_data={"payload": {}},
            intake_answers=[{"question": "Why now?", "answer": f"low mood {n}"}],
        )
        for n in range(rows)
    )
    posting = JobPostingFactory()
    storage = CareerApplication._meta.get_field("cv").storage
    CareerApplication.objects.bulk_create(
        CareerApplication(
            job_posting=posting,
            full_name=f"Applicant {n}",
            email=f"applicant-{n}@example.org",
            cv=storage.save(f"private/careers/cv/rotation-{n}.pdf", ContentFile(b"%PDF-1.4 cv " + str(n).encode())),
        )
        for n in range(rows)
    )


def test_rotation_over_a_thousand_rows_per_field_draws_a_bar_and_moves_everything_to_the_new_key(settings, media_root):
    old_key = settings.BLOOM_FIELD_ENCRYPTION_KEYS[0]
    _fill()
    before = {column: _raw_column(table, column) for table, column in TABLE_COLUMNS}
    new_key = Fernet.generate_key().decode()
    settings.BLOOM_FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    out = StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "250", stdout=out)
    text = out.getvalue()
    for label in FIELDS:
        assert f"\r{label} [{'#' * 7}{'.' * 23}] 250/{ROWS}" in text  # a quarter of the way
        assert f"\r{label} [{BAR}] {ROWS}/{ROWS}\n" in text
        assert f"{label}: re-encrypted {ROWS}\n" in text

    newest = Fernet(new_key.encode())
    for table, column in TABLE_COLUMNS:
        after = _raw_column(table, column)
        assert len(after) == ROWS
        assert not set(after) & set(before[column])
        for token in after[:5]:
            newest.decrypt(token.encode())
    storage = CareerApplication._meta.get_field("cv").storage
    newest.decrypt(storage.read_raw("private/careers/cv/rotation-7.pdf"))

    settings.BLOOM_FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can go: everything still reads
    assert sorted(WellnessEntry.objects.values_list("mood", flat=True))[:2] == [1, 1]
    assert UserProfile.objects.get(user__email="rotation-3@example.com").baby_birth_date == datetime.date(2025, 6, 4)
    assert CalendlyWebhookEvent.objects.get(event_uuid="rotation-9").intake_answers[0]["answer"] == "low mood 9"
    with CareerApplication.objects.get(email="applicant-7@example.org").cv.open("rb") as handle:
        assert handle.read() == b"%PDF-1.4 cv 7"

    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Rotated 0 value(s)" in out.getvalue()


def test_a_wrong_key_fails_loudly_naming_each_field_and_count_and_changes_nothing(settings, media_root):
    _fill(rows=3)
    before = {column: _raw_column(table, column) for table, column in TABLE_COLUMNS}
    settings.BLOOM_FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # not the key they were written with

    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("rotate_encryption_keys", stdout=out)
    message = str(failure.value)
    for label in FIELDS:
        assert f"{label}: 3 row(s)" in message
    assert "Nothing was re-encrypted" in message
    assert "re-encrypted 3" not in out.getvalue()
    assert {column: _raw_column(table, column) for table, column in TABLE_COLUMNS} == before


def test_one_unreadable_value_stops_the_whole_rotation_before_any_write(settings, media_root):
    old_key = settings.BLOOM_FIELD_ENCRYPTION_KEYS[0]
    _fill(rows=2)
    stray = Fernet(Fernet.generate_key()).encrypt(b"4").decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wellness_entries SET energy = %s WHERE id = (SELECT id FROM wellness_entries ORDER BY id LIMIT 1)",
            [stray],
        )
    before = _raw_column("user_profiles", "stage")
    settings.BLOOM_FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]

    with pytest.raises(crypto.KeyRotationError) as failure:
        crypto.encryption_keys_rotate()
    assert failure.value.unreadable == {"accounts.WellnessEntry.energy": 1}
    assert _raw_column("user_profiles", "stage") == before  # fields before the bad one untouched too


def test_a_missing_key_setting_fails_with_a_clear_error(settings):
    settings.BLOOM_FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="BLOOM_FIELD_ENCRYPTION_KEYS is empty"):
        call_command("rotate_encryption_keys", stdout=StringIO())


def test_a_malformed_key_fails_with_a_clear_error(settings):
    settings.BLOOM_FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(CommandError, match="not a Fernet key"):
        call_command("rotate_encryption_keys", stdout=StringIO())


def test_every_encrypted_field_is_found_through_the_app_registry():
    labels = {f"{model._meta.label}.{field.name}" for model, field in crypto.encrypted_fields()}
    labels |= {f"{model._meta.label}.{field.name}" for model, field in crypto.encrypted_file_fields()}
    assert set(FIELDS) <= labels
    assert {"appointments.SessionNote.body", "accounts.ScreeningResponse.answers"} <= labels
