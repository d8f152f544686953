# ruff: noqa: S608 - every SQL text here is built from constants and integers this module computes
"""A practice N times the size of the demo, generated inside PostgreSQL (`manage.py seed_scale`).

At factor 100 it holds about 100,000 members, 5,000,000 lesson-progress rows, 1,000,000
outbox emails in every state, 50,000 subscribers, 200 courses (one of 500 lessons), 2,000
workshops, 200,000 appointments and 2,000,000 analytics events; every count is linear in
the factor (docs/bench.md, docs/adr/0230).

How it stays fast and idempotent:

- Every row is made by `INSERT … SELECT … FROM generate_series(lo, hi)` in batches, one
  transaction per batch, so the work happens inside the database and an interrupted run
  keeps what it committed.
- Row `n` of a kind has a deterministic primary key (`5ca1e0XX-0000-4000-8000-<n in hex>`),
  so foreign keys are computed rather than looked up, keys arrive in index order, and a
  second run's inserts meet `ON CONFLICT DO NOTHING` instead of making duplicates.
- Generated rows carry a visible mark: members and subscribers are `scale-<n>@scale.bloom.test`,
  courses and workshops have slugs `scale-…`, emails an idempotency key `scale:…`, appointments
  Calendly URIs with `SCALE-`, analytics events a session id `scale-…`. Counting the marked
  rows tells how far a table is from its target; a run only adds the difference.
- Nothing bypasses the schema: check constraints hold, ledger triggers write their events
  (so `ledger_verify` finds no drift), and no encrypted column is filled (no session notes,
  wellness notes or screening answers are generated), so no plain text sits where
  ciphertext belongs.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from bloom.crypto import columns_encrypt
from bloom.ledger import ledger_context

EMAIL_DOMAIN = "scale.bloom.test"
LOCK_KEY = 0x5CA1E  # pg advisory lock: one seed_scale at a time per database
MAX_FACTOR = 1000  # 100,000,000 members: beyond that, a typo rather than a plan

# Addresses no real person has (RFC 2606 / RFC 6761 names); anyone else is a real member.
TEST_ADDRESS_SQL = r"email ~* '(@|\.)(test|example|invalid|localhost)$' OR email ~* '@example\.(com|net|org)$'"

# Base rates at factor 1 (a hundredth of the 100x practice in issue 18).
MEMBERS = 1000
ENROLLMENTS_PER_MEMBER = 3
EMAILS = 10_000
SUBSCRIBERS = 500
COURSES = 2
MIN_COURSES = 4  # every member's three regular enrollments are in distinct courses
WORKSHOPS = 20
REGISTRATIONS_PER_WORKSHOP = 10
APPOINTMENTS = 2000
EVENTS = 20_000
THERAPISTS = 0.5

# The catalog's shape: course 1 is the big one (20 modules x 25 lessons), every other course
# has 4 modules x 6 lessons.
BIG_MODULES, BIG_LESSONS_PER_MODULE = 20, 25
BIG_LESSONS = BIG_MODULES * BIG_LESSONS_PER_MODULE
MODULES, LESSONS_PER_MODULE = 4, 6
LESSONS = MODULES * LESSONS_PER_MODULE
BIG_COURSE_EVERY = 67  # one member in 67 takes the big course

KINDS = {
    "user": "5ca1e001",
    "profile": "5ca1e002",
    "preferences": "5ca1e003",
    "course": "5ca1e010",
    "module": "5ca1e011",
    "lesson": "5ca1e012",
    "enrollment": "5ca1e013",
    "progress": "5ca1e014",
    "email": "5ca1e020",
    "subscriber": "5ca1e021",
    "workshop": "5ca1e030",
    "registration": "5ca1e031",
    "therapist": "5ca1e040",
    "appointment": "5ca1e041",
    "event": "5ca1e050",
}


def _id(kind: str, n: str) -> str:
    """SQL for row `n`'s primary key of one kind (ordered, so inserts append to the index)."""
    return f"('{KINDS[kind]}-0000-4000-8000-' || lpad(to_hex(({n})::bigint), 12, '0'))::uuid"


def _h(n: str, salt: int = 0) -> str:
    """SQL for a well-spread non-negative hash of integer `n` (Knuth's multiplicative hash)."""
    return f"(((({n})::bigint + {salt}) * 2654435761) % 4294967296)"


def _h_py(n: int, salt: int = 0) -> int:
    return ((n + salt) * 2654435761) % 4294967296


def _pick(values: list[str], index: str) -> str:
    """SQL choosing one of `values` (constants) by integer expression `index`."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"(ARRAY[{quoted}])[1 + (({index}) % {len(values)})]"


def _spread(n: str, salt: int, days: int = 730, ahead: int = 0) -> str:
    """SQL for a timestamp spread over the `days` before now (and `ahead` days after)."""
    span = (days + ahead) * 86400
    return f"(now() - interval '{days} days' + ({_h(n, salt)} % {span}) * interval '1 second')"


FIRST_NAMES = ["Maya", "Ava", "Sofia", "Amara", "Lena", "Priya", "Grace", "Nora", "Yuki", "Zara", "Ines", "Hana"]
LAST_NAMES = ["Okafor", "Nguyen", "Garcia", "Kowalski", "Haddad", "Smith", "Ibrahim", "Rossi", "Chen", "Moreau"]
TIMEZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London"]


@dataclass(frozen=True)
class Shape:
    """The counts of one factor, computed without touching the database."""

    factor: float
    members: int = field(init=False)
    courses: int = field(init=False)
    therapists: int = field(init=False)
    workshops: int = field(init=False)

    def __post_init__(self):
        scaled = lambda base, least: max(least, round(base * self.factor))  # noqa: E731
        object.__setattr__(self, "members", scaled(MEMBERS, 10))
        object.__setattr__(self, "courses", scaled(COURSES, MIN_COURSES))
        object.__setattr__(self, "therapists", scaled(THERAPISTS, 2))
        object.__setattr__(self, "workshops", scaled(WORKSHOPS, 2))

    @property
    def modules(self) -> int:
        return BIG_MODULES + MODULES * (self.courses - 1)

    @property
    def lessons(self) -> int:
        return BIG_LESSONS + LESSONS * (self.courses - 1)

    @property
    def enrollments(self) -> int:
        return self.members * ENROLLMENTS_PER_MEMBER

    def opened(self, enrollment: int) -> int:
        """How many lessons enrollment `enrollment` has opened (mirrors `_OPENED_SQL`)."""
        member, slot = divmod(enrollment - 1, ENROLLMENTS_PER_MEMBER)
        if slot == 0 and (member + 1) % BIG_COURSE_EVERY == 0:
            return _h_py(enrollment, 7) % (BIG_LESSONS + 1)
        return min(LESSONS, _h_py(enrollment, 7) % (LESSONS + 10))

    @property
    def progress(self) -> int:
        return sum(self.opened(e) for e in range(1, self.enrollments + 1))

    def rows(self, name: str) -> int:
        base = {
            "members": self.members,
            "profiles": self.members,
            "preferences": self.members,
            "courses": self.courses,
            "modules": self.modules,
            "lessons": self.lessons,
            "enrollments": self.enrollments,
            "subscribers": max(5, round(SUBSCRIBERS * self.factor)),
            "emails": max(10, round(EMAILS * self.factor)),
            "workshops": self.workshops,
            "registrations": self.workshops * REGISTRATIONS_PER_WORKSHOP,
            "therapists": self.therapists,
            "appointments": max(10, round(APPOINTMENTS * self.factor)),
            "events": max(10, round(EVENTS * self.factor)),
        }
        if name == "progress":
            return self.progress
        return base[name]

    def items(self, name: str) -> int:
        """How many numbered items drive a table's inserts (enrollments drive progress rows)."""
        return self.enrollments if name == "progress" else self.rows(name)


# --- SQL per table --------------------------------------------------------------------------------
# Each statement inserts items %(lo)s..%(hi)s of its table; %(members)s and friends are the
# shape's counts, so every foreign key lands on a row an earlier table made. `_statement` puts
# the integers in (they are ints we computed), so `%` in this SQL is PostgreSQL's modulo.

_SCALE_USERS = f"SELECT id FROM users WHERE email LIKE 'scale-%@{EMAIL_DOMAIN}'"
_USER_OF = lambda n: _id("user", n)  # noqa: E731

# Course of enrollment n: slot 0 of every 67th member is the big course 1; otherwise three
# consecutive (so distinct) courses of 2..C(m) in rotation, where C(m) is the catalog's size at
# the smallest factor that has member m. A member's courses depend only on her number, never
# on the factor of the run, so topping up from N=10 to N=100 leaves earlier rows consistent.
_MEMBER = "(((n - 1) / 3) + 1)"
_SLOT = "((n - 1) % 3)"
_BIG = f"({_SLOT} = 0 AND {_MEMBER} % {BIG_COURSE_EVERY} = 0)"
_CATALOG_AT = f"greatest({MIN_COURSES}, ({_MEMBER} * {COURSES}) / {MEMBERS})"
_COURSE_OF = f"(CASE WHEN {_BIG} THEN 1 ELSE 2 + (({_MEMBER} * 3 + {_SLOT}) % ({_CATALOG_AT} - 1)) END)"
_OPENED_SQL = (
    f"(CASE WHEN {_BIG} THEN {_h('n', 7)} % {BIG_LESSONS + 1} ELSE least({LESSONS}, {_h('n', 7)} % {LESSONS + 10}) END)"  # noqa: E501
)
_LESSONS_OF = f"(CASE WHEN {_BIG} THEN {BIG_LESSONS} ELSE {LESSONS} END)"
# Lessons the enrollment completed: all it opened, or all but the last one (still in progress).
_COMPLETED_SQL = f"greatest(0, {_OPENED_SQL} - ({_h('n', 11)} % 2))"


def _lesson_number(course: str, position: str) -> str:
    """SQL for the number of the lesson at 1-based `position` of course number `course`."""
    return f"(CASE WHEN {course} = 1 THEN {position} ELSE {BIG_LESSONS} + ({course} - 2) * {LESSONS} + {position} END)"


SQL = {
    "members": f"""
INSERT INTO users (id, password, last_login, is_superuser, email, first_name, last_name, is_staff, is_active,
                   date_joined)
SELECT {_id("user", "n")}, '!scale-seed', NULL, false, 'scale-' || n || '@{EMAIL_DOMAIN}',
       {_pick(FIRST_NAMES, "n")}, {_pick(LAST_NAMES, _h("n", 1))}, false, ({_h("n", 2)} % 50) <> 0,
       {_spread("n", 3)}
FROM generate_series(%(lo)s, %(hi)s) n ON CONFLICT DO NOTHING""",
    "profiles": f"""
INSERT INTO user_profiles (id, created_at, updated_at, first_name, last_name, preferred_name, phone, stage,
                           due_date, baby_birth_date, topics, timezone, onboarding_step, email_verified,
                           email_verified_at, onboarding_completed, onboarding_completed_at, referral_source,
                           marketing_consent, user_id)
SELECT {_id("profile", "n")}, u.date_joined, u.date_joined, u.first_name, u.last_name, '', '', s.stage,
       CASE WHEN s.stage = 'pregnant' THEN (now() + ({_h("n", 4)} % 250) * interval '1 day')::date END,
       CASE WHEN s.stage = 'postpartum' THEN (now() - ({_h("n", 4)} % 365) * interval '1 day')::date END,
       ARRAY[{_pick(["anxiety", "sleep", "relationships", "birth", "feeding", "return-to-work"], "n")}]::varchar[],
       {_pick(TIMEZONES, _h("n", 5))}, CASE WHEN {_h("n", 6)} % 5 = 0 THEN 2 ELSE 4 END, true, u.date_joined,
       {_h("n", 6)} % 5 <> 0, CASE WHEN {_h("n", 6)} % 5 <> 0 THEN u.date_joined + interval '10 minutes' END,
       NULL, {_h("n", 8)} % 3 <> 0, u.id
FROM generate_series(%(lo)s, %(hi)s) n
JOIN users u ON u.id = {_id("user", "n")}
CROSS JOIN LATERAL (SELECT {_pick(["pregnant", "postpartum", "postpartum", "loss", "other", ""], _h("n", 9))} AS stage) s
ON CONFLICT DO NOTHING""",
    "preferences": f"""
INSERT INTO user_preferences (id, created_at, updated_at, notification_channel, appointment_reminders,
                              workshop_reminders, course_updates, wellness_reminders, newsletter, user_id,
                              quiet_hours, quiet_hours_start, quiet_hours_end)
SELECT {_id("preferences", "n")}, now(), now(), {_pick(["portal_and_email", "portal_and_email", "portal"], "n")},
       true, true, {_h("n", 1)} % 4 <> 0, {_h("n", 2)} % 3 = 0, {_h("n", 3)} % 2 = 0, {_id("user", "n")},
       {_h("n", 4)} % 4 = 0, '21:00', '08:00'
FROM generate_series(%(lo)s, %(hi)s) n ON CONFLICT DO NOTHING""",
    "courses": f"""
INSERT INTO courses (id, created_at, updated_at, archived_at, title, slug, subtitle, description, instructor_name,
                     price, currency, status, published_at, position, created_by_id, access_days)
SELECT {_id("course", "n")}, {_spread("n", 1, 900)}, now(), NULL,
       CASE WHEN n = 1 THEN 'The complete perinatal companion (scale)' ELSE 'Scale course ' || n END,
       'scale-course-' || n, 'A generated course for benchmarks', 'Generated by manage.py seed_scale.',
       {_pick(["Dr. Jana Rundle", "Sam Okafor", "Priya Raman"], "n")},
       CASE WHEN n % 3 = 0 THEN 0 ELSE 49 + (n % 5) * 30 END, 'usd',
       'published', {_spread("n", 1, 900)}, 1000 + n, NULL, NULL
FROM generate_series(%(lo)s, %(hi)s) n ON CONFLICT DO NOTHING""",
    "modules": f"""
INSERT INTO course_modules (id, created_at, updated_at, archived_at, title, description, position, drip_days,
                            course_id)
SELECT {_id("module", "n")}, now(), now(), NULL, 'Week ' || (m.position + 1), '', m.position, NULL,
       {_id("course", "m.course")}
FROM generate_series(%(lo)s, %(hi)s) n
CROSS JOIN LATERAL (SELECT
    CASE WHEN n <= {BIG_MODULES} THEN 1 ELSE 2 + (n - {BIG_MODULES} - 1) / {MODULES} END AS course,
    CASE WHEN n <= {BIG_MODULES} THEN n - 1 ELSE (n - {BIG_MODULES} - 1) % {MODULES} END AS position) m
ON CONFLICT DO NOTHING""",
    "lessons": f"""
INSERT INTO course_lessons (id, created_at, updated_at, archived_at, title, summary, slides, video_url,
                            duration_minutes, position, is_preview, status, module_id)
SELECT {_id("lesson", "n")}, now(), now(), NULL, 'Lesson ' || n, 'A generated lesson.',
       jsonb_build_array('<h2>Lesson ' || n || '</h2><p>Breathing space for a busy week.</p>',
                         '<p>Notice one thing that went well today.</p>'),
       '', 5 + n % 20, l.position, l.position = 0, 'published', {_id("module", "l.module")}
FROM generate_series(%(lo)s, %(hi)s) n
CROSS JOIN LATERAL (SELECT
    CASE WHEN n <= {BIG_LESSONS} THEN 1 + (n - 1) / {BIG_LESSONS_PER_MODULE}
         ELSE {BIG_MODULES} + 1 + (n - {BIG_LESSONS} - 1) / {LESSONS_PER_MODULE} END AS module,
    CASE WHEN n <= {BIG_LESSONS} THEN (n - 1) % {BIG_LESSONS_PER_MODULE}
         ELSE (n - {BIG_LESSONS} - 1) % {LESSONS_PER_MODULE} END AS position) l
ON CONFLICT DO NOTHING""",
    "enrollments": f"""
INSERT INTO course_enrollments (id, created_at, updated_at, payment_status, amount_paid, amount_refunded, currency,
                                enrolled_at, progress_percent, lessons_completed, last_milestone_percent,
                                last_activity_at, completed_at, course_id, user_id, last_lesson_id)
SELECT {_id("enrollment", "n")}, e.at, e.at, CASE WHEN c.price = 0 THEN 'free' ELSE 'paid' END, c.price, 0, 'usd',
       e.at, (100 * e.completed / e.lessons), e.completed, 0,
       CASE WHEN e.opened > 0 THEN e.at + (now() - e.at) * (e.opened::float / (e.lessons + 1)) END,
       CASE WHEN e.completed = e.lessons THEN e.at + (now() - e.at) * (e.opened::float / (e.lessons + 1)) END,
       c.id, {_id("user", _MEMBER)},
       CASE WHEN e.opened > 0 THEN {_id("lesson", _lesson_number("e.course", "e.opened"))} END
FROM generate_series(%(lo)s, %(hi)s) n
CROSS JOIN LATERAL (SELECT {_COURSE_OF} AS course, {_OPENED_SQL} AS opened, {_COMPLETED_SQL} AS completed,
                           {_LESSONS_OF} AS lessons, {_spread("n", 12, 730)} - interval '60 days' AS at) e
JOIN courses c ON c.id = {_id("course", "e.course")}
ON CONFLICT DO NOTHING""",
    "progress": f"""
INSERT INTO course_progress (id, created_at, updated_at, status, last_slide_index, first_viewed_at, last_viewed_at,
                             completed_at, enrollment_id, lesson_id, user_id)
SELECT {_id("progress", "n::bigint * 1000 + k")}, t.at, t.at,
       CASE WHEN k <= e.completed THEN 'completed' ELSE 'in_progress' END, CASE WHEN k <= e.completed THEN 1 ELSE 0 END,
       t.at, t.at, CASE WHEN k <= e.completed THEN t.at END,
       {_id("enrollment", "n")}, {_id("lesson", _lesson_number("e.course", "k"))}, {_id("user", _MEMBER)}
FROM generate_series(%(lo)s, %(hi)s) n
JOIN course_enrollments ce ON ce.id = {_id("enrollment", "n")}
CROSS JOIN LATERAL (SELECT {_COURSE_OF} AS course, {_OPENED_SQL} AS opened, {_COMPLETED_SQL} AS completed,
                           {_LESSONS_OF} AS lessons, ce.enrolled_at AS at) e
CROSS JOIN LATERAL generate_series(1, e.opened) k
CROSS JOIN LATERAL (SELECT e.at + (now() - e.at) * (k::float / (e.lessons + 1)) AS at) t
ON CONFLICT DO NOTHING""",
    "subscribers": f"""
INSERT INTO subscribers (id, created_at, updated_at, email, first_name, status, source, confirmation_sent_at,
                         confirmed_at, unsubscribed_at, engagement_score, engagement_computed_at)
SELECT {_id("subscriber", "n")}, s.at, s.at, 'scale-sub-' || n || '@{EMAIL_DOMAIN}', {_pick(FIRST_NAMES, "n")},
       s.status, {_pick(["footer", "blog", "workshop", "import"], _h("n", 2))}, s.at,
       CASE WHEN s.status <> 'pending' THEN s.at + interval '1 hour' END,
       CASE WHEN s.status = 'unsubscribed' THEN least(now(), s.at + interval '90 days') END,
       {_h("n", 3)} % 101, now()
FROM generate_series(%(lo)s, %(hi)s) n
CROSS JOIN LATERAL (SELECT CASE
    WHEN {_h("n", 4)} % 100 < 70 THEN 'confirmed' WHEN {_h("n", 4)} % 100 < 85 THEN 'pending'
    WHEN {_h("n", 4)} % 100 < 95 THEN 'unsubscribed' WHEN {_h("n", 4)} % 100 < 98 THEN 'bounced'
    ELSE 'complained' END AS status) st
-- A pending sign-up is recent: older ones have an expired link and are cleaned up as orphans.
CROSS JOIN LATERAL (SELECT st.status, CASE WHEN st.status = 'pending'
    THEN now() - ({_h("n", 5)} % 86400) * interval '1 second' ELSE {_spread("n", 1)} END AS at) s
ON CONFLICT DO NOTHING""",
    # States: 80% sent, 8% pending (scheduled in the coming month: a drain started on the seeded
    # database does not send them at once), 4% failed, 6% cancelled, 2% sending under a lease.
    "emails": f"""
INSERT INTO email_queue (id, created_at, updated_at, to_email, from_email, subject, text_body, html_body, headers,
                         mime_message, template_key, context, tracked_links, category, priority, status,
                         scheduled_at, idempotency_key, lease_expires_at, retry_count, last_error, message_id,
                         sent_at, user_id)
SELECT {_id("email", "n")}, q.at, q.at, 'scale-' || q.member || '@{EMAIL_DOMAIN}', 'Bloom <hello@bloom.test>',
       q.subject, 'Hello from Bloom.', '<p>Hello from Bloom.</p>', '{{}}'::jsonb, '', q.template, '{{}}'::jsonb,
       '[]'::jsonb, q.category, CASE WHEN q.category = 'marketing' THEN 90 ELSE 10 END, q.status,
       CASE WHEN q.status = 'pending' THEN now() + ({_h("n", 5)} % 2592000) * interval '1 second' ELSE q.at END,
       'scale:email:' || n, CASE WHEN q.status = 'sending' THEN now() + interval '1 hour' END,
       CASE WHEN q.status = 'failed' THEN 5 ELSE 0 END,
       CASE WHEN q.status = 'failed' THEN '550 mailbox unavailable (generated)' ELSE '' END,
       CASE WHEN q.status = 'sent' THEN '<scale-' || n || '@{EMAIL_DOMAIN}>' ELSE '' END,
       CASE WHEN q.status = 'sent' THEN q.at + interval '30 seconds' END, {_id("user", "q.member")}
FROM generate_series(%(lo)s, %(hi)s) n
CROSS JOIN LATERAL (SELECT 1 + {_h("n", 1)} % %(members)s AS member, {_spread("n", 2)} AS at,
    CASE WHEN {_h("n", 3)} % 100 < 80 THEN 'sent' WHEN {_h("n", 3)} % 100 < 88 THEN 'pending'
         WHEN {_h("n", 3)} % 100 < 92 THEN 'failed' WHEN {_h("n", 3)} % 100 < 98 THEN 'cancelled'
         ELSE 'sending' END AS status,
    {_pick(["marketing", "marketing", "transactional", "transactional", "clinical"], _h("n", 4))} AS category,
    {_pick(["Your week in Bloom", "A new lesson is ready", "Your session is tomorrow", "Workshop reminder"], "n")}
        AS subject,
    {_pick(["content/newsletter", "courses/lesson_ready", "appointments/reminder", "workshops/reminder"], "n")}
        AS template) q
ON CONFLICT DO NOTHING""",
    "workshops": f"""
INSERT INTO workshops (id, created_at, updated_at, archived_at, title, slug, description, starts_at, ends_at, timezone,
                       capacity, price, currency, zoom_meeting_id, zoom_join_url, status, facilitator_id, series_id)
SELECT {_id("workshop", "n")}, least(now(), w.starts - interval '30 days'), now(), NULL, 'Scale workshop ' || n,
       'scale-workshop-' || n, 'A generated workshop.', w.starts, w.starts + interval '90 minutes',
       {_pick(TIMEZONES, "n")}, {REGISTRATIONS_PER_WORKSHOP} + 2 + n % 30, 0, 'usd', (9000000000 + n)::text,
       'https://zoom.us/j/' || (9000000000 + n), CASE WHEN n % 25 = 0 THEN 'cancelled' ELSE 'published' END,
       NULL, NULL
FROM generate_series(%(lo)s, %(hi)s) n
CROSS JOIN LATERAL (SELECT date_trunc('hour', {_spread("n", 1, 640, 90)}) AS starts) w
ON CONFLICT DO NOTHING""",
    "registrations": f"""
INSERT INTO workshop_registrations (id, created_at, updated_at, status, payment_status, amount, currency,
                                    registered_at, cancelled_at, payment_id, user_id, workshop_id)
SELECT {_id("registration", "n")}, r.at, r.at, r.status, 'not_required', 0, 'usd', r.at,
       CASE WHEN r.status = 'cancelled' THEN r.at + interval '2 days' END, NULL,
       {_id("user", f"1 + (((n - 1) / {REGISTRATIONS_PER_WORKSHOP}) * 37 + (n - 1) % {REGISTRATIONS_PER_WORKSHOP}) % %(members)s")}, w.id
FROM generate_series(%(lo)s, %(hi)s) n
JOIN workshops w ON w.id = {_id("workshop", f"1 + (n - 1) / {REGISTRATIONS_PER_WORKSHOP}")}
CROSS JOIN LATERAL (SELECT least(now() - interval '1 hour', w.starts_at - interval '10 days') AS at, CASE
    WHEN w.status = 'cancelled' OR {_h("n", 1)} % 100 < 12 THEN 'cancelled'
    WHEN w.starts_at > now() THEN 'registered'
    WHEN {_h("n", 1)} % 100 < 27 THEN 'no_show' ELSE 'attended' END AS status) r
ON CONFLICT DO NOTHING""",
    "therapists": f"""
INSERT INTO therapist_profiles (id, archived_at, calendly_user_uri, specialties, bio, hourly_rate,
                                is_accepting_clients, created_at, updated_at, display_name, credentials, photo_url,
                                scheduling_url, currency, timezone, user_id, cancellation_window_hours,
                                late_cancel_fee, license_number, no_show_fee, npi, session_fee, session_minutes,
                                who_i_help)
SELECT {_id("therapist", "n")}, NULL, 'https://api.calendly.com/users/SCALE-' || n,
       ARRAY['postpartum depression', 'anxiety'], 'A generated therapist.', 150 + (n % 4) * 10, n % 5 <> 0, now(),
       now(), 'Scale Therapist ' || n, 'LMFT', '', 'https://calendly.com/bloom-scale-' || n, 'usd',
       {_pick(TIMEZONES, "n")}, NULL, 24, NULL, '', NULL, '', NULL, 50, ''
FROM generate_series(%(lo)s, %(hi)s) n ON CONFLICT DO NOTHING""",
    # One member in ten is a therapy client with one therapist and about 20 sessions over two
    # years. Past sessions are mostly completed (some cancelled, late-cancelled or no-shows);
    # the coming 60 days hold scheduled ones.
    "appointments": f"""
INSERT INTO appointment_data (id, created_at, updated_at, invitee_email, invitee_name, calendly_event_uri,
                              calendly_invitee_uri, calendly_synced_at, starts_at, ends_at, timezone, status,
                              cancel_reason, cancelled_at, location, zoom_meeting_url, user_id, therapist_id,
                              calendly_cancel_url, calendly_reschedule_url, cancelled_by, diagnosis_codes,
                              service_code)
SELECT {_id("appointment", "n")}, least(now(), a.starts - interval '14 days'), least(now(), a.starts - interval '14 days'),
       u.email, u.first_name || ' ' || u.last_name, 'https://api.calendly.com/scheduled_events/SCALE-' || n,
       'https://api.calendly.com/scheduled_events/SCALE-' || n || '/invitees/SCALE-' || n,
       least(now(), a.starts - interval '14 days'), a.starts, a.starts + interval '50 minutes', {_pick(TIMEZONES, _h("n", 4))},
       a.status, '', CASE WHEN a.status IN ('cancelled', 'late_cancelled') THEN a.starts - interval '1 day' END,
       'Zoom', NULL, u.id, {_id("therapist", "1 + a.client % %(therapists)s")}, '', '',
       CASE WHEN a.status IN ('cancelled', 'late_cancelled') THEN 'invitee' ELSE '' END, '{{}}', '90834'
FROM generate_series(%(lo)s, %(hi)s) n
CROSS JOIN LATERAL (SELECT (n * 31) % greatest(1, %(members)s / 10) AS client) c
JOIN users u ON u.id = {_id("user", "1 + c.client * 10")}
CROSS JOIN LATERAL (SELECT c.client, s.starts, CASE
    WHEN s.starts > now() THEN CASE WHEN {_h("n", 2)} % 10 = 0 THEN 'cancelled' ELSE 'scheduled' END
    WHEN {_h("n", 2)} % 100 < 82 THEN 'completed' WHEN {_h("n", 2)} % 100 < 91 THEN 'cancelled'
    WHEN {_h("n", 2)} % 100 < 95 THEN 'late_cancelled' ELSE 'no_show' END AS status
    FROM (SELECT date_trunc('day', {_spread("n", 1, 700, 60)}) + (9 + {_h("n", 3)} % 9) * interval '1 hour'
          AS starts) s) a
ON CONFLICT DO NOTHING""",
    "events": f"""
INSERT INTO analytics_events (id, event_name, category, session_id, path, referrer, properties, created_at, user_id,
                              blog_post_id)
SELECT {_id("event", "n")}, v.name, v.category, 'scale-' || (n / 8), v.path,
       CASE WHEN n % 8 = 0 THEN 'https://www.google.com/' ELSE '' END, '{{}}'::jsonb, {_spread("n", 1)},
       CASE WHEN {_h("n", 2)} % 10 < 3 THEN {_id("user", f"1 + {_h('n / 8', 3)} % %(members)s")} END, NULL
FROM generate_series(%(lo)s, %(hi)s) n
CROSS JOIN LATERAL (SELECT (ARRAY['page_view', 'page_view', 'page_view', 'engagement', 'navigation', 'conversion'])
    [1 + {_h("n", 4)} % 6] AS category) c
CROSS JOIN LATERAL (SELECT c.category,
    CASE c.category WHEN 'page_view' THEN 'page_view' WHEN 'engagement' THEN 'lesson_slide'
         WHEN 'navigation' THEN 'menu_click' ELSE 'newsletter_signup' END AS name,
    {_pick(["/", "/blog/", "/courses/", "/workshops/", "/team/", "/about/"], _h("n", 5))} AS path) v
ON CONFLICT DO NOTHING""",
}

# How to count the generated rows of each table (the marks in the module docstring).
COUNT_SQL = {
    "members": f"SELECT count(*) FROM users WHERE email LIKE 'scale-%@{EMAIL_DOMAIN}'",
    "profiles": f"SELECT count(*) FROM user_profiles WHERE user_id IN ({_SCALE_USERS})",
    "preferences": f"SELECT count(*) FROM user_preferences WHERE user_id IN ({_SCALE_USERS})",
    "courses": "SELECT count(*) FROM courses WHERE slug LIKE 'scale-course-%'",
    "modules": "SELECT count(*) FROM course_modules WHERE course_id IN "
    "(SELECT id FROM courses WHERE slug LIKE 'scale-course-%')",
    "lessons": "SELECT count(*) FROM course_lessons WHERE module_id IN (SELECT id FROM course_modules WHERE "
    "course_id IN (SELECT id FROM courses WHERE slug LIKE 'scale-course-%'))",
    "enrollments": f"SELECT count(*) FROM course_enrollments WHERE user_id IN ({_SCALE_USERS})",
    "progress": f"SELECT count(*) FROM course_progress WHERE user_id IN ({_SCALE_USERS})",
    "subscribers": f"SELECT count(*) FROM subscribers WHERE lower(email) LIKE 'scale-sub-%@{EMAIL_DOMAIN}'",
    "emails": "SELECT count(*) FROM email_queue WHERE idempotency_key LIKE 'scale:email:%'",
    "workshops": "SELECT count(*) FROM workshops WHERE slug LIKE 'scale-workshop-%'",
    "registrations": "SELECT count(*) FROM workshop_registrations WHERE workshop_id IN "
    "(SELECT id FROM workshops WHERE slug LIKE 'scale-workshop-%')",
    "therapists": "SELECT count(*) FROM therapist_profiles WHERE calendly_user_uri LIKE "
    "'https://api.calendly.com/users/SCALE-%'",
    "appointments": "SELECT count(*) FROM appointment_data WHERE calendly_invitee_uri LIKE "
    "'https://api.calendly.com/scheduled_events/SCALE-%'",
    "events": "SELECT count(*) FROM analytics_events WHERE session_id LIKE 'scale-%'",
}


@dataclass(frozen=True)
class Table:
    """One generated table: its name for `--only`, the database table, what it needs first."""

    name: str
    db_table: str
    needs: tuple[str, ...] = ()
    batch: int = 50_000  # items per INSERT (for progress, enrollments: about 17 rows each)
    # Encrypted columns (bloom.crypto) the SQL writes in plain text: encrypted after each batch.
    encrypted: tuple[str, ...] = ()


TABLES: tuple[Table, ...] = (
    Table("members", "users"),
    Table("profiles", "user_profiles", ("members",), encrypted=("stage", "due_date", "baby_birth_date")),
    Table("preferences", "user_preferences", ("members",)),
    Table("courses", "courses"),
    Table("modules", "course_modules", ("courses",)),
    Table("lessons", "course_lessons", ("modules",)),
    Table("enrollments", "course_enrollments", ("members", "lessons")),
    Table("progress", "course_progress", ("enrollments",), batch=10_000),
    Table("subscribers", "subscribers"),
    Table("emails", "email_queue", ("members",)),
    Table("workshops", "workshops"),
    Table("registrations", "workshop_registrations", ("members", "workshops")),
    Table("therapists", "therapist_profiles"),
    Table("appointments", "appointment_data", ("members", "therapists")),
    Table("events", "analytics_events", ("members",)),
)
TABLE_NAMES = tuple(t.name for t in TABLES)
_BY_NAME = {t.name: t for t in TABLES}


@dataclass
class TableResult:
    """What one table had, should have and got."""

    name: str
    db_table: str
    target: int
    before: int
    after: int = 0
    seconds: float = 0.0
    finished: bool = False

    @property
    def missing(self) -> int:
        return max(0, self.target - self.before)

    @property
    def added(self) -> int:
        return self.after - self.before


class ScaleRefused(Exception):
    """Seeding was refused (production settings, real members, another run, unknown table)."""


def factor_check(factor: float) -> None:
    """Raise ScaleRefused unless 0 < factor <= MAX_FACTOR."""
    if not math.isfinite(factor) or not 0 < factor <= MAX_FACTOR:
        raise ScaleRefused(f"the factor must be a positive number up to {MAX_FACTOR}")


def real_member_count() -> int:
    """Members whose address is not a reserved test one: people, not demo or generated rows."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM users WHERE NOT is_staff AND NOT ({TEST_ADDRESS_SQL})")  # noqa: S608
        return cursor.fetchone()[0]


def scale_refusals() -> list[str]:
    """Why seeding this database would be wrong (empty when it is fine); `--yes` overrides them."""
    reasons = []
    module = getattr(settings, "SETTINGS_MODULE", "") or ""
    if re.search(r"(^|\.)prod(uction)?$", module):
        reasons.append(f"the settings module is {module}, a production one")
    real = real_member_count()
    if real:
        reasons.append(f"the database has {real} member(s) with real-looking addresses")
    return reasons


def _select(only: list[str] | None) -> list[Table]:
    if not only:
        return list(TABLES)
    unknown = sorted(set(only) - set(TABLE_NAMES))
    if unknown:
        raise ScaleRefused(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(TABLE_NAMES)}")
    return [t for t in TABLES if t.name in only]


def _statement(name: str, values: dict[str, int]) -> str:
    """SQL[name] with its integer placeholders filled in (no driver parameters, so `%` is modulo)."""
    sql = SQL[name]
    for key, value in values.items():
        sql = sql.replace(f"%({key})s", str(int(value)))
    return sql


def _count(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(COUNT_SQL[name])
        return cursor.fetchone()[0]


def scale_plan(*, factor: float, only: list[str] | None = None) -> list[TableResult]:
    """Each selected table's target and current count of generated rows (reads only)."""
    factor_check(factor)
    shape = Shape(factor)
    return [TableResult(t.name, t.db_table, shape.rows(t.name), _count(t.name)) for t in _select(only)]


def scale_seed(
    *,
    factor: float,
    only: list[str] | None = None,
    progress: Callable[[TableResult, int, int], None] | None = None,
) -> list[TableResult]:
    """Top every selected table up to `factor`'s target; returns what each had and has.

    Idempotent: tables at their target are skipped, others get only their missing rows (a
    batch that meets rows of an earlier run inserts nothing for them). One batch is one
    transaction, credited in the ledger to source `seed_scale`. Holds an advisory lock so two
    runs cannot interleave, and refuses (ScaleRefused) when a table it needs but was not asked
    to fill is short. `progress(result, items_done, items_total)` is called after each batch and
    once more with `result.finished` set.
    Does not check `scale_refusals()`: the caller decides about those.
    """
    factor_check(factor)
    shape = Shape(factor)
    tables = _select(only)
    chosen = {t.name for t in tables}
    for table in tables:
        for need in table.needs:
            if need not in chosen and _count(need) < shape.rows(need):
                raise ScaleRefused(f"{table.name} needs {need} at this factor first: add it to --only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            raise ScaleRefused("another seed_scale is running against this database")
    params = {
        "members": shape.members,
        "courses": shape.courses,
        "therapists": shape.therapists,
    }
    results = []
    try:
        for table in tables:
            result = TableResult(table.name, table.db_table, shape.rows(table.name), _count(table.name))
            started = time.monotonic()
            items = shape.items(table.name)
            if result.before < result.target:
                # Rows are numbered and committed in order, so a table of one row per item
                # resumes after its count; progress rows (many per enrollment) go over every
                # enrollment and let ON CONFLICT skip the rows that exist.
                first = result.before + 1 if items == result.target else 1
                for lo in range(first, items + 1, table.batch):
                    hi = min(items, lo + table.batch - 1)
                    with ledger_context(actor="seed_scale", source="seed_scale"), connection.cursor() as cursor:
                        cursor.execute(_statement(table.name, {**params, "lo": lo, "hi": hi}))
                        if table.encrypted:
                            columns_encrypt(table=table.db_table, columns=list(table.encrypted), plain_only=True)
                    if progress is not None:
                        progress(result, hi - first + 1, items - first + 1)
            result.after = _count(table.name)
            result.seconds = time.monotonic() - started
            result.finished = True
            if progress is not None:
                progress(result, 1, 1)
            results.append(result)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table.db_table}")
    return results
