"""The event ledger follows this app's money and access tables (docs/adr/0160)."""

from django.db import migrations

from bloom.ledger import trigger_operations


class Migration(migrations.Migration):
    dependencies = [
        ("workshops", "0003_attendance_from_connections"),
        ("bloom", "0001_event_ledger"),
    ]

    operations = [
        *trigger_operations("workshop_registrations"),
    ]
