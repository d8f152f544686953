"""Reminder kinds become offset labels (BLOOM_APPOINTMENT_REMINDER_OFFSETS, e.g. 48h and 2h); the
old "24h"/"1h" rows still match. Each log row names the session time it was for (back-filled from
the appointment), so a session moved in place gets reminders for its new time; a reminder not sent
on purpose keeps why (docs/adr/0210)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0004_booking_policy"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="appointmentreminderlog",
            name="appointment_reminder_logs_once",
        ),
        migrations.RemoveConstraint(
            model_name="appointmentreminderlog",
            name="appointment_reminder_logs_kind_valid",
        ),
        migrations.AddField(
            model_name="appointmentreminderlog",
            name="session_starts_at",
            field=models.DateTimeField(
                blank=True, help_text="The session time this reminder was for (it may have moved since).", null=True
            ),
        ),
        migrations.RunSQL(
            sql=(
                "UPDATE appointment_reminder_logs AS log SET session_starts_at = a.starts_at "
                "FROM appointment_data AS a WHERE log.appointment_id = a.id AND log.session_starts_at IS NULL"
            ),
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddField(
            model_name="appointmentreminderlog",
            name="skipped_reason",
            field=models.TextField(blank=True, default="", help_text="Why this reminder was not sent, if it was not."),
        ),
        migrations.AlterField(
            model_name="appointmentreminderlog",
            name="kind",
            field=models.CharField(help_text="The offset before the session, e.g. 48h or 2h.", max_length=8),
        ),
        migrations.AddConstraint(
            model_name="appointmentreminderlog",
            constraint=models.UniqueConstraint(
                fields=("appointment", "kind", "channel", "session_starts_at"),
                name="appointment_reminder_logs_once",
                nulls_distinct=False,
            ),
        ),
        migrations.AddConstraint(
            model_name="appointmentreminderlog",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__regex", "^[1-9][0-9]{0,3}[mhd]$")),
                name="appointment_reminder_logs_kind_valid",
            ),
        ),
    ]
