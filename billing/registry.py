"""Purchase kinds: how billing reports outcomes to the app that sells the thing.

Domain apps (courses, workshops, appointments) register their kind in AppConfig.ready():

    register_purchase_kind(
        "course_enrollment",
        on_paid=enrollment_payment_succeeded,      # (*, payment: PaymentIntent) -> None
        on_failed=enrollment_payment_failed,       # (*, payment: PaymentIntent) -> None
        on_refunded=enrollment_payment_refunded,   # (*, payment, refund_amount: Decimal, fully_refunded: bool) -> None
    )

Handlers run inside billing's transaction while it holds the payment row lock, so their
writes commit or roll back with billing's; they must be idempotent (a handler may be
called again for the same payment after a retry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PurchaseKind:
    kind: str
    on_paid: Callable[..., None]
    on_failed: Callable[..., None] | None = None
    on_refunded: Callable[..., None] | None = None


_kinds: dict[str, PurchaseKind] = {}


def register_purchase_kind(
    kind: str,
    *,
    on_paid: Callable[..., None],
    on_failed: Callable[..., None] | None = None,
    on_refunded: Callable[..., None] | None = None,
) -> None:
    _kinds[kind] = PurchaseKind(kind=kind, on_paid=on_paid, on_failed=on_failed, on_refunded=on_refunded)


def purchase_kind_get(kind: str) -> PurchaseKind | None:
    return _kinds.get(kind)


def purchase_kinds() -> dict[str, PurchaseKind]:
    return dict(_kinds)
