"""Screening score, band and timeline place, and risk alert texts encrypted at rest (docs/adr/0330); reversible."""

from django.db import migrations

import bloom.crypto


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0042_encrypt_screening_and_risk_fields"),
    ]

    operations = [
        bloom.crypto.columns_encrypt_operation(
            "screening_responses", "total", "band", "perinatal_stage", "perinatal_week"
        ),
        bloom.crypto.columns_encrypt_operation("risk_alerts", "reason", "acknowledgement_note"),
    ]
