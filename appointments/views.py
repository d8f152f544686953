from django.contrib.auth.decorators import login_not_required, login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.services import security_event_record
from bloom.webhooks import webhook_endpoint

from . import selectors, webhooks
from .models import AppointmentData


@login_required
def appointment_list(request):
    appointments = selectors.appointment_list_for_member(member=request.user)
    return render(
        request,
        "appointments/appointment_list.html",
        {"upcoming": appointments.upcoming, "upcoming_more": appointments.upcoming_more, "past": appointments.past},
    )


@login_required
def appointment_detail(request, appointment_id):
    try:
        appointment = selectors.appointment_get_for_member(member=request.user, appointment_id=appointment_id)
    except AppointmentData.DoesNotExist as exc:
        raise Http404("No such appointment.") from exc
    return render(request, "appointments/appointment_detail.html", {"appointment": appointment})


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
