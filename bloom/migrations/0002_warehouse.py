"""The `warehouse` schema: dimension and fact tables for BI tools (docs/warehouse.md, docs/adr/0165).

Plain SQL, no models: bloom may not import the apps whose tables feed these, so
bloom/warehouse.py loads them by table name. No foreign keys into `public` (a member's
erasure must not cascade into or be blocked by the warehouse) and none between warehouse
tables (facts load without waiting on dimensions); docs/warehouse.md names the joins.
Every fact carries `source_updated_at` (the change stamp its watermark follows) and
`loaded_at` (when the loader last wrote the row).
"""

from django.db import migrations

CREATE = """
CREATE SCHEMA IF NOT EXISTS warehouse;
COMMENT ON SCHEMA warehouse IS 'Analytics tables loaded nightly from public by bloom/warehouse.py; members pseudonymised (docs/warehouse.md).';

CREATE TABLE warehouse.load_watermark (
    table_name text PRIMARY KEY,
    last_updated_at timestamptz,
    last_id text,
    pseudonym_fingerprint text,
    rows_inserted bigint NOT NULL DEFAULT 0,
    rows_updated bigint NOT NULL DEFAULT 0,
    last_run_started_at timestamptz,
    last_run_finished_at timestamptz
);
COMMENT ON TABLE warehouse.load_watermark IS 'Per table: the newest source change stamp (and its id) loaded, which pseudonym key it was loaded under, and the last run''s counts.';

CREATE TABLE warehouse.dim_date (
    date_key date PRIMARY KEY,
    year smallint NOT NULL,
    quarter smallint NOT NULL,
    month smallint NOT NULL,
    month_name text NOT NULL,
    iso_year smallint NOT NULL,
    iso_week smallint NOT NULL,
    day_of_month smallint NOT NULL,
    day_of_week smallint NOT NULL,
    day_name text NOT NULL,
    is_weekend boolean NOT NULL
);
COMMENT ON TABLE warehouse.dim_date IS 'One row per calendar day; facts join on their *_date columns.';

CREATE TABLE warehouse.dim_member (
    member_key text PRIMARY KEY,
    joined_date date NOT NULL,
    is_active boolean NOT NULL,
    is_staff boolean NOT NULL,
    loaded_at timestamptz NOT NULL
);
COMMENT ON TABLE warehouse.dim_member IS 'One row per user account, keyed by a keyed-hash pseudonym; no name, email or health data.';

CREATE TABLE warehouse.dim_course (
    course_id uuid PRIMARY KEY,
    title text NOT NULL,
    slug text NOT NULL,
    status text NOT NULL,
    price numeric NOT NULL,
    currency text NOT NULL,
    published_at timestamptz,
    archived_at timestamptz,
    source_updated_at timestamptz NOT NULL,
    loaded_at timestamptz NOT NULL
);
COMMENT ON TABLE warehouse.dim_course IS 'One row per course (archived ones included).';

CREATE TABLE warehouse.dim_workshop (
    workshop_id uuid PRIMARY KEY,
    series_id uuid,
    title text NOT NULL,
    slug text NOT NULL,
    status text NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    start_date date NOT NULL,
    capacity integer NOT NULL,
    price numeric NOT NULL,
    currency text NOT NULL,
    archived_at timestamptz,
    source_updated_at timestamptz NOT NULL,
    loaded_at timestamptz NOT NULL
);
COMMENT ON TABLE warehouse.dim_workshop IS 'One row per workshop (archived ones included).';

CREATE TABLE warehouse.dim_therapist (
    therapist_id uuid PRIMARY KEY,
    display_name text NOT NULL,
    credentials text NOT NULL,
    specialties text[],
    is_accepting_clients boolean,
    hourly_rate numeric,
    currency text NOT NULL,
    timezone text NOT NULL,
    archived_at timestamptz,
    source_updated_at timestamptz NOT NULL,
    loaded_at timestamptz NOT NULL
);
COMMENT ON TABLE warehouse.dim_therapist IS 'One row per therapist profile: the public directory listing, not the therapist''s account.';

CREATE TABLE warehouse.fact_payment (
    payment_id uuid PRIMARY KEY,
    member_key text NOT NULL,
    kind text NOT NULL,
    object_id text NOT NULL,
    status text NOT NULL,
    amount numeric NOT NULL,
    discount_amount numeric NOT NULL,
    amount_refunded numeric NOT NULL,
    currency text NOT NULL,
    disputed boolean NOT NULL,
    created_at timestamptz NOT NULL,
    created_date date NOT NULL,
    paid_at timestamptz,
    paid_date date,
    refunded_at timestamptz,
    source_updated_at timestamptz NOT NULL,
    loaded_at timestamptz NOT NULL
);
COMMENT ON TABLE warehouse.fact_payment IS 'Grain: one row per payment (payment_intents), its current state.';

CREATE TABLE warehouse.fact_enrollment (
    enrollment_id uuid PRIMARY KEY,
    member_key text NOT NULL,
    course_id uuid NOT NULL,
    payment_status text NOT NULL,
    amount_paid numeric NOT NULL,
    amount_refunded numeric NOT NULL,
    discount_amount numeric,
    currency text NOT NULL,
    enrolled_at timestamptz,
    enrolled_date date,
    progress_percent smallint NOT NULL,
    lessons_completed integer NOT NULL,
    completed_at timestamptz,
    access_revoked_at timestamptz,
    source_updated_at timestamptz NOT NULL,
    loaded_at timestamptz NOT NULL
);
COMMENT ON TABLE warehouse.fact_enrollment IS 'Grain: one row per course enrollment (member x course), its current state.';

CREATE TABLE warehouse.fact_lesson_progress (
    progress_id uuid PRIMARY KEY,
    member_key text NOT NULL,
    enrollment_id uuid NOT NULL,
    course_id uuid NOT NULL,
    module_id uuid NOT NULL,
    lesson_id uuid NOT NULL,
    status text NOT NULL,
    last_slide_index integer NOT NULL,
    first_viewed_at timestamptz NOT NULL,
    last_viewed_at timestamptz NOT NULL,
    completed_at timestamptz,
    completed_date date,
    source_updated_at timestamptz NOT NULL,
    loaded_at timestamptz NOT NULL
);
COMMENT ON TABLE warehouse.fact_lesson_progress IS 'Grain: one row per member x lesson (course_progress), its current state.';

CREATE TABLE warehouse.fact_workshop_attendance (
    attendance_id uuid PRIMARY KEY,
    member_key text,
    workshop_id uuid NOT NULL,
    registration_id uuid,
    source text NOT NULL,
    joined_at timestamptz,
    left_at timestamptz,
    duration_minutes integer,
    attended_date date,
    source_updated_at timestamptz NOT NULL,
    loaded_at timestamptz NOT NULL
);
COMMENT ON TABLE warehouse.fact_workshop_attendance IS 'Grain: one row per attendee x workshop (workshop_attendance); member_key is null for guests.';

CREATE TABLE warehouse.fact_appointment (
    appointment_id uuid PRIMARY KEY,
    member_key text,
    therapist_id uuid,
    status text NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    start_date date NOT NULL,
    duration_minutes integer NOT NULL,
    timezone text NOT NULL,
    cancelled_at timestamptz,
    created_at timestamptz NOT NULL,
    source_updated_at timestamptz NOT NULL,
    loaded_at timestamptz NOT NULL
);
COMMENT ON TABLE warehouse.fact_appointment IS 'Grain: one row per booked session (appointment_data), its current state; no notes, reasons or invitee details.';

CREATE TABLE warehouse.fact_email_event (
    metric_id uuid NOT NULL,
    event_type text NOT NULL,
    campaign_id uuid,
    email_id uuid,
    category text,
    member_key text,
    occurred_at timestamptz NOT NULL,
    event_date date NOT NULL,
    bounce_type text,
    source_updated_at timestamptz NOT NULL,
    loaded_at timestamptz NOT NULL,
    PRIMARY KEY (metric_id, event_type)
);
COMMENT ON TABLE warehouse.fact_email_event IS 'Grain: one row per email x event (sent, opened, clicked, unsubscribed, bounced) from email_campaign_metrics.';

CREATE INDEX fact_payment_watermark_idx ON warehouse.fact_payment (source_updated_at, payment_id);
CREATE INDEX fact_payment_member_idx ON warehouse.fact_payment (member_key);
CREATE INDEX fact_enrollment_watermark_idx ON warehouse.fact_enrollment (source_updated_at, enrollment_id);
CREATE INDEX fact_enrollment_course_idx ON warehouse.fact_enrollment (course_id);
CREATE INDEX fact_lesson_progress_watermark_idx ON warehouse.fact_lesson_progress (source_updated_at, progress_id);
CREATE INDEX fact_lesson_progress_course_idx ON warehouse.fact_lesson_progress (course_id);
CREATE INDEX fact_workshop_attendance_watermark_idx ON warehouse.fact_workshop_attendance (source_updated_at, attendance_id);
CREATE INDEX fact_appointment_watermark_idx ON warehouse.fact_appointment (source_updated_at, appointment_id);
CREATE INDEX fact_email_event_watermark_idx ON warehouse.fact_email_event (source_updated_at, metric_id);
CREATE INDEX fact_email_event_campaign_idx ON warehouse.fact_email_event (campaign_id);
"""

DROP = "DROP SCHEMA IF EXISTS warehouse CASCADE;"


class Migration(migrations.Migration):
    # The SQL reads no app table at migrate time; bloom/warehouse.py does, when it loads.
    dependencies = [("bloom", "0001_event_ledger")]

    operations = [migrations.RunSQL(CREATE, reverse_sql=DROP)]
