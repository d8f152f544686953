"""Subscriber and campaign lists as CSV (docs/adr/0370): export, and an import that keeps consent.

An import is planned first (`subscriber_import_plan`: nothing written, every row told what
will happen or what is wrong) and applied after staff confirm (`subscriber_import_apply`).
Only a row that says "confirmed" *and* names where the proof of consent is kept *and* when
it was given is created confirmed; every other new address is created pending and sent the
newsletter's own double opt-in email (`subscriber_subscribe`), so it reaches no campaign
until its owner clicks. Addresses that unsubscribed, bounced or complained are never
emailed because of an import.
"""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from bloom.spreadsheet import csv_text
from bloom.text import normalize_email
from notifications.models import EmailCampaignMetric

from ..models import Subscriber, SubscriberStatus
from .newsletter import subscriber_subscribe, subscriber_unsubscribe

SUBSCRIBER_COLUMNS = ["email", "first_name", "status", "consent_source", "consent_date", "consent_proof"]
CAMPAIGN_COLUMNS = ["name", "status", "sent_at", "recipients", "opens", "clicks", "unsubscribes", "bounces"]
IMPORT_MAX_ROWS = 5000
IMPORT_SOURCE = "import"

# What an import row will do.
CONFIRM = "confirm"  # created or updated as confirmed: consent carried with its proof
OPT_IN = "opt_in"  # pending; the double opt-in email goes out
RECORD_OPT_OUT = "opt_out"  # recorded as unsubscribed / bounced / complained; no email
LEAVE = "leave"  # already known; nothing changes
ERROR = "error"

ACTION_WORDS = {
    CONFIRM: "Added as confirmed (proof of consent given)",
    OPT_IN: "Sent the confirmation email; not on any campaign until they confirm",
    RECORD_OPT_OUT: "Recorded as not wanting the newsletter; no email",
    LEAVE: "Left as it is",
    ERROR: "Not imported",
}

_OPTED_OUT = (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)


def subscriber_csv_export(*, subscribers) -> str:
    """CSV of `subscribers` in the import's columns (consent source, date and proof carried)."""
    rows = (
        (
            s.email,
            s.first_name,
            s.status,
            s.source,
            s.confirmed_at.isoformat() if s.confirmed_at else "",
            s.consent_proof,
        )
        for s in subscribers.order_by("email").iterator(chunk_size=2000)
    )
    return csv_text(SUBSCRIBER_COLUMNS, rows)


def campaign_csv_export(*, campaigns) -> str:
    """CSV of `campaigns`: name, status, sent_at, recipients and their opens, clicks, unsubscribes, bounces."""
    campaigns = list(campaigns.order_by("-created_at"))
    metrics = {
        row["campaign_id"]: row
        for row in EmailCampaignMetric.objects.filter(campaign_id__in=[c.pk for c in campaigns])
        .values("campaign_id")
        .annotate(
            opens=Count("id", filter=Q(opened_at__isnull=False)),
            clicks=Count("id", filter=Q(clicked_at__isnull=False)),
            unsubscribes=Count("id", filter=Q(unsubscribed_at__isnull=False)),
            bounces=Count("id", filter=Q(bounced_at__isnull=False)),
        )
    }
    empty = {"opens": 0, "clicks": 0, "unsubscribes": 0, "bounces": 0}
    rows = []
    for campaign in campaigns:
        counts = metrics.get(campaign.pk, empty)
        rows.append((
            campaign.subject,
            campaign.status,
            campaign.sent_at.isoformat() if campaign.sent_at else "",
            campaign.recipients_count,
            counts["opens"],
            counts["clicks"],
            counts["unsubscribes"],
            counts["bounces"],
        ))  # fmt: skip
    return csv_text(CAMPAIGN_COLUMNS, rows)


@dataclass
class ImportRow:
    line: int
    email: str
    first_name: str = ""
    status: str = ""
    source: str = ""
    consent_at: datetime.datetime | None = None
    proof: str = ""
    action: str = ERROR
    note: str = ""

    @property
    def action_words(self) -> str:
        return ACTION_WORDS[self.action]


@dataclass
class ImportPlan:
    rows: list[ImportRow] = field(default_factory=list)
    problem: str = ""  # a reason the whole file cannot be imported

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {action: self.count(action) for action in ACTION_WORDS}

    @property
    def importable(self) -> bool:
        return not self.problem and any(row.action != ERROR for row in self.rows)


def _consent_time(value: str) -> datetime.datetime | None:
    """An ISO date or date-time; a bare date (or naive time) is read in the practice's zone."""
    value = value.strip()
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = datetime.datetime.combine(day, datetime.time())
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(settings.BLOOM_PRACTICE_TIME_ZONE))
    return moment


def _read_row(line: int, raw: dict, seen: set[str], now: datetime.datetime) -> ImportRow:
    get = lambda name: (raw.get(name) or "").strip()  # noqa: E731
    row = ImportRow(line=line, email=normalize_email(get("email")), first_name=get("first_name")[:150])
    row.status = get("status").lower()
    row.source = get("consent_source")[:64] or IMPORT_SOURCE
    row.proof = get("consent_proof")
    try:
        validate_email(row.email)
    except ValidationError:
        row.note = f"“{get('email')}” is not an email address."
        return row
    if row.email in seen:
        row.note = "This address is already on an earlier row of the file."
        return row
    seen.add(row.email)
    if row.status and row.status not in SubscriberStatus.values:
        row.note = f"Status “{get('status')}” is not one of: {', '.join(SubscriberStatus.values)}."
        return row
    try:
        row.consent_at = _consent_time(get("consent_date"))
    except ValueError:
        row.note = f"Consent date “{get('consent_date')}” is not a date like 2026-03-31."
        return row
    if row.consent_at and row.consent_at > now:
        row.note = "The consent date is in the future."
        return row
    if row.status in _OPTED_OUT:
        row.action = RECORD_OPT_OUT
    elif row.status == SubscriberStatus.CONFIRMED and row.proof and row.consent_at:
        row.action = CONFIRM
    else:
        row.action = OPT_IN
        if row.status == SubscriberStatus.CONFIRMED:
            row.note = "Marked confirmed, but without both a consent date and where the proof is kept."
    return row


def _against_existing(row: ImportRow, existing: Subscriber | None) -> None:
    """Adjust a planned row for an address Bloom already has."""
    if existing is None or row.action == ERROR:
        return
    if existing.status == SubscriberStatus.CONFIRMED and row.action != RECORD_OPT_OUT:
        row.action, row.note = LEAVE, "Already confirmed."
    elif existing.status in _OPTED_OUT and row.action != RECORD_OPT_OUT:
        row.action = LEAVE
        row.note = f"{existing.get_status_display()} earlier: never emailed again by an import."
    elif existing.status == row.status and row.action == RECORD_OPT_OUT:
        row.action, row.note = LEAVE, "Already recorded."


def subscriber_import_plan(*, text: str) -> ImportPlan:
    """Read a CSV (header row with at least `email`) and say what importing each row would do.

    Writes nothing. Rows with an unreadable address, status or date, and repeated addresses,
    are errors; the rest are planned against the subscribers Bloom already has.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if "email" not in header:
        return ImportPlan(problem="The file needs a header row with an “email” column (see the export for the format).")
    reader.fieldnames = header
    now = timezone.now()
    seen: set[str] = set()
    plan = ImportPlan()
    for line, raw in enumerate(reader, start=2):
        if len(plan.rows) >= IMPORT_MAX_ROWS:
            plan.problem = f"The file has more than {IMPORT_MAX_ROWS} rows; please split it."
            return plan
        if not any((value or "").strip() for value in raw.values() if isinstance(value, str)):
            continue
        plan.rows.append(_read_row(line, raw, seen, now))
    emails = [row.email for row in plan.rows if row.action != ERROR]
    known = {s.email.lower(): s for s in Subscriber.objects.filter(email__in=emails)}
    for row in plan.rows:
        _against_existing(row, known.get(row.email))
    if not plan.rows:
        plan.problem = "The file has no rows under its header."
    return plan


@transaction.atomic
def subscriber_import_apply(*, text: str) -> ImportPlan:
    """Plan the CSV again against the current subscribers and carry it out, in one transaction.

    Guarantees: confirmed rows with proof are created (or a pending address updated) as
    confirmed with the given date, source and proof; other new or pending addresses go
    through `subscriber_subscribe` (pending, double opt-in email, its resend limit kept);
    opt-out rows are recorded without any email; known confirmed or opted-out addresses
    are left alone. Returns the plan that was carried out.
    """
    plan = subscriber_import_plan(text=text)
    if plan.problem:
        return plan
    for row in plan.rows:
        if row.action == CONFIRM:
            subscriber, _ = Subscriber.objects.select_for_update().get_or_create(email=row.email)
            subscriber.first_name = subscriber.first_name or row.first_name
            subscriber.status = SubscriberStatus.CONFIRMED
            subscriber.confirmed_at = row.consent_at
            subscriber.source = row.source
            subscriber.consent_proof = row.proof
            subscriber.save()
        elif row.action == OPT_IN:
            subscriber_subscribe(email=row.email, first_name=row.first_name, source=row.source)
        elif row.action == RECORD_OPT_OUT:
            Subscriber.objects.get_or_create(
                email=row.email, defaults={"first_name": row.first_name, "source": row.source}
            )
            subscriber_unsubscribe(email=row.email, reason=f"import: {row.status}")
    return plan
