"""The live database matches the seed (`shared/seed/bloom-schema-analysis.md`); docs/adr/0080.

Every table and view the seed names exists (auth.users is `users`); section 3 columns by type,
nullability, database default and DECIMAL(10,2); its uniques and check; every REFERENCES of
sections 3 and 4A with its ON DELETE; the section 4B indexes by name (the partial one by its
predicate); the section 2 missing components and section 5 recommendations; soft delete (4C);
every view answers. Two tests parse the seed itself so these lists cannot fall behind it.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

pytestmark = pytest.mark.django_db

# CI and every checkout have shared/ beside the repository.
SEED_PATH = Path(settings.BASE_DIR).parent / "shared" / "seed" / "bloom-schema-analysis.md"

UUID_PK = ("uuid", False, "gen_random_uuid()")
CREATED_AT = ("timestamp with time zone", True, "now()")
TSTZ = ("timestamp with time zone", True, None)
TEXT_NULL = ("text", True, None)
TEXT_NOT_NULL = ("text", False, None)
BOOL_FALSE = ("boolean", True, "false")

# table -> column -> (data_type, is_nullable, column_default)
SECTION_3_TABLES = {
    "stripe_webhook_events": {
        "id": UUID_PK,
        "stripe_event_id": TEXT_NOT_NULL,
        "event_type": TEXT_NOT_NULL,
        "event_data": ("jsonb", False, None),
        "processed": BOOL_FALSE,
        "processed_at": TSTZ,
        "error_message": TEXT_NULL,
        "created_at": CREATED_AT,
    },
    "calendly_webhook_events": {
        "id": UUID_PK,
        "event_uuid": TEXT_NOT_NULL,
        "event_type": TEXT_NOT_NULL,
        "event_data": ("jsonb", False, None),
        "processed": BOOL_FALSE,
        "processed_at": TSTZ,
        "error_message": TEXT_NULL,
        "created_at": CREATED_AT,
    },
    "user_notifications": {
        "id": UUID_PK,
        "user_id": ("uuid", True, None),
        "type": TEXT_NOT_NULL,
        "title": TEXT_NOT_NULL,
        "message": TEXT_NULL,
        "data": ("jsonb", True, "'{}'::jsonb"),
        "read": BOOL_FALSE,
        "read_at": TSTZ,
        "created_at": CREATED_AT,
    },
    "email_campaign_metrics": {
        "id": UUID_PK,
        "campaign_id": ("uuid", True, None),
        "email_id": ("uuid", True, None),
        "recipient_email": TEXT_NOT_NULL,
        "sent_at": TSTZ,
        "opened_at": TSTZ,
        "clicked_at": TSTZ,
        "unsubscribed_at": TSTZ,
        "bounced_at": TSTZ,
        "bounce_type": TEXT_NULL,
        "click_data": ("jsonb", True, "'[]'::jsonb"),
    },
    "course_discount_codes": {
        "id": UUID_PK,
        "code": TEXT_NOT_NULL,
        "discount_type": TEXT_NULL,
        "discount_value": ("numeric", False, None),
        "course_id": ("uuid", True, None),
        "max_uses": ("integer", True, None),
        "uses_count": ("integer", True, "0"),
        "valid_from": CREATED_AT,
        "valid_until": TSTZ,
        "created_at": CREATED_AT,
    },
    "therapist_profiles": {
        "id": UUID_PK,
        "user_id": ("uuid", True, None),
        "calendly_user_uri": TEXT_NULL,
        "specialties": ("ARRAY", True, None),
        "bio": TEXT_NULL,
        "hourly_rate": ("numeric", True, None),
        "is_accepting_clients": ("boolean", True, "true"),
        "created_at": CREATED_AT,
    },
}

# Columns section 3 and section 4A add to existing tables.
ADDED_COLUMNS = {
    "user_profiles": {
        "email_verified": BOOL_FALSE,
        "email_verified_at": TSTZ,
        "onboarding_completed": BOOL_FALSE,
        "onboarding_completed_at": TSTZ,
        "referral_source": TEXT_NULL,
        "marketing_consent": ("boolean", True, "true"),
    },
    "course_enrollments": {
        "discount_code_used": TEXT_NULL,
        "discount_amount": ("numeric", True, None),
        "affiliate_id": TEXT_NULL,
        "access_revoked_at": TSTZ,
    },
    "appointment_data": {
        "therapist_id": ("uuid", True, None),
        "zoom_meeting_url": TEXT_NULL,
        "session_notes_id": ("uuid", True, None),
    },
}

# The seed writes Supabase's `auth.users`; here the users table stands in for it.
SEED_NAME_TO_TABLE = {"auth.users": "users"}

# (table, column) -> (referenced table, referenced column, ON DELETE action in pg_constraint.confdeltype)
# Every REFERENCES of seed sections 3 and 4A; only user_notifications says ON DELETE CASCADE ("c").
FOREIGN_KEYS = {
    ("user_notifications", "user_id"): ("users", "id", "c"),
    ("email_campaign_metrics", "email_id"): ("email_queue", "id", "a"),
    ("course_discount_codes", "course_id"): ("courses", "id", "a"),
    ("therapist_profiles", "user_id"): ("users", "id", "a"),
    ("appointment_data", "therapist_id"): ("therapist_profiles", "id", "a"),
    ("blog_posts", "author_id"): ("admin_users", "id", "a"),
    ("course_users", "auth_user_id"): ("users", "id", "a"),
}

# Every table or view the seed names, section by section (auth.users: see SEED_NAME_TO_TABLE).
SEED_SECTION_1 = {
    "A": [
        "user_profiles",
        "user_achievements",
        "wellness_entries",
        "user_preferences",
        "course_enrollments",
        "appointment_data",
    ],
    "B": ["appointment_payments", "user_payment_methods", "user_payment_summary"],
    "C": [
        "course_progress",
        "lesson_completion_details",
        "course_milestones",
        "course_activity_log",
        "course_certificates",
        "user_course_stats",
    ],
    "D": [
        "workshop_registrations",
        "workshop_attendance",
        "workshop_feedback",
        "workshop_resources",
        "workshop_series",
        "user_workshop_series_progress",
    ],
    "E": [
        "admin_users",
        "admin_sessions",
        "admin_activity_log",
        "blog_posts",
        "subscribers",
        "analytics_events",
        "contact_submissions",
        "career_applications",
        "chat_conversations",
        "email_queue",
    ],
    "F": [
        "courses",
        "course_modules",
        "course_lessons",
        "course_resources",
        "course_content_versions",
        "course_overview",
    ],
    "G": ["email_sequences", "sequence_emails", "email_automation_logs", "email_templates"],
}
SEED_OTHER_NAMES = [
    # Section 2 (bold "missing" tables) and section 3 CREATE TABLE.
    "stripe_webhook_events",
    "payment_intents",
    "refund_requests",
    "calendly_webhook_events",
    "user_notifications",
    "email_campaign_metrics",
    "course_discount_codes",
    "therapist_profiles",
    # Section 4A.
    "course_users",
    "auth.users",
]
SEED_NAMES = [name for group in SEED_SECTION_1.values() for name in group] + SEED_OTHER_NAMES

# Section 2 "Missing Components" without a table name in the seed, and where each lives.
# (description, table, columns that must exist on it)
SECTION_2_GAPS = [
    ("A: email verification tracking", "user_profiles", ["email_verified", "email_verified_at"]),
    ("A: onboarding completion status", "user_profiles", ["onboarding_completed", "onboarding_completed_at"]),
    ("A: welcome email trigger integration", "email_sequences", ["trigger"]),
    ("B: stripe_webhook_events", "stripe_webhook_events", ["stripe_event_id"]),
    ("B: payment_intents", "payment_intents", ["user_id", "amount", "currency", "status"]),
    ("B: refund_requests", "refund_requests", ["payment_id", "status"]),
    ("B: course coupon/discount codes", "course_discount_codes", ["code"]),
    ("D: Zoom integration webhook table", "zoom_webhook_events", ["event_type", "processed"]),
    ("D: workshop waitlist management", "workshop_waitlist", ["workshop_id", "user_id", "status"]),
    ("D: workshop payment integration", "workshop_registrations", ["payment_id"]),
    ("D: the workshop catalog the flows need", "workshops", ["starts_at", "capacity"]),
    ("E: calendly_webhook_events", "calendly_webhook_events", ["event_uuid"]),
    ("E: appointment reminder logs", "appointment_reminder_logs", ["appointment_id"]),
    ("E: therapist availability", "therapist_availability", ["therapist_id", "weekday", "start_time", "end_time"]),
    ("F: admin role permissions", "admin_roles", ["name"]),
    ("F: admin role permissions", "admin_role_permissions", ["role_id", "permission_id"]),
    ("F: content approval workflow", "content_approvals", ["post_id", "decision"]),
]
# FKs that tie the section 2 tables into the flows: (table, column) -> referenced table.
SECTION_2_FOREIGN_KEYS = {
    ("payment_intents", "user_id"): "users",
    ("refund_requests", "payment_id"): "payment_intents",
    ("workshop_registrations", "workshop_id"): "workshops",
    ("workshop_registrations", "payment_id"): "payment_intents",
    ("workshop_waitlist", "workshop_id"): "workshops",
    ("appointment_reminder_logs", "appointment_id"): "appointment_data",
    ("therapist_availability", "therapist_id"): "therapist_profiles",
    ("admin_role_permissions", "role_id"): "admin_roles",
    ("content_approvals", "post_id"): "blog_posts",
    ("appointment_payments", "appointment_id"): "appointment_data",
    ("course_enrollments", "course_id"): "courses",
    ("course_progress", "enrollment_id"): "course_enrollments",
    ("course_progress", "lesson_id"): "course_lessons",
}

# Section 5 recommendations that are tables (blog version history, subscriber segment membership):
# (table, column) -> referenced table.
SECTION_5_TABLES = {
    ("blog_post_versions", "post_id"): "blog_posts",
    ("subscriber_segment_members", "segment_id"): "subscriber_segments",
    ("subscriber_segment_members", "subscriber_id"): "subscribers",
}

# Section 4C: soft delete on the entities members hold rows against (issue #3 point 7).
SOFT_DELETE_TABLES = [
    "courses",
    "course_modules",
    "course_lessons",
    "workshops",
    "blog_posts",
    "therapist_profiles",
    "email_templates",
]

# DECIMAL(10,2) columns of section 3.
DECIMAL_10_2 = [
    ("course_discount_codes", "discount_value"),
    ("therapist_profiles", "hourly_rate"),
    ("course_enrollments", "discount_amount"),
]

VIEWS = ["user_payment_summary", "user_course_stats", "course_overview"]

# Base tables: every seed name that is not a view, plus where the section 2 gaps and section 5 live.
REQUIRED_TABLES = [SEED_NAME_TO_TABLE.get(name, name) for name in SEED_NAMES if name not in VIEWS] + sorted(
    {table for _, table, _ in SECTION_2_GAPS}
    | {table for table, _ in SECTION_5_TABLES}
    | set(SECTION_5_TABLES.values())
)
# Section 5 recommendations that are columns: table -> column -> data type.
RECOMMENDED_COLUMNS = {
    "admin_users": {"last_password_change": "timestamp with time zone", "two_factor_enabled": "boolean"},
    "email_queue": {"retry_count": "integer", "priority": "smallint"},
    "blog_posts": {"view_count": "integer", "seo_score": "smallint"},
    "subscribers": {"engagement_score": "smallint"},
    "analytics_events": {"category": "character varying", "session_id": "character varying"},
}

SECTION_4B_INDEXES = {
    "idx_appointment_payments_created_at": ("appointment_payments", "(created_at DESC)"),
    "idx_stripe_webhook_events_type": ("stripe_webhook_events", "(event_type)"),
    "idx_stripe_webhook_events_processed": ("stripe_webhook_events", "(processed)"),
    "idx_user_notifications_user_read": ("user_notifications", "(user_id, read)"),
    "idx_course_progress_completed": ("course_progress", "(user_id, status) WHERE (status = 'completed'"),
}


def _columns(table: str) -> dict[str, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT column_name, data_type, is_nullable = 'YES', column_default
            FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s
            """,
            [table],
        )
        return {name: (dtype, nullable, default) for name, dtype, nullable, default in cursor.fetchall()}


def _normalise_default(default: str | None) -> str | None:
    return default.replace("::text", "") if default else default


@pytest.mark.parametrize("table", sorted(SECTION_3_TABLES))
def test_section_3_table_columns_match_the_seed(table):
    actual = _columns(table)
    assert actual, f"table {table} does not exist"
    for column, (dtype, nullable, default) in SECTION_3_TABLES[table].items():
        assert column in actual, f"{table}.{column} is missing"
        got_type, got_nullable, got_default = actual[column]
        assert got_type == dtype, f"{table}.{column} type {got_type} != {dtype}"
        assert got_nullable == nullable, f"{table}.{column} nullable {got_nullable} != {nullable}"
        assert _normalise_default(got_default) == default, f"{table}.{column} default {got_default!r} != {default!r}"


@pytest.mark.parametrize("table", sorted(ADDED_COLUMNS))
def test_section_3_added_columns_exist_with_the_seed_types(table):
    actual = _columns(table)
    for column, (dtype, nullable, default) in ADDED_COLUMNS[table].items():
        assert column in actual, f"{table}.{column} is missing"
        assert actual[column][0] == dtype
        assert actual[column][1] == nullable
        assert _normalise_default(actual[column][2]) == default


def test_unique_columns_of_section_3():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc
            JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name
            WHERE tc.constraint_type = 'UNIQUE' AND tc.table_schema = 'public'
            """
        )
        uniques = set(cursor.fetchall())
    assert ("stripe_webhook_events", "stripe_event_id") in uniques
    assert ("calendly_webhook_events", "event_uuid") in uniques
    assert ("course_discount_codes", "code") in uniques


def _foreign_key(table: str, column: str) -> list[tuple[str, str, str]]:
    """(referenced table, referenced column, ON DELETE code) of every FK on table.column."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT ref.relname, refatt.attname, c.confdeltype FROM pg_constraint c
            JOIN pg_class src ON src.oid = c.conrelid
            JOIN pg_attribute att ON att.attrelid = c.conrelid AND att.attnum = c.conkey[1]
            JOIN pg_class ref ON ref.oid = c.confrelid
            JOIN pg_attribute refatt ON refatt.attrelid = c.confrelid AND refatt.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND src.relname = %s AND att.attname = %s AND cardinality(c.conkey) = 1
            """,
            [table, column],
        )
        return [(ref, refcol, str(action)) for ref, refcol, action in cursor.fetchall()]


@pytest.mark.parametrize(("table", "column"), sorted(FOREIGN_KEYS))
def test_foreign_keys_named_by_the_seed(table, column):
    assert FOREIGN_KEYS[(table, column)] in _foreign_key(table, column)


@pytest.mark.parametrize(("table", "column"), sorted(SECTION_2_FOREIGN_KEYS))
def test_section_2_tables_are_tied_into_the_flows(table, column):
    assert SECTION_2_FOREIGN_KEYS[(table, column)] in [ref for ref, _, _ in _foreign_key(table, column)]


def test_user_notifications_cascade_when_the_user_row_goes():
    """The one ON DELETE the seed writes, exercised in SQL (not only Django's collector)."""
    from tests.factories.notifications import UserNotificationFactory

    notice = UserNotificationFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DELETE FROM user_notifications WHERE user_id <> %s", [notice.user_id])
        cursor.execute("SELECT count(*) FROM user_notifications WHERE id = %s", [notice.pk])
        assert cursor.fetchone() == (1,)
        # Remove the user's other rows that PROTECT/NO ACTION would keep, then the user itself.
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass AND c.confdeltype <> 'c'
            """
        )
        for referencing, column in cursor.fetchall():
            cursor.execute(f'DELETE FROM "{referencing}" WHERE "{column}" = %s', [notice.user_id])  # noqa: S608
        cursor.execute("DELETE FROM users WHERE id = %s", [notice.user_id])
        cursor.execute("SELECT count(*) FROM user_notifications WHERE id = %s", [notice.pk])
        assert cursor.fetchone() == (0,)


def test_every_seed_table_exists():
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        tables = {row[0] for row in cursor.fetchall()}
    missing = sorted(set(REQUIRED_TABLES) - tables)
    assert not missing, f"missing tables: {missing}"


@pytest.mark.parametrize("table", sorted(RECOMMENDED_COLUMNS))
def test_section_5_recommended_columns(table):
    actual = _columns(table)
    for column, dtype in RECOMMENDED_COLUMNS[table].items():
        assert column in actual, f"{table}.{column} is missing"
        assert actual[column][0] == dtype, f"{table}.{column} type {actual[column][0]} != {dtype}"


@pytest.mark.parametrize("name", sorted(SECTION_4B_INDEXES))
def test_section_4b_indexes_exist_under_the_seed_names(name):
    table, fragment = SECTION_4B_INDEXES[name]
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    assert row is not None, f"index {name} is missing"
    assert row[0] == table
    # PostgreSQL prints `status = 'completed'` on a varchar as `((status)::text = 'completed'::text)`.
    columns, _, predicate = re.sub(r"::(text|character varying)", "", row[1]).partition(" WHERE ")
    definition = columns + (" WHERE " + re.sub(r"\((\w+)\)", r"\1", predicate) if predicate else "")
    assert fragment in definition, row[1]


@pytest.mark.parametrize("view", VIEWS)
def test_views_exist_and_answer(view):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.views WHERE table_schema = 'public' AND table_name = %s", [view]
        )
        assert cursor.fetchone() is not None, f"view {view} is missing"
        cursor.execute(f"SELECT * FROM {view} LIMIT 1")  # noqa: S608 (fixed names)
        assert cursor.description is not None


@pytest.mark.parametrize(("table", "column"), DECIMAL_10_2)
def test_money_columns_are_decimal_10_2(table, column):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = %s AND column_name = %s
            """,
            [table, column],
        )
        assert cursor.fetchone() == ("numeric", 10, 2)


def test_discount_type_check_rejects_a_value_outside_the_seed_list():
    with connection.cursor() as cursor:
        for accepted in ("percentage", "fixed", None):
            cursor.execute(
                "INSERT INTO course_discount_codes (code, discount_type, discount_value) VALUES (%s, %s, 5)",
                [f"OK-{accepted}", accepted],
            )
        with pytest.raises(IntegrityError, match="course_discount_codes"), transaction.atomic():
            cursor.execute(
                "INSERT INTO course_discount_codes (code, discount_type, discount_value) VALUES ('BAD', 'bogus', 5)"
            )


# An INSERT that names only what the seed's DDL requires; the database fills in the rest.
SEED_SHAPED_INSERTS = {
    "stripe_webhook_events": ("stripe_event_id, event_type, event_data", "'evt_1', 'charge.succeeded', '{}'"),
    "calendly_webhook_events": ("event_uuid, event_type, event_data", "'ev-1', 'invitee.created', '{}'"),
    "user_notifications": ("type, title", "'welcome', 'Hello'"),
    "email_campaign_metrics": ("recipient_email", "'a@example.com'"),
    "course_discount_codes": ("code, discount_value", "'SEED10', 10"),
}


@pytest.mark.parametrize("table", sorted(SEED_SHAPED_INSERTS))
def test_a_seed_shaped_insert_gets_the_seed_defaults_from_the_database(table):
    columns, values = SEED_SHAPED_INSERTS[table]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING *")  # noqa: S608 (fixed names)
        row = dict(zip([c.name for c in cursor.description], cursor.fetchone(), strict=True))
    expected = {column: default for column, (_, _, default) in SECTION_3_TABLES[table].items() if default is not None}
    assert row["id"] is not None
    for column, default in expected.items():
        if default == "now()":
            assert row[column] is not None, column
        elif default != "gen_random_uuid()":
            literal = {"false": False, "true": True, "0": 0, "'{}'::jsonb": "{}", "'[]'::jsonb": "[]"}[default]
            # Django's cursor hands jsonb back as its text (JSONField decodes it, a raw cursor does not).
            assert row[column] == literal, column


@pytest.mark.parametrize(("gap", "table", "columns"), SECTION_2_GAPS, ids=[gap for gap, _, _ in SECTION_2_GAPS])
def test_section_2_missing_components_are_built(gap, table, columns):
    actual = _columns(table)
    assert actual, f"{gap}: table {table} does not exist"
    missing = [column for column in columns if column not in actual]
    assert not missing, f"{gap}: {table} lacks {missing}"


def test_welcome_email_trigger_covers_sign_up_and_verification():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'email_sequences_trigger_valid'"
        )
        (definition,) = cursor.fetchone()
    assert "member_signed_up" in definition and "email_verified" in definition


@pytest.mark.parametrize(("table", "column"), sorted(SECTION_5_TABLES))
def test_section_5_history_and_segment_tables(table, column):
    assert SECTION_5_TABLES[(table, column)] in [ref for ref, _, _ in _foreign_key(table, column)]


@pytest.mark.parametrize("table", SOFT_DELETE_TABLES)
def test_soft_delete_column_on_archivable_tables(table):
    assert _columns(table).get("archived_at") == TSTZ


def test_every_name_the_seed_mentions_is_enumerated_here():
    """Guards the lists above against the seed itself (read from shared/ beside the repo)."""
    if not SEED_PATH.exists():
        pytest.skip(f"the seed is not beside this checkout ({SEED_PATH})")
    text = SEED_PATH.read_text()
    mentioned = set(re.findall(r"\*\*([a-z_]+)\*\*", text))
    mentioned |= set(re.findall(r"(?:CREATE TABLE|ALTER TABLE|REFERENCES|CREATE INDEX \w+ ON)\s+([a-z_.]+)", text))
    assert mentioned == set(SEED_NAMES)
    assert set(re.findall(r"CREATE TABLE (\w+)", text)) == set(SECTION_3_TABLES)
    assert set(re.findall(r"CREATE INDEX (\w+)", text)) == set(SECTION_4B_INDEXES)
    assert set(re.findall(r"\*\*(\w+)\*\* \(VIEW\)", text)) == set(VIEWS)


def test_every_foreign_key_the_seed_writes_is_enumerated_here():
    if not SEED_PATH.exists():
        pytest.skip(f"the seed is not beside this checkout ({SEED_PATH})")
    found = {}
    for statement in SEED_PATH.read_text().split(";"):
        table = re.search(r"(?:CREATE TABLE|ALTER TABLE)\s+(\w+)", statement)
        for column, ref, ref_column, on_delete in re.findall(
            r"(\w+)\s+UUID\s+REFERENCES\s+([\w.]+)\((\w+)\)(\s+ON DELETE CASCADE)?", statement
        ):
            found[(table.group(1), column)] = (SEED_NAME_TO_TABLE.get(ref, ref), ref_column, "c" if on_delete else "a")
    assert found == FOREIGN_KEYS
