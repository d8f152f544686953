"""The event ledger follows this app's money and access tables (docs/adr/0160)."""

from django.db import migrations

from bloom.ledger import trigger_operations


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0002_seed_now_default"),
        ("bloom", "0001_event_ledger"),
    ]

    operations = [
        *trigger_operations("appointment_data"),
        *trigger_operations("appointment_payments"),
    ]
