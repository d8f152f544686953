import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.services import security_event_record
from bloom.webhooks import SignatureError, verify_timestamped_hmac, webhook_endpoint

from . import selectors, services
from .models import AppointmentData

logger = logging.getLogger(__name__)


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


@login_required
def therapist_list(request):
    therapists = [
        (therapist, selectors.booking_url(therapist=therapist, member=request.user))
        for therapist in selectors.therapist_list_accepting()
    ]
    return render(request, "appointments/therapist_list.html", {"therapists": therapists})


def _signature_parts(header: str) -> tuple[str, list[str]]:
    """`t=<ts>,v1=<hex>[,v1=<hex>]` -> (timestamp, signatures)."""
    timestamp, signatures = "", []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


@webhook_endpoint
@require_POST
def calendly_webhook(request):
    """Verify, store, answer 200; processing happens in a task (bloom/webhooks.py).

    A database failure answers 503 so Calendly delivers again (`webhook_endpoint`).
    """
    raw = request.body
    timestamp, signatures = _signature_parts(request.headers.get("Calendly-Webhook-Signature", ""))
    try:
        verify_timestamped_hmac(
            secret=settings.CALENDLY_WEBHOOK_SIGNING_KEY,
            timestamp=timestamp,
            signed_payload=timestamp.encode() + b"." + raw,
            signatures=signatures,
            tolerance=settings.WEBHOOK_TOLERANCE_SECONDS,
        )
    except SignatureError as exc:
        security_event_record(
            event_type="webhook_signature_invalid",
            request=request,
            details={"provider": "calendly", "reason": str(exc)},
        )
        return HttpResponseBadRequest("invalid signature")
    try:
        body = json.loads(raw)
        services.calendly_event_receive(body=body if isinstance(body, dict) else {})
    except (ValueError, services.CalendlyPayloadError) as exc:
        logger.warning("calendly webhook rejected: %s", exc)
        security_event_record(
            event_type="webhook_payload_invalid", request=request, details={"provider": "calendly", "reason": str(exc)}
        )
        return HttpResponseBadRequest("malformed payload")
    return HttpResponse("ok")
