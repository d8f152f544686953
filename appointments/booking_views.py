"""Member pages for finding a therapist and the booking gate (adapters over booking.py and gfe.py)."""

from __future__ import annotations

import functools

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from billing import services as billing_services
from bloom.downloads import file_response
from bloom.exceptions import ApplicationError

from . import booking, gfe, selectors
from .models import GoodFaithEstimate, TherapistProfile


class PolicyAcceptForm(forms.Form):
    """Her acceptance of the policy shown (the terms' fingerprint travels with the form, so
    a wording or fee that changed while she read is asked again)."""

    accept = forms.BooleanField(
        required=True,
        label="I have read the cancellation and no-show policy above and I accept it.",
        error_messages={"required": "Please tick the box to show you have read and accept the policy."},
    )
    terms = forms.CharField(widget=forms.HiddenInput)


def _therapist_or_404(therapist_id) -> TherapistProfile:
    try:
        return booking.therapist_get_for_booking(therapist_id=therapist_id)
    except TherapistProfile.DoesNotExist as exc:
        raise Http404("No such therapist.") from exc


@login_required
def therapist_list(request):
    """Every therapist (accepting new clients first); each links to her page."""
    return render(request, "appointments/therapist_list.html", {"therapists": selectors.therapist_list_for_team()})


@login_required
def therapist_detail(request, therapist_id):
    therapist = _therapist_or_404(therapist_id)
    context = {
        "therapist": therapist,
        "fee": selectors.therapist_session_fee(therapist),
        "hours": booking.therapist_weekly_hours(therapist=therapist),
        "zone_name": timezone.get_current_timezone_name(),
        "bookable": therapist.is_accepting_clients and bool(therapist.scheduling_url),
    }
    return render(request, "appointments/therapists/therapist_detail.html", context)


def _not_bookable(request, therapist, exc: booking.BookingUnavailable):
    """Back to the therapist's page, told why she cannot book him now."""
    messages.info(request, exc.message)
    return redirect("appointments:therapist_detail", therapist_id=therapist.pk)


def _gated(view):
    """Run `view(request, therapist, gate)` for the therapist in the URL and her booking gate; a
    therapist she cannot book now sends her back to his page, told why."""

    @functools.wraps(view)
    def gated(request, therapist_id):
        therapist = _therapist_or_404(therapist_id)
        try:
            gate = booking.booking_gate_get(member=request.user, therapist=therapist)
        except booking.BookingUnavailable as exc:
            return _not_bookable(request, therapist, exc)
        return view(request, therapist, gate)

    return gated


@login_required
@_gated
def book(request, therapist, gate):
    """The booking gate: save a card, accept the policy, then choose a time on Calendly."""
    form = PolicyAcceptForm(initial={"terms": gate.terms.fingerprint})
    if request.method == "POST":
        if gate.step != booking.STEP_POLICY:
            return redirect("appointments:book", therapist_id=therapist.pk)
        form = PolicyAcceptForm(request.POST)
        if form.is_valid():
            try:
                booking.booking_policy_accept(
                    member=request.user, therapist=therapist, terms_seen=form.cleaned_data["terms"], request=request
                )
            except ApplicationError as exc:
                # A new wording, a changed fee or a card gone meanwhile: the gate shows it afresh.
                messages.error(request, exc.message)
                return redirect("appointments:book", therapist_id=therapist.pk)
            messages.success(request, "Thank you. Your estimate is ready, and you can choose a time.")
            return redirect("appointments:book", therapist_id=therapist.pk)
    context = {
        "gate": gate,
        "therapist": therapist,
        "form": form,
        # Back from Stripe: the card is saved by Stripe's webhook, usually within seconds.
        "card_confirming": gate.step == booking.STEP_CARD and request.GET.get("redirect_status") == "succeeded",
        "card_failed": gate.step == booking.STEP_CARD and request.GET.get("redirect_status") == "failed",
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "appointments/booking/book.html", context, status=status)


@login_required
@_gated
def book_card(request, therapist, gate):
    """Stripe Elements page to save a card (billing's SetupIntent flow), returning to the gate."""
    gate_url = reverse("appointments:book", kwargs={"therapist_id": therapist.pk})
    try:
        setup = billing_services.card_setup_start(member=request.user)
    except billing_services.CheckoutUnavailable as exc:
        messages.error(request, exc.message)
        return redirect(gate_url)
    context = {
        "therapist": therapist,
        "client_secret": setup["client_secret"],
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "return_url": request.build_absolute_uri(gate_url),
        "gate_url": gate_url,
    }
    return render(request, "appointments/booking/card.html", context)


@login_required
def book_calendly(request, therapist_id):
    """Leave for the therapist's Calendly page, pre-filled and tracked, once the gate is passed."""
    therapist = _therapist_or_404(therapist_id)
    try:
        url = booking.booking_calendly_url(member=request.user, therapist=therapist)
    except booking.BookingUnavailable as exc:
        return _not_bookable(request, therapist, exc)
    except ApplicationError as exc:
        messages.info(request, exc.message)
        return redirect("appointments:book", therapist_id=therapist.pk)
    return redirect(url)


@login_required
@never_cache
def gfe_pdf(request, estimate_id):
    """Her Good Faith Estimate as a PDF; another member's is a 404."""
    try:
        estimate = gfe.good_faith_estimate_get_for_member(member=request.user, estimate_id=estimate_id)
    except GoodFaithEstimate.DoesNotExist as exc:
        raise Http404("No such estimate.") from exc
    pdf = gfe.good_faith_estimate_pdf(estimate=estimate, client_name=request.user.get_full_name() or request.user.email)
    return file_response(
        pdf,
        content_type="application/pdf",
        filename=f"good-faith-estimate-{estimate.created_at:%Y-%m-%d}.pdf",
        inline=True,
    )
