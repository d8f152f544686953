"""The member's documents: session receipts, the superbill for a date range she picks, and
(at merge) her Good Faith Estimates. Every read is fenced to the signed-in member; PDFs are
never cached."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from bloom.downloads import file_response

from . import documents, gfe
from .document_forms import SuperbillForm
from .models import AppointmentData


def _pdf(content: bytes, filename: str) -> HttpResponse:
    return file_response(content, content_type="application/pdf", filename=filename)


def _page(request, *, form: SuperbillForm, status: int = 200, superbill_empty: bool = False):
    member = request.user
    return render(
        request,
        "appointments/documents/documents.html",
        {
            "receipts": documents.receipt_list_for_member(member=member),
            "form": form,
            "superbill_empty": superbill_empty,
            # Lazy: read only by the estimates section (templates/appointments/documents/_estimates.html).
            "estimates": gfe.good_faith_estimate_list_for_member(member=member),
        },
        status=status,
    )


@login_required
def documents_page(request):
    today = timezone.localdate()
    start, end = documents.superbill_default_range(today=today)
    return _page(request, form=SuperbillForm(initial={"start": start, "end": end}, today=today))


@login_required
@never_cache
def receipt_pdf(request, appointment_id):
    """One session's receipt; another member's session, or one with nothing paid, is a 404."""
    try:
        receipt = documents.receipt_get_for_member(member=request.user, appointment_id=appointment_id)
    except AppointmentData.DoesNotExist as exc:
        raise Http404("No receipt for this session.") from exc
    content = documents.receipt_pdf(
        receipt=receipt, member=request.user, practice=documents.practice_get(), issued_on=timezone.localdate()
    )
    return _pdf(content, f"bloom-receipt-{receipt.starts_at:%Y-%m-%d}-{receipt.number}.pdf")


@login_required
@never_cache
def superbill_pdf(request):
    """The superbill for ?start=&end= (her dates). A range with a mistake shows the documents
    page again with the error and what she typed; a range without attended sessions says so."""
    form = SuperbillForm(request.GET, today=timezone.localdate())
    if not form.is_valid():
        return _page(request, form=form, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    superbill = documents.superbill_for_member(member=request.user, start=start, end=end)
    if superbill is None:
        return _page(request, form=form, superbill_empty=True)
    content = documents.superbill_pdf(superbill=superbill, practice=documents.practice_get())
    return _pdf(content, f"bloom-superbill-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.pdf")
