"""Billing pages for members and the Stripe webhook endpoint (adapters over services/selectors)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.services import security_event_record
from bloom.exceptions import ApplicationError
from bloom.webhooks import webhook_endpoint

from . import selectors, services, stripe_client, webhooks
from .forms import RefundRequestForm
from .models import PaymentStatus

logger = logging.getLogger(__name__)


@webhook_endpoint
@require_POST
def stripe_webhook(request):
    """Verify, store, answer (billing.webhooks.PROVIDER); processing happens in the drain task.

    A database failure answers 503 so Stripe delivers again (`webhook_endpoint`).
    """
    return webhooks.PROVIDER.receive(request, reject=security_event_record)


@login_required
def billing_home(request):
    member = request.user
    refunds = list(selectors.refund_list_for_member(member=member))
    context = {
        "summary": selectors.payment_summary_for_member(member=member),
        "payments": selectors.payment_list_for_member(member=member),
        "open_refunds": [refund for refund in refunds if refund.is_open],
        "past_refunds": [refund for refund in refunds if not refund.is_open],
        "cards": selectors.payment_method_list_for_member(member=member),
        "needs_action": selectors.payment_needing_action_list_for_member(member=member),
    }
    return render(request, "billing/billing_home.html", context)


@login_required
def receipt(request, payment_id):
    payment = selectors.payment_get_for_member(member=request.user, payment_id=payment_id)
    if not payment.is_paid:
        return render(request, "billing/receipt_unavailable.html", {"payment": payment}, status=404)
    refunds = selectors.refund_list_refunded_for_payment(payment=payment)
    return render(request, "billing/receipt.html", {"payment": payment, "refunds": refunds})


def _safe_next(request, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    if url and url.startswith(settings.SITE_URL):
        return url
    return reverse("billing:billing_home")


@login_required
def checkout_return(request, payment_id):
    """Where Stripe sends the member back: shows "processing" until the webhook marks it paid."""
    payment = selectors.payment_get_for_member(member=request.user, payment_id=payment_id)
    context = {
        "payment": payment,
        "next_url": _safe_next(request, payment.metadata.get("success_url")),
        "processing": payment.status
        in (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_CAPTURE),
    }
    return render(request, "billing/checkout_return.html", context)


@login_required
def refund_request(request, payment_id):
    member = request.user
    payment = selectors.payment_get_for_member(member=member, payment_id=payment_id)
    max_amount = payment.refundable_amount
    form = RefundRequestForm(request.POST or None, max_amount=max_amount, initial={"amount": max_amount})
    if request.method == "POST" and form.is_valid():
        try:
            services.refund_request_create(
                member=member, payment=payment, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Thank you. Our team will review your refund request and email you.")
            return redirect("billing:billing_home")
    return render(request, "billing/refund_request.html", {"payment": payment, "form": form})


@login_required
def card_add(request):
    """Stripe Elements page: a SetupIntent saves the card; the webhook records it."""
    try:
        setup = services.card_setup_start(member=request.user)
    except services.CheckoutUnavailable as exc:
        messages.error(request, exc.message)
        return redirect("billing:billing_home")
    return render(
        request,
        "billing/card_add.html",
        {
            "client_secret": setup["client_secret"],
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "return_url": request.build_absolute_uri(reverse("billing:billing_home")),
        },
    )


@login_required
@require_POST
def card_remove(request, payment_method_id):
    method = selectors.payment_method_get_for_member(member=request.user, payment_method_id=payment_method_id)
    try:
        services.card_remove(member=request.user, payment_method_id=method.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Removed {method}.")
    return redirect("billing:billing_home")


@login_required
@require_POST
def card_make_default(request, payment_method_id):
    method = selectors.payment_method_get_for_member(member=request.user, payment_method_id=payment_method_id)
    services.card_make_default(member=request.user, payment_method_id=method.pk)
    messages.success(request, f"{method} is now your default card.")
    return redirect("billing:billing_home")


@login_required
def payment_complete(request, payment_id):
    """The member confirms a payment their bank wanted authenticated (Stripe.js handles 3-D Secure)."""
    payment = selectors.payment_get_for_member(member=request.user, payment_id=payment_id)
    client_secret = ""
    if payment.needs_action and payment.stripe_payment_intent_id and not payment.is_paid:
        try:
            intent = stripe_client.payment_intent_retrieve(payment_intent_id=payment.stripe_payment_intent_id)
            client_secret = intent.get("client_secret", "")
        except stripe_client.StripeCallError as exc:
            logger.warning("could not load payment %s for confirmation: %s", payment.pk, exc.summary)
            messages.error(request, "We couldn't reach our payment provider. Please try again in a minute.")
    return render(
        request,
        "billing/payment_complete.html",
        {
            "payment": payment,
            "client_secret": client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "return_url": request.build_absolute_uri(reverse("billing:checkout_return", args=[payment.pk])),
        },
    )
