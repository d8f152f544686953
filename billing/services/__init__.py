"""Writes of the payment service, one module per sub-domain (docs/adr/0110).

- `base`: errors, the member-facing card messages, Stripe metadata;
- `payments`: a payment's state, with its row lock taken in one place (`payments._lock`):
  paid, failed, canceled, needs action, disputes, Stripe's ids;
- `checkout`: Stripe Checkout Sessions;
- `cards`: saved cards, authorise-then-capture, off-session charges;
- `stripe_checks` / `stripe_check_runs`: requests whose outcome is unknown, recorded and
  asked about again;
- `refunds`: members' requests, staff decisions, refunds Stripe reports.

Every state change of a payment goes through these services and takes the payment's row
lock, so a webhook, a retry and a staff action racing on the same payment apply in turn.
Purchase-kind handlers (billing/registry.py) run inside that lock and transaction. Calls to
Stripe go through billing/stripe_client.py and are made outside row locks where possible.

This package re-exports its public API, so callers keep `from billing import services`;
reads are in billing/selectors.py.
"""

from .base import (
    AUTHORIZE_WINDOW,
    CARD_DECLINED_MESSAGE,
    PROVIDER_UNREACHABLE,
    CheckoutStart,
    CheckoutUnavailable,
    PaymentOutcomeUnknown,
    card_error_message,
)
from .cards import (
    REQUEST_KEY,
    card_detached,
    card_make_default,
    card_remove,
    card_save,
    card_setup_start,
    customer_ensure,
    payment_authorize,
    payment_capture,
    payment_charge_off_session,
    payment_release,
    stripe_captured_amount,
)
from .checkout import (
    checkout_start,
)
from .payments import (
    DISPUTE_OUTCOMES,
    payment_attempt_failure_note,
    payment_dispute_closed,
    payment_flag_disputed,
    payment_mark_succeeded,
    payment_needs_action_flag,
    payment_status_apply,
    payment_stripe_ids_link,
)
from .refunds import (
    payment_refund_apply,
    refund_approve,
    refund_charge_total_apply,
    refund_deny,
    refund_request_create,
    refund_sync,
)
from .stripe_check_runs import (
    payment_checks_run_now,
    stripe_check_run,
    stripe_checks_reconcile,
)
from .stripe_checks import (
    CHECK_LEASE,
    IDEMPOTENCY_WINDOW,
)

__all__ = [
    "AUTHORIZE_WINDOW",
    "CARD_DECLINED_MESSAGE",
    "CheckoutStart",
    "CheckoutUnavailable",
    "PROVIDER_UNREACHABLE",
    "PaymentOutcomeUnknown",
    "card_error_message",
    "DISPUTE_OUTCOMES",
    "payment_attempt_failure_note",
    "payment_dispute_closed",
    "payment_flag_disputed",
    "payment_mark_succeeded",
    "payment_needs_action_flag",
    "payment_status_apply",
    "payment_stripe_ids_link",
    "checkout_start",
    "REQUEST_KEY",
    "card_detached",
    "card_make_default",
    "card_remove",
    "card_save",
    "card_setup_start",
    "customer_ensure",
    "payment_authorize",
    "payment_capture",
    "payment_charge_off_session",
    "payment_release",
    "stripe_captured_amount",
    "CHECK_LEASE",
    "IDEMPOTENCY_WINDOW",
    "payment_checks_run_now",
    "stripe_check_run",
    "stripe_checks_reconcile",
    "payment_refund_apply",
    "refund_approve",
    "refund_charge_total_apply",
    "refund_deny",
    "refund_request_create",
    "refund_sync",
]
