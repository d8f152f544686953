"""Calendly intake answers out of the stored payloads, into an encrypted column (docs/adr/0330); reversible."""

import json

from django.db import migrations

import bloom.crypto


def intake_answers_extract(apps, schema_editor):
    """Move each stored `payload.questions_and_answers` into `intake_answers`, encrypted."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, (event_data->'payload'->'questions_and_answers')::text FROM calendly_webhook_events "
            "WHERE jsonb_typeof(event_data->'payload') = 'object' AND event_data->'payload' ? 'questions_and_answers'"
        )
        rows = cursor.fetchall()
        cursor.executemany(
            "UPDATE calendly_webhook_events SET intake_answers = %s, "
            "event_data = event_data #- '{payload,questions_and_answers}' WHERE id = %s",
            [(bloom.crypto.encrypt_text(json.dumps(json.loads(answers), sort_keys=True)), pk) for pk, answers in rows],
        )


def intake_answers_restore(apps, schema_editor):
    """Put the decrypted answers back into each payload (before the column goes)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, intake_answers FROM calendly_webhook_events WHERE intake_answers IS NOT NULL")
        rows = cursor.fetchall()
        cursor.executemany(
            "UPDATE calendly_webhook_events SET event_data = jsonb_set(event_data, "
            "'{payload,questions_and_answers}', %s::jsonb) WHERE id = %s",
            [(bloom.crypto.decrypt_text(token), pk) for pk, token in rows],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0009_payment_capture_amount"),
    ]

    operations = [
        migrations.AddField(
            model_name="calendlywebhookevent",
            name="intake_answers",
            field=bloom.crypto.EncryptedJSONField(blank=True, null=True),
        ),
        migrations.RunPython(intake_answers_extract, intake_answers_restore),
    ]
