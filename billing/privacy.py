"""Billing's part of the personal-data registry (bloom/privacy.py; docs/adr/0320), and dj-stripe's
mirror of Stripe: Stripe is the processor and keeps its own records; our mirror keeps the rows
our payment records point at with her email and name redacted from their JSON."""

from __future__ import annotations

from django.apps import apps

from bloom.privacy import MENTIONS, Erase, PersonalDataEntry, privacy_not_personal, privacy_register

PAYMENT = (
    "A payment record: tax and accounting law (US IRS 26 CFR 1.6001-1, UK HMRC six years) keeps it; "
    "kept on the anonymous account with her email and name redacted."
)


def register() -> None:
    user = ("user",)
    privacy_register(
        PersonalDataEntry("billing.BillingCustomer", user, Erase.KEEP_PSEUDONYMISED, reason=PAYMENT),
        PersonalDataEntry("billing.PaymentIntent", (*user, MENTIONS), Erase.KEEP_PSEUDONYMISED, reason=PAYMENT),
        PersonalDataEntry("billing.RefundRequest", user, Erase.KEEP_PSEUDONYMISED, reason=PAYMENT),
        PersonalDataEntry("billing.UserPaymentMethod", user, Erase.DELETE),
        PersonalDataEntry("billing.StripeCheck", (MENTIONS,), Erase.ANONYMISE),
        PersonalDataEntry("billing.StripeWebhookEvent", (MENTIONS,), Erase.ANONYMISE),
    )
    privacy_not_personal("billing.UserPaymentSummary", "A read-only database view over registered payment tables.")
    for model in apps.get_app_config("djstripe").get_models():
        privacy_register(
            PersonalDataEntry(
                model._meta.label, (MENTIONS,), Erase.KEEP_PSEUDONYMISED, reason=PAYMENT, private=("stripe_data",)
            )
        )
