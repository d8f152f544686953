"""Profile stage and dates and wellness scores encrypted at rest (docs/adr/0330); reversible."""

from django.db import migrations

import bloom.crypto


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0040_encrypt_health_fields"),
    ]

    operations = [
        # The columns are text now (their values cast); replace each value by its token.
        bloom.crypto.columns_encrypt_operation("user_profiles", "stage", "due_date", "baby_birth_date"),
        bloom.crypto.columns_encrypt_operation(
            "wellness_entries", "mood", "anxiety", "energy", "support", "sleep_hours"
        ),
    ]
