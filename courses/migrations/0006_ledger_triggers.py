"""The event ledger follows this app's money and access tables (docs/adr/0160)."""

from django.db import migrations

from bloom.ledger import trigger_operations


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0005_course_progress_plural"),
        ("bloom", "0001_event_ledger"),
    ]

    operations = [
        *trigger_operations("course_enrollments"),
    ]
