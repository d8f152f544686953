"""The audit trail (docs/adr/0310): the table, its append-only guard and the generic trigger
function. The triggers themselves are attached after every `migrate` by
bloom.audit.audit_triggers_install (post_migrate), so tables added later get them too."""

from django.db import migrations, models

import bloom.ledger
from bloom import audit


def _digest_function(apps, schema_editor):
    # The digest key comes from settings, so it is never written into this file.
    schema_editor.execute(audit.digest_function_sql())


class Migration(migrations.Migration):
    dependencies = [
        ("bloom", "0002_warehouse"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("occurred_at", models.DateTimeField(db_default=bloom.ledger.ClockTimestamp(), editable=False)),
                ("table_name", models.TextField()),
                ("row_pk", models.TextField()),
                (
                    "operation",
                    models.CharField(
                        choices=[
                            ("INSERT", "Added"),
                            ("UPDATE", "Changed"),
                            ("DELETE", "Deleted"),
                            ("READ", "Read by staff"),
                        ],
                        max_length=6,
                    ),
                ),
                (
                    "actor_user_id",
                    models.UUIDField(blank=True, help_text="Who did it (a user id, no foreign key).", null=True),
                ),
                (
                    "actor_kind",
                    models.CharField(
                        choices=[
                            ("staff", "Staff"),
                            ("member", "Member"),
                            ("visitor", "Visitor (not signed in)"),
                            ("webhook", "Webhook"),
                            ("task", "Background task"),
                            ("command", "Management command"),
                            ("shell", "Shell (manage.py shell, psql)"),
                            ("system", "System (no context)"),
                        ],
                        db_default="system",
                        default="system",
                        max_length=10,
                    ),
                ),
                (
                    "actor_label",
                    models.TextField(
                        blank=True, db_default="", default="", help_text="Task, command or provider name."
                    ),
                ),
                (
                    "source",
                    models.TextField(
                        blank=True, db_default="", default="", help_text="IP address, task id or program."
                    ),
                ),
                ("request_id", models.TextField(blank=True, db_default="", default="")),
                (
                    "subject_user_id",
                    models.UUIDField(blank=True, help_text="Whose data (a user id, no foreign key).", null=True),
                ),
                ("changed_columns", models.JSONField(blank=True, null=True)),
                ("before", models.JSONField(blank=True, null=True)),
                ("after", models.JSONField(blank=True, null=True)),
                ("txid", models.BigIntegerField(blank=True, db_default=bloom.ledger.TxidCurrent(), null=True)),
            ],
            options={
                "verbose_name": "audit trail entry",
                "verbose_name_plural": "audit trail",
                "permissions": [("export_auditentry", "Can export the audit trail as CSV")],
                "db_table": "audit_trail",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["subject_user_id", "occurred_at"], name="audit_trail_subject"),
                    models.Index(fields=["table_name", "row_pk"], name="audit_trail_record"),
                    models.Index(fields=["actor_user_id", "occurred_at"], name="audit_trail_actor"),
                    models.Index(fields=["occurred_at"], name="audit_trail_occurred"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("operation__in", ["INSERT", "UPDATE", "DELETE", "READ"])),
                        name="audit_trail_operation_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "actor_kind__in",
                                ["staff", "member", "visitor", "webhook", "task", "command", "shell", "system"],
                            )
                        ),
                        name="audit_trail_actor_kind_valid",
                    ),
                ],
            },
        ),
        migrations.RunPython(_digest_function, migrations.RunPython.noop),
        migrations.RunSQL(audit.FUNCTION_SQL, reverse_sql=audit.FUNCTION_REVERSE_SQL),
        migrations.RunSQL(audit.GUARD_SQL, reverse_sql=audit.GUARD_REVERSE_SQL),
    ]
