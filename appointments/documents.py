"""Receipts and superbills for therapy: what a member downloads to claim a session back from
her insurer or her health savings account (docs/appointments.md, "Receipts and the superbill").

Selectors read only the member's own rows (another member's appointment is never found) and
return plain data; the PDF builders draw what they are given (reportlab, as the wellness
summary and the certificates: docs/adr/0041). Dates and times are in the reader's time zone
(the request's, set by accounts' MemberTimezoneMiddleware).
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from accounts.models import User
from billing import selectors as billing_selectors
from billing.models import RefundStatus
from bloom.pdf import ACCENT, MARGIN, MUTED, PdfPages, pdf_document, pdf_finish
from bloom.templatetags.bloom_format import format_money

from .models import (
    AppointmentData,
    AppointmentPayment,
    AppointmentStatus,
    PaymentKind,
    PaymentStatus,
)

# An appointment payment in one of these states took the member's money (a refund since is
# shown on the receipt). Authorised holds, released holds, waived and failed fees never did.
PAID_STATUSES = (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED)

# What the common psychotherapy service codes (CPT) mean, for the line on a receipt.
SERVICE_DESCRIPTIONS = {
    "90791": "Psychiatric diagnostic evaluation",
    "90832": "Psychotherapy, 30 minutes",
    "90834": "Psychotherapy, 45 minutes",
    "90837": "Psychotherapy, 60 minutes",
    "90846": "Family psychotherapy, without the client present",
    "90847": "Family psychotherapy, with the client present",
    "90853": "Group psychotherapy",
}

SUPERBILL_MAX_DAYS = 366


# --- Data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Practice:
    name: str
    address: str
    tax_id: str


def practice_get() -> Practice:
    """The practice as receipts and superbills name it (BLOOM_PRACTICE_* settings)."""
    return Practice(
        name=settings.BLOOM_PRACTICE_NAME,
        address=settings.BLOOM_PRACTICE_ADDRESS,
        tax_id=settings.BLOOM_PRACTICE_TAX_ID,
    )


@dataclass(frozen=True)
class ReceiptRefund:
    on: datetime.date | None
    amount: Decimal


@dataclass(frozen=True)
class ReceiptCharge:
    """One amount taken for the session (the session fee, or a no-show or late-cancellation fee)."""

    kind: str
    label: str
    amount: Decimal
    paid_on: datetime.date | None
    method: str
    refunds: tuple[ReceiptRefund, ...] = ()

    @property
    def refunded(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal("0.00"))

    @property
    def net(self) -> Decimal:
        return self.amount - self.refunded


@dataclass(frozen=True)
class SessionReceipt:
    """Everything one session's receipt shows."""

    appointment: AppointmentData
    number: str
    starts_at: datetime.datetime  # local
    service: str
    service_code: str
    charges: tuple[ReceiptCharge, ...]
    currency: str

    @property
    def provider(self):
        return self.appointment.therapist

    @property
    def paid(self) -> Decimal:
        return sum((charge.amount for charge in self.charges), Decimal("0.00"))

    @property
    def refunded(self) -> Decimal:
        return sum((charge.refunded for charge in self.charges), Decimal("0.00"))

    @property
    def net(self) -> Decimal:
        return self.paid - self.refunded

    @property
    def fee_only(self) -> bool:
        """Only a fee was paid (a missed or late-cancelled session), no session."""
        return all(charge.kind != PaymentKind.SESSION_FEE for charge in self.charges)


def receipt_number(appointment: AppointmentData) -> str:
    """A short, stable number for the session's receipt, derived from the appointment's id
    (docs/adr/0220): the same session always gets the same number."""
    return f"BLM-{appointment.pk.hex[:12].upper()}"


def _local(moment: datetime.datetime | None) -> datetime.datetime | None:
    return timezone.localtime(moment) if moment is not None else None


def _local_date(moment: datetime.datetime | None) -> datetime.date | None:
    return _local(moment).date() if moment is not None else None


def _service(appointment: AppointmentData) -> str:
    described = SERVICE_DESCRIPTIONS.get(appointment.service_code)
    if described:
        return described
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    return f"Psychotherapy session, {minutes} minutes"


def _charged(row: AppointmentPayment) -> Decimal:
    """What the member paid on this row: billing's captured amount when billing took it
    (a partial capture lowers it), else the row's own amount."""
    return row.payment.amount if row.payment is not None else row.amount


def _refunded(row: AppointmentPayment) -> Decimal:
    if row.payment is not None:
        return row.payment.amount_refunded or Decimal("0.00")
    return row.amount if row.status == PaymentStatus.REFUNDED else Decimal("0.00")


def _is_money(row: AppointmentPayment) -> bool:
    """A captured or refunded row whose billing payment is paid: a row whose payment is not
    paid yet (a webhook still on its way) is not money yet."""
    return row.status in PAID_STATUSES and (row.payment is None or row.payment.is_paid)


def _refunds(row: AppointmentPayment, refund_rows: list) -> tuple[ReceiptRefund, ...]:
    """The refunds of one payment: each refund Stripe confirmed, and any part of billing's
    refunded total no refund row explains (a refund made in Stripe's dashboard) as one line."""
    if row.payment is None:
        return (ReceiptRefund(on=None, amount=row.amount),) if row.status == PaymentStatus.REFUNDED else ()
    total = row.payment.amount_refunded or Decimal("0.00")
    lines = [
        ReceiptRefund(on=_local_date(refund.refunded_at), amount=refund.amount_refunded)
        for refund in refund_rows
        if refund.amount_refunded
    ]
    listed = sum((line.amount for line in lines), Decimal("0.00"))
    if listed > total:
        return (ReceiptRefund(on=_local_date(row.payment.refunded_at), amount=total),) if total else ()
    if listed < total:
        lines.append(ReceiptRefund(on=_local_date(row.payment.refunded_at), amount=total - listed))
    return tuple(lines)


def _paid_rows(*, member: User, **filters) -> list[AppointmentPayment]:
    rows = (
        AppointmentPayment.objects.filter(user=member, appointment__user=member, status__in=PAID_STATUSES, **filters)
        .select_related("appointment__therapist", "payment")
        .order_by("-appointment__starts_at", "created_at")
    )
    return [row for row in rows if _is_money(row)]


def _receipts(*, member: User, rows: list[AppointmentPayment]) -> list[SessionReceipt]:
    payment_ids = [row.payment_id for row in rows if row.payment_id]
    refunds: dict = {}
    cards: dict = {}
    if payment_ids:
        confirmed = (
            billing_selectors.refund_list_for_member(member=member)
            .filter(payment_id__in=payment_ids, status=RefundStatus.REFUNDED)
            .order_by("refunded_at", "created_at")
        )
        for refund in confirmed:
            refunds.setdefault(refund.payment_id, []).append(refund)
        cards = billing_selectors.payment_card_labels(member=member, payment_ids=payment_ids)
    by_appointment: dict = {}
    for row in rows:
        by_appointment.setdefault(row.appointment_id, []).append(row)
    receipts = []
    for appointment_rows in by_appointment.values():
        appointment = appointment_rows[0].appointment
        charges = tuple(
            ReceiptCharge(
                kind=row.kind,
                label=row.get_kind_display(),
                amount=_charged(row),
                paid_on=_local_date((row.payment.paid_at if row.payment else None) or row.captured_at),
                method=cards.get(row.payment_id, "Card"),
                refunds=_refunds(row, refunds.get(row.payment_id, [])),
            )
            for row in appointment_rows
        )
        has_session = any(charge.kind == PaymentKind.SESSION_FEE for charge in charges)
        receipts.append(
            SessionReceipt(
                appointment=appointment,
                number=receipt_number(appointment),
                starts_at=_local(appointment.starts_at),
                service=_service(appointment) if has_session else "Fee under the cancellation and no-show policy",
                service_code=appointment.service_code if has_session else "",
                charges=charges,
                currency=appointment_rows[0].currency,
            )
        )
    return receipts


def receipt_list_for_member(*, member: User) -> list[SessionReceipt]:
    """The member's sessions on which she paid something, newest first (at most four queries:
    the payments with their sessions, their refunds, and the cards they were paid with)."""
    return _receipts(member=member, rows=_paid_rows(member=member))


def receipt_available(*, member: User, appointment: AppointmentData) -> bool:
    """Whether her session has money paid on it, so a receipt can be downloaded (one query)."""
    return bool(_paid_rows(member=member, appointment_id=appointment.pk))


def receipt_get_for_member(*, member: User, appointment_id) -> SessionReceipt:
    """One session's receipt. Raises AppointmentData.DoesNotExist when the session is another
    member's, does not exist, or has no money paid on it."""
    receipts = _receipts(member=member, rows=_paid_rows(member=member, appointment_id=appointment_id))
    if not receipts:
        raise AppointmentData.DoesNotExist("No receipt for this session.")
    return receipts[0]


@dataclass(frozen=True)
class SuperbillLine:
    appointment: AppointmentData
    starts_at: datetime.datetime  # local
    service_code: str
    diagnosis_codes: tuple[str, ...]
    fee: Decimal | None
    paid: Decimal

    @property
    def provider(self):
        return self.appointment.therapist

    @property
    def missing_codes(self) -> bool:
        return not self.service_code or not self.diagnosis_codes


@dataclass(frozen=True)
class Superbill:
    client_name: str
    client_email: str
    date_of_birth: datetime.date | None
    start: datetime.date
    end: datetime.date
    issued_on: datetime.date
    lines: tuple[SuperbillLine, ...]
    currency: str

    @property
    def providers(self) -> list:
        seen: dict = {}
        for line in self.lines:
            if line.provider is not None:
                seen.setdefault(line.provider.pk, line.provider)
        return list(seen.values())

    @property
    def total_fees(self) -> Decimal:
        return sum((line.fee for line in self.lines if line.fee is not None), Decimal("0.00"))

    @property
    def total_paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), Decimal("0.00"))

    @property
    def missing_codes_count(self) -> int:
        return sum(line.missing_codes for line in self.lines)


def superbill_default_range(*, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """This calendar year up to today."""
    return today.replace(month=1, day=1), today


def _agreed_fee(appointment: AppointmentData) -> Decimal | None:
    policy = appointment.policy_acceptance
    if policy is not None and policy.session_fee is not None:
        return policy.session_fee
    therapist = appointment.therapist
    if therapist is None:
        return None
    return therapist.session_fee if therapist.session_fee is not None else therapist.hourly_rate


def superbill_for_member(*, member: User, start: datetime.date, end: datetime.date) -> Superbill | None:
    """The superbill of the member's attended sessions from `start` to `end` (her local dates,
    both included), oldest first; None when she attended none then. Two queries.

    A session's fee is what was charged for it (a partial capture charged less), or, before
    any charge, the fee she agreed to (her accepted policy, else the therapist's fee); paid is
    what was charged less refunds."""
    zone = timezone.get_current_timezone()
    low = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    high = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    session_fees = AppointmentPayment.objects.filter(
        user=member, kind=PaymentKind.SESSION_FEE, status__in=PAID_STATUSES
    ).select_related("payment")
    appointments = (
        AppointmentData.objects.filter(
            user=member, status=AppointmentStatus.COMPLETED, starts_at__gte=low, starts_at__lt=high
        )
        .select_related("therapist", "policy_acceptance")
        .prefetch_related(Prefetch("payments", queryset=session_fees, to_attr="paid_session_fees"))
        .order_by("starts_at")
    )
    lines = []
    currency = "usd"
    for appointment in appointments:
        rows = [row for row in appointment.paid_session_fees if _is_money(row)]
        charged = sum((_charged(row) for row in rows), Decimal("0.00"))
        refunded = sum((_refunded(row) for row in rows), Decimal("0.00"))
        if rows:
            currency = rows[0].currency
        lines.append(
            SuperbillLine(
                appointment=appointment,
                starts_at=_local(appointment.starts_at),
                service_code=appointment.service_code,
                diagnosis_codes=tuple(appointment.diagnosis_codes or ()),
                fee=charged if rows else _agreed_fee(appointment),
                paid=charged - refunded,
            )
        )
    if not lines:
        return None
    return Superbill(
        client_name=member.get_full_name() or member.email,
        client_email=member.email,
        date_of_birth=None,  # Bloom does not ask for it; the member writes it in (see the PDF)
        start=start,
        end=end,
        issued_on=timezone.localdate(),
        lines=tuple(lines),
        currency=currency,
    )


# --- PDFs ----------------------------------------------------------------------------------------


def _document(title: str) -> tuple[io.BytesIO, canvas.Canvas, PdfPages]:
    buffer, pdf = pdf_document(title=title, author=settings.BLOOM_PRACTICE_NAME)
    return buffer, pdf, PdfPages(pdf, letter[1])


def _header(pages: PdfPages, *, title: str, practice: Practice) -> None:
    pages.line(practice.name.upper(), font="Helvetica-Bold", size=12, gap=14, colour=ACCENT)
    pages.wrapped(practice.address, size=9, gap=12, colour=MUTED)
    pages.line(f"Tax ID (EIN): {practice.tax_id}", size=9, gap=26, colour=MUTED)
    pages.line(title, font="Helvetica-Bold", size=18, gap=24)


def _finish(buffer: io.BytesIO, pdf: canvas.Canvas, pages: PdfPages, footer: str) -> bytes:
    pages.need(30)
    return pdf_finish(buffer, pdf, footer=footer)


def _provider_lines(pages: PdfPages, therapist) -> None:
    if therapist is None:
        pages.line("Provider: not recorded", x=MARGIN + 10)
        return
    pages.line(f"Provider: {therapist}", x=MARGIN + 10)
    pages.line(f"NPI: {therapist.npi or 'not on file'}", x=MARGIN + 10)
    if therapist.license_number:
        pages.line(f"License: {therapist.license_number}", x=MARGIN + 10)


def receipt_pdf(*, receipt: SessionReceipt, member: User, practice: Practice, issued_on: datetime.date) -> bytes:
    """One session's receipt: who was paid, for what, when, how, and any refund."""
    buffer, pdf, pages = _document(f"Receipt {receipt.number}")
    _header(pages, title="Receipt", practice=practice)
    money = receipt.currency
    pages.line(f"Receipt number: {receipt.number}")
    pages.line(f"Issued: {issued_on:%B %-d, %Y}")
    pages.wrapped(f"Billed to: {member.get_full_name() or member.email} ({member.email})")
    pages.y -= 8

    pages.line("Session", font="Helvetica-Bold", size=12, gap=16)
    _provider_lines(pages, receipt.provider)
    when = receipt.starts_at
    pages.line(f"Date of service: {when:%A, %B %-d, %Y at %-I:%M %p} ({when.tzname()})", x=MARGIN + 10)
    service = f"{receipt.service} (CPT {receipt.service_code})" if receipt.service_code else receipt.service
    pages.line(f"Service: {service}", x=MARGIN + 10, gap=22)

    pages.line("Payments", font="Helvetica-Bold", size=12, gap=18)
    columns = [("Description", 0), ("Paid on", 170), ("Method", 260), ("Amount", -(letter[0] - 2 * MARGIN))]
    right = letter[0] - 2 * MARGIN
    pages.row(columns, font="Helvetica-Bold")
    for charge in receipt.charges:
        paid_on = f"{charge.paid_on:%b %-d, %Y}" if charge.paid_on else ""
        pages.row(
            [(charge.label, 0), (paid_on, 170), (charge.method, 260), (format_money(charge.amount, money), -right)]
        )
        for refund in charge.refunds:
            on = f"{refund.on:%b %-d, %Y}" if refund.on else ""
            pages.row(
                [
                    (f"Refund of the {charge.label.lower()}", 10),
                    (on, 170),
                    (format_money(-refund.amount, money), -right),
                ]
            )
    pages.y -= 6
    pages.row([("Total paid", 0), (format_money(receipt.paid, money), -right)], font="Helvetica-Bold")
    if receipt.refunded:
        pages.row([("Refunded", 0), (format_money(-receipt.refunded, money), -right)])
        pages.row([("Net paid", 0), (format_money(receipt.net, money), -right)], font="Helvetica-Bold")
    pages.y -= 14
    if receipt.fee_only:
        pages.wrapped(
            "This fee was charged under the cancellation and no-show policy you accepted; it is not a "
            "payment for a therapy service.",
            size=9,
            colour=MUTED,
        )
    return _finish(buffer, pdf, pages, f"Private health information. Receipt {receipt.number} from {practice.name}.")


def superbill_pdf(*, superbill: Superbill, practice: Practice) -> bytes:
    """The superbill a member sends her insurer: provider, client, each attended session with
    its codes, fee and amount paid, and totals. Sessions without codes say so."""
    buffer, pdf, pages = _document("Superbill")
    _header(pages, title="Superbill (statement for insurance reimbursement)", practice=practice)
    money = superbill.currency
    pages.line(f"Sessions from {superbill.start:%B %-d, %Y} to {superbill.end:%B %-d, %Y}")
    pages.line(f"Issued: {superbill.issued_on:%B %-d, %Y}", gap=22)

    pages.line("Client", font="Helvetica-Bold", size=12, gap=16)
    pages.line(f"Name: {superbill.client_name}", x=MARGIN + 10)
    pages.line(f"Email: {superbill.client_email}", x=MARGIN + 10)
    if superbill.date_of_birth is not None:
        pages.line(f"Date of birth: {superbill.date_of_birth:%B %-d, %Y}", x=MARGIN + 10, gap=22)
    else:
        pages.line("Date of birth: ______________________ (please write it in)", x=MARGIN + 10, gap=22)

    pages.line("Provider" if len(superbill.providers) <= 1 else "Providers", font="Helvetica-Bold", size=12, gap=16)
    for therapist in superbill.providers:
        _provider_lines(pages, therapist)
        pages.y -= 4
    pages.line(f"Practice tax ID (EIN): {practice.tax_id}", x=MARGIN + 10, gap=22)

    pages.line("Sessions", font="Helvetica-Bold", size=12, gap=18)
    right = letter[0] - 2 * MARGIN
    pages.row(
        [
            ("Date", 0),
            ("Provider", 70),
            ("CPT", 220),
            ("Diagnosis (ICD-10)", 270),
            ("Fee", -(right - 70)),
            ("Paid", -right),
        ],
        font="Helvetica-Bold",
    )
    for line in superbill.lines:
        provider = line.provider.display_name if line.provider is not None else ""
        fee = format_money(line.fee, money) if line.fee is not None else "not set"
        # Three diagnoses per printed line, so a long list never runs into the fee column.
        codes = [line.diagnosis_codes[i : i + 3] for i in range(0, len(line.diagnosis_codes), 3)] or [()]
        pages.row(
            [
                (f"{line.starts_at:%m/%d/%Y}", 0),
                (provider[:28], 70),
                (line.service_code or "-", 220),
                (", ".join(codes[0]) or "-", 270),
                (fee, -(right - 70)),
                (format_money(line.paid, money), -right),
            ]
        )
        for more in codes[1:]:
            pages.row([(", ".join(more), 270)])
        if line.missing_codes:
            pages.line(
                "No codes entered for this session yet: ask your therapist to add them.",
                size=8,
                x=MARGIN + 70,
                gap=12,
                colour=ACCENT,
            )
    pages.y -= 6
    pages.row(
        [
            ("Totals", 0),
            (format_money(superbill.total_fees, money), -(right - 70)),
            (format_money(superbill.total_paid, money), -right),
        ],
        font="Helvetica-Bold",
    )
    pages.y -= 14
    if superbill.missing_codes_count:
        count = superbill.missing_codes_count
        pages.wrapped(
            f"{count} session{'s have' if count != 1 else ' has'} no service or diagnosis codes yet. Insurers "
            "usually need both: ask your therapist to add them, then download this superbill again.",
            size=9,
            colour=ACCENT,
        )
    pages.wrapped(
        "Fees are what was charged for each session; paid is the amount received less any refund. "
        "The practice does not bill insurers directly: send this statement with your claim.",
        size=9,
        colour=MUTED,
    )
    return _finish(buffer, pdf, pages, f"Private health information. Superbill from {practice.name}.")
