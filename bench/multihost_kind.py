"""The purchase kind of bench/multihost.py's payments, imported by its workers (CELERY_IMPORTS).

Its `on_paid` runs inside billing's transaction, under the payment row lock, once per payment
that moves to paid (billing.services.payment_mark_succeeded). It appends a row to the run's
own table `multihost_on_paid`, which has no unique key: a payment whose event was applied
twice would show there twice, and a rolled-back application leaves nothing.
"""

from django.db import connection

from billing.registry import register_purchase_kind

KIND = "multihost_bench"


def on_paid(*, payment) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO multihost_on_paid (payment_id) VALUES (%s)", [str(payment.pk)])


register_purchase_kind(KIND, on_paid=on_paid)
