"""Good Faith Estimates (No Surprises Act) for self-pay clients, and their PDF (ADR 0203).

Bloom has no insurance flag on a member, so every client is treated as self-pay and gets an
estimate when she accepts a therapist's booking policy: the session fee times the sessions
expected over the estimate's period, with the service code the session length calls for.
The PDF is drawn with reportlab, as the wellness summary and certificates are.
"""

from __future__ import annotations

import logging
import textwrap
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from accounts.models import User
from bloom.pdf import ACCENT, INK, MARGIN, pdf_document, pdf_finish

from .models import GoodFaithEstimate, TherapistProfile
from .selectors import therapist_session_fee

logger = logging.getLogger(__name__)

# CPT psychotherapy codes by the time spent with the client (the CPT "midpoint" rule).
SERVICE_CODES = (
    (53, "90837", "Psychotherapy, 60 minutes"),
    (38, "90834", "Psychotherapy, 45 minutes"),
    (16, "90832", "Psychotherapy, 30 minutes"),
)


def service_code_for(minutes: int) -> tuple[str, str]:
    """The CPT code and its description for a session of `minutes` (at least 16)."""
    for least, code, description in SERVICE_CODES:
        if minutes >= least:
            return code, description
    return SERVICE_CODES[-1][1], SERVICE_CODES[-1][2]


def good_faith_estimate_valid_for(
    *, member: User, therapist: TherapistProfile, today: date | None = None
) -> GoodFaithEstimate | None:
    """Her newest estimate for `therapist` still in its period and at the fee she would pay now."""
    today = today or timezone.localdate()
    fee = therapist_session_fee(therapist)
    if fee is None:
        return None
    return (
        GoodFaithEstimate.objects.filter(user=member, therapist=therapist, valid_until__gte=today, session_fee=fee)
        .order_by("-created_at")
        .first()
    )


def good_faith_estimate_issue(
    *, member: User, therapist: TherapistProfile, today: date | None = None
) -> GoodFaithEstimate | None:
    """Give `member` a Good Faith Estimate for `therapist` unless she holds a valid one
    (`good_faith_estimate_valid_for`, which is returned). None, with a log line, when the
    therapist has no fee to estimate from. Call inside the caller's transaction; queues nothing.
    """
    today = today or timezone.localdate()
    existing = good_faith_estimate_valid_for(member=member, therapist=therapist, today=today)
    if existing is not None:
        return existing
    fee = therapist_session_fee(therapist)
    if fee is None:
        logger.warning("no Good Faith Estimate for therapist %s: no session fee or hourly rate", therapist.pk)
        return None
    count = settings.BLOOM_GFE_EXPECTED_SESSIONS
    code, _ = service_code_for(therapist.session_minutes)
    return GoodFaithEstimate.objects.create(
        user=member,
        therapist=therapist,
        session_fee=fee,
        session_count=count,
        total=fee * count,
        currency=therapist.currency,
        service_code=code,
        valid_until=today + timedelta(days=settings.BLOOM_GFE_VALID_DAYS),
    )


def good_faith_estimate_list_for_member(*, member: User) -> QuerySet[GoodFaithEstimate]:
    """Her Good Faith Estimates, newest first, each with its therapist (one query)."""
    return GoodFaithEstimate.objects.filter(user=member).select_related("therapist").order_by("-created_at")


def good_faith_estimate_latest_for(*, member: User, therapist) -> GoodFaithEstimate | None:
    """Her newest estimate for sessions with this therapist, if any (one query)."""
    if therapist is None:
        return None
    return good_faith_estimate_list_for_member(member=member).filter(therapist=therapist).first()


def good_faith_estimate_get_for_member(*, member: User, estimate_id) -> GoodFaithEstimate:
    """One of her estimates; another member's raises GoodFaithEstimate.DoesNotExist."""
    return good_faith_estimate_list_for_member(member=member).get(pk=estimate_id)


# --- the PDF ---------------------------------------------------------------------------------

# The patient notice of the federal No Surprises Act (45 CFR 149.610), in plain words.
RIGHTS_NOTICE = [
    "You have the right to receive a Good Faith Estimate explaining how much your care will cost.",
    "Under the law, health care providers need to give patients who don't have insurance, or who are "
    "not using insurance, an estimate of the bill for items and services.",
    "You have the right to receive a Good Faith Estimate for the total expected cost of any non-emergency "
    "items or services. This includes related costs like tests, prescription drugs, equipment and hospital fees.",
    "Make sure your provider gives you a Good Faith Estimate in writing at least 1 business day before "
    "your service. You can also ask your provider, and any other provider you choose, for a Good Faith "
    "Estimate before you schedule a service.",
    "If you receive a bill that is at least $400 more than your Good Faith Estimate, you can dispute the bill.",
    "Make sure to save a copy or picture of your Good Faith Estimate.",
    "For questions or more information about your right to a Good Faith Estimate, visit "
    "www.cms.gov/nosurprises or call 1-800-985-3059.",
]
DISCLAIMER = (
    "This Good Faith Estimate shows the costs of items and services that are reasonably expected for your "
    "care, based on information known when it was made. It does not include unknown or unexpected costs "
    "that may arise during treatment; it is not a contract and does not require you to obtain the services "
    "shown. No-show and late-cancellation fees in the policy you accepted are not part of this estimate."
)


@dataclass(frozen=True)
class _Writer:
    pdf: canvas.Canvas
    height: float

    def text(self, y: float, text: str, *, font: str = "Helvetica", size: float = 10, x: float = MARGIN) -> float:
        self.pdf.setFont(font, size)
        self.pdf.setFillColor(INK)
        self.pdf.drawString(x, y, text)
        return y - (size + 4)

    def wrapped(self, y: float, text: str, *, width: int = 105, size: float = 9, x: float = MARGIN) -> float:
        for line in textwrap.wrap(text, width):
            if y < MARGIN + 20:
                self.pdf.showPage()
                y = self.height - MARGIN
            y = self.text(y, line, size=size, x=x)
        return y


def _money(amount: Decimal, currency: str) -> str:
    symbol = "$" if currency.lower() == "usd" else f"{currency.upper()} "
    return f"{symbol}{amount:,.2f}"


def good_faith_estimate_pdf(*, estimate: GoodFaithEstimate, client_name: str) -> bytes:
    """The estimate as a one- or two-page letter PDF: client, provider (name, credentials,
    NPI, licence), practice (name, address, tax id from settings), the service line and
    total, the period, and the No Surprises Act notice with the right to dispute a bill
    $400 or more over the estimate. Pure: draws what it is given."""
    therapist = estimate.therapist
    code = estimate.service_code or service_code_for(therapist.session_minutes)[0]
    description = next((d for _, c, d in SERVICE_CODES if c == code), "Psychotherapy")
    width, height = letter
    buffer, pdf = pdf_document(title="Good Faith Estimate", author=settings.BLOOM_PRACTICE_NAME)
    out = _Writer(pdf, height)
    y = height - MARGIN

    pdf.setFillColor(ACCENT)
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawString(MARGIN, y, settings.BLOOM_PRACTICE_NAME.upper())
    y -= 26
    y = out.text(y, "Good Faith Estimate", font="Helvetica-Bold", size=18) - 4
    issued = timezone.localtime(estimate.created_at).date() if estimate.created_at else timezone.localdate()
    y = out.text(y, f"For: {client_name}", size=11)
    y = out.text(y, f"Issued: {issued:%-d %B %Y}   Valid until: {estimate.valid_until:%-d %B %Y}", size=11)
    y = out.text(y, f"Estimate reference: {estimate.pk}", size=9) - 8

    y = out.text(y, "Provider", font="Helvetica-Bold", size=12)
    y = out.text(y, str(therapist), x=MARGIN + 10)
    y = out.text(y, f"NPI: {therapist.npi or 'not on file'}", x=MARGIN + 10)
    if therapist.license_number:
        y = out.text(y, f"Licence: {therapist.license_number}", x=MARGIN + 10)
    y = out.text(y, settings.BLOOM_PRACTICE_NAME, x=MARGIN + 10)
    y = out.text(y, settings.BLOOM_PRACTICE_ADDRESS, x=MARGIN + 10)
    y = out.text(y, f"Tax ID: {settings.BLOOM_PRACTICE_TAX_ID}", x=MARGIN + 10) - 8

    y = out.text(y, "Expected services", font="Helvetica-Bold", size=12)
    columns = [("Service", 0), ("Code", 230), ("Sessions", 290), ("Fee each", 360), ("Estimated total", 440)]
    pdf.setFont("Helvetica-Bold", 9)
    for label, dx in columns:
        pdf.drawString(MARGIN + dx, y, label)
    y -= 14
    cells = [
        f"{description} ({therapist.session_minutes} min)",
        code,
        str(estimate.session_count),
        _money(estimate.session_fee, estimate.currency),
        _money(estimate.total, estimate.currency),
    ]
    pdf.setFont("Helvetica", 9)
    for (_, dx), text in zip(columns, cells, strict=True):
        pdf.drawString(MARGIN + dx, y, text)
    y -= 18
    y = out.text(
        y,
        f"Total estimated cost: {_money(estimate.total, estimate.currency)}",
        font="Helvetica-Bold",
        size=11,
    )
    y = out.wrapped(
        y,
        "Diagnosis codes are not known before your first session; sessions are expected over the "
        "estimate's period and you may stop at any time.",
    )
    y = out.wrapped(y - 4, DISCLAIMER) - 8

    y = out.text(y, "Your rights under the No Surprises Act", font="Helvetica-Bold", size=12)
    for paragraph in RIGHTS_NOTICE:
        y = out.wrapped(y, paragraph) - 3
    return pdf_finish(buffer, pdf, footer="Keep this estimate. It is also in your documents on Bloom.")
