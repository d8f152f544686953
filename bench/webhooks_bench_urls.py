"""Bench-only routes: Bloom's urls, dj-stripe's webhook endpoint, and the floor view."""

import json

import stripe
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from billing.webhooks import signature_verify
from bloom.urls import urlpatterns as bloom_urlpatterns
from bloom.webhooks import SignatureError

# dj-stripe calls Stripe through the library's globals; point them at the local stub.
stripe.api_base = settings.STRIPE_API_BASE


_FLOOR_INSERT = (
    "INSERT INTO stripe_webhook_events"
    " (id, stripe_event_id, event_type, event_data, processed, attempts, outcome, created_at)"
    " VALUES (gen_random_uuid(), %s, %s, %s::jsonb, true, 0, 'bench-floor', now())"
)


@csrf_exempt
@login_not_required
def floor(request):
    """The least a webhook endpoint can do: verify the signature and insert the row.

    One parameterised INSERT of the raw body (no ORM, no duplicate check, no queueing),
    so the floor is as cheap as storing an event can be. Rows are stored as already
    handled so the drain in the same database leaves them alone.
    """
    try:
        signature_verify(payload=request.body, header=request.headers.get("Stripe-Signature", ""))
    except SignatureError:
        return HttpResponseBadRequest("invalid")
    event = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(_FLOOR_INSERT, [event["id"], event["type"], request.body.decode()])
    return HttpResponse("ok")


urlpatterns = [
    path("bench/floor/", floor),
    path("djstripe/", include("djstripe.urls", namespace="djstripe")),
    *bloom_urlpatterns,
]
