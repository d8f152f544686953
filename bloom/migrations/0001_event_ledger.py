"""The append-only event ledger and its guard against UPDATE, DELETE and TRUNCATE (docs/adr/0160)."""

from django.db import migrations, models

import bloom.ledger


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="LedgerEvent",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("occurred_at", models.DateTimeField(db_default=bloom.ledger.ClockTimestamp(), editable=False)),
                ("entity_table", models.TextField()),
                ("entity_id", models.UUIDField()),
                (
                    "subject_id",
                    models.UUIDField(blank=True, help_text="The member's UUID (no foreign key).", null=True),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("opened", "Already there when the ledger began"),
                            ("created", "Row created"),
                            ("changed", "State or money changed"),
                            ("deleted", "Row deleted"),
                        ],
                        max_length=10,
                    ),
                ),
                ("from_state", models.TextField(blank=True, null=True)),
                ("to_state", models.TextField(blank=True, null=True)),
                ("amount", models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True)),
                ("amount_refunded", models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True)),
                ("currency", models.CharField(blank=True, max_length=3, null=True)),
                (
                    "actor",
                    models.TextField(
                        blank=True, db_default="", default="", help_text="Who caused it: a user UUID or a process name."
                    ),
                ),
                (
                    "source",
                    models.TextField(
                        blank=True, db_default="", default="", help_text="web, task, admin, migration ..."
                    ),
                ),
                (
                    "context_id",
                    models.TextField(blank=True, db_default="", default="", help_text="Request or task id."),
                ),
                (
                    "txid",
                    models.BigIntegerField(
                        blank=True, db_default=bloom.ledger.TxidCurrent(), editable=False, null=True
                    ),
                ),
            ],
            options={
                "db_table": "event_ledger",
                "ordering": ["id"],
                "indexes": [models.Index(fields=["entity_table", "entity_id", "id"], name="event_ledger_entity")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", ["opened", "created", "changed", "deleted"])),
                        name="event_ledger_kind_valid",
                    )
                ],
            },
        ),
        migrations.RunSQL(bloom.ledger.GUARD_SQL, reverse_sql=bloom.ledger.GUARD_REVERSE_SQL),
    ]
