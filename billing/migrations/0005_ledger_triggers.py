"""The event ledger follows this app's money and access tables (docs/adr/0160)."""

from django.db import migrations

from bloom.ledger import trigger_operations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_stripe_checks"),
        ("bloom", "0001_event_ledger"),
    ]

    operations = [
        *trigger_operations("payment_intents"),
        *trigger_operations("refund_requests"),
    ]
