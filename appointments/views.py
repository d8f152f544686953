from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.services import security_event_record
from bloom.webhooks import webhook_endpoint

from . import documents, gfe, selectors, webhooks
from .models import AppointmentData, AppointmentStatus


@login_required
def appointment_list(request):
    appointments = selectors.appointment_list_for_member(member=request.user)
    return render(
        request,
        "appointments/appointment_list.html",
        {"upcoming": appointments.upcoming, "upcoming_more": appointments.upcoming_more, "past": appointments.past},
    )


def _own_appointment(request, appointment_id) -> AppointmentData:
    try:
        return selectors.appointment_get_for_member(member=request.user, appointment_id=appointment_id)
    except AppointmentData.DoesNotExist as exc:
        raise Http404("No such appointment.") from exc


@login_required
def appointment_detail(request, appointment_id):
    """Her session: time in her zone, therapist, join link near the time, policy, history, changes."""
    appointment = _own_appointment(request, appointment_id)
    now = timezone.now()
    return render(
        request,
        "appointments/appointment_detail.html",
        {
            "appointment": appointment,
            "history": selectors.appointment_history(appointment=appointment),
            "changeable": selectors.appointment_is_changeable(appointment=appointment, now=now),
            "join_open": selectors.appointment_join_open(appointment=appointment, now=now),
            "upcoming": appointment.status == AppointmentStatus.SCHEDULED and appointment.ends_at > now,
            "join_opens_minutes": int(selectors.JOIN_OPENS_BEFORE.total_seconds() // 60),
            "policy": appointment.policy_acceptance,
            "estimate": gfe.good_faith_estimate_latest_for(member=request.user, therapist=appointment.therapist),
            "has_receipt": documents.receipt_available(member=request.user, appointment=appointment),
        },
    )


def _change(request, appointment_id, *, action: str):
    """The step before Calendly's cancel or reschedule page: says whether a fee applies, then links on.

    Nothing changes in Bloom here; Calendly's webhook (or the nightly reconciliation) records the change.
    """
    appointment = _own_appointment(request, appointment_id)
    if not selectors.appointment_is_changeable(appointment=appointment):
        messages.info(
            request, "This session has already started, taken place or been cancelled, so it can't be changed."
        )
        return redirect("appointments:appointment_detail", appointment.pk)
    terms = selectors.appointment_change_terms(appointment=appointment, action=action)
    return render(request, "appointments/appointment_change.html", {"appointment": appointment, "terms": terms})


@login_required
@require_GET
def appointment_cancel(request, appointment_id):
    return _change(request, appointment_id, action="cancel")


@login_required
@require_GET
def appointment_reschedule(request, appointment_id):
    return _change(request, appointment_id, action="reschedule")


@login_not_required
def team(request):
    """The public team page: every therapist, her photo, credentials, specialties and how to book.

    "Book" leads to her page and the booking gate (card, policy, estimate), never straight to
    Calendly: a booking that skipped the gate would have no card to hold and no accepted policy.
    A visitor signs in first and comes back to her page."""
    therapists = [
        (
            therapist,
            reverse("appointments:therapist_detail", args=[therapist.pk])
            if therapist.is_accepting_clients and therapist.scheduling_url
            else "",
        )
        for therapist in selectors.therapist_list_for_team()
    ]
    return render(request, "appointments/team.html", {"therapists": therapists})


@webhook_endpoint
@require_POST
def calendly_webhook(request):
    """Verify, store, answer 200 (appointments.webhooks.PROVIDER); processing happens in a task.

    A database failure answers 503 so Calendly delivers again (`webhook_endpoint`).
    """
    return webhooks.PROVIDER.receive(request, reject=security_event_record)
