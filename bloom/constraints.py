"""Constraint violations told to staff as sentences naming the field (docs/adr/0240).

Every CheckConstraint and UniqueConstraint in the project has a sentence here: written out in
`SENTENCES` (constraint name -> (field, sentence)) or derived from the shapes of
`bloom/fields.py` (`<table>_<field>_valid` choice checks, `_not_negative` checks) and from plain
unique constraints over fields. Two paths use them:

- Forms. `install()` (run by BloomConfig.ready) makes each constraint's `validate()` raise the
  sentence, attached to its field, so Django's model validation of constraints in ModelForms
  (the admin's change forms) shows it next to the field and keeps what was typed.
- Writes outside forms. `constraint_error(exc)` turns a database IntegrityError into a
  ValidationError with the same sentence, found by the constraint name PostgreSQL reports
  (or, for a unique column or a missing value, by the column it names); the database's own
  name never reaches a person. `humane_integrity_errors()` wraps a write in a savepoint and
  does that conversion.

Messages are not schema: they live here rather than as `violation_error_message` on each
constraint, so changing a sentence needs no migration and apps other helpers own are covered.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, models, transaction
from django.db.models import Q

# name -> (field the sentence belongs to, or None for the whole row; the sentence)
SENTENCES: dict[str, tuple[str | None, str]] = {
    # allauth (installed apps the project runs on)
    "unique_primary_email": ("primary", "This person already has a primary email address."),
    "unique_verified_email": ("email", "Another account has already verified this email address."),
    "unique_authenticator_type": ("type", "This person already has an authenticator of this type."),
    # accounts: staff onboarding
    "staff_invitations_accepted_or_revoked": (None, "An invitation is either accepted or revoked, never both."),
    # notifications
    "email_queue_idempotency_key_unique": ("idempotency_key", "An email with this idempotency key is already queued."),
    "sequence_emails_position_unique": ("position", "Another email in this sequence already has this position."),
    "sequence_emails_template_or_subject": ("subject", "Give the email a subject or choose a template."),
    "email_seq_enroll_unique": ("email", "This address is already enrolled in this sequence."),
    "email_campaign_metrics_email_unique": ("email", "This email already has campaign metrics."),
    # accounts
    "user_achievements_user_key_uniq": ("key", "This member already has this achievement."),
    "wellness_entries_user_date_uniq": ("entry_date", "There is already a check-in for this date."),
    "wellness_entries_mood_range": ("mood", "Mood must be between 1 and 5."),
    "wellness_entries_anxiety_range": ("anxiety", "Anxiety must be between 1 and 5, or left empty."),
    "wellness_entries_energy_range": ("energy", "Energy must be between 1 and 5, or left empty."),
    "wellness_entries_support_range": ("support", "Support must be between 1 and 5, or left empty."),
    "wellness_entries_sleep_range": ("sleep_hours", "Sleep hours must be between 0 and 24, or left empty."),
    "admin_role_permissions_uniq": ("permission", "This role already has this permission."),
    "data_requests_one_open_per_kind": ("kind", "This member already has an open request of this kind."),
    "screening_points_week_in_range": (
        "week",
        "Week must be 1 to 42 in pregnancy, or at most 156 after birth.",
    ),
    "screening_points_window_positive": ("window_weeks", "The window must be at least 1 week."),
    "screening_points_uniq": ("week", "This questionnaire is already scheduled for this stage and week."),
    "screening_responses_total_range": ("total", "The total score cannot be more than 30."),
    "member_screening_points_uniq": ("point", "This member already has this screening point for this date."),
    "risk_alerts_acknowledged_by_someone": (
        "acknowledged_by",
        "An acknowledged alert must say who acknowledged it.",
    ),
    "member_pauses_ends_after_start": ("ends_at", "The pause must end after it starts."),
    "member_pauses_ended_after_start": ("ended_at", "A pause cannot be ended before it started."),
    # billing
    "payment_intents_refund_within_amount": (
        "amount_refunded",
        "The amount refunded must be between 0 and the amount paid.",
    ),
    "refund_requests_amount_positive": ("amount_requested", "The amount requested must be more than 0."),
    "refund_requests_approved_positive": ("amount_approved", "The amount approved must be more than 0, or left empty."),
    "stripe_checks_refund_iff_refund_operation": (
        "refund",
        "A refund check must name its refund, and only a refund check may.",
    ),
    "stripe_checks_one_open_per_payment": ("payment", "This payment is already being checked with Stripe."),
    "stripe_checks_one_open_per_refund": ("refund", "This refund is already being checked with Stripe."),
    "user_payment_methods_one_default": ("is_default", "This member already has a default card."),
    # content
    "blog_posts_published_has_date": ("published_at", "A published post needs a publication date."),
    "blog_posts_seo_score_range": ("seo_score", "The SEO score cannot be more than 100."),
    "blog_post_versions_post_number_uniq": ("version_number", "This post already has a version with this number."),
    "content_approvals_decided_at_iff_decided": (
        "decided_at",
        "A decided approval needs the time of the decision, and a pending one must not have it.",
    ),
    "content_approvals_one_pending_per_post": ("post", "This post is already waiting for review."),
    "subscribers_email_lower_uniq": ("email", "This address is already subscribed (capital letters do not count)."),
    "subscribers_confirmed_has_date": ("confirmed_at", "A confirmed subscriber needs the date they confirmed."),
    "subscribers_engagement_range": ("engagement_score", "The engagement score cannot be more than 100."),
    "newsletter_campaigns_scheduled_has_time": ("scheduled_at", "A scheduled campaign needs a sending time."),
    "newsletter_campaigns_sent_has_time": ("sent_at", "A sent campaign needs the time it was sent."),
    # courses
    "course_enrollments_percent_range": ("progress_percent", "Progress must be between 0 and 100 percent."),
    "course_discount_codes_uses_within_max": ("max_uses", "The use limit cannot be lower than the uses already made."),
    "course_discount_codes_percent_max_100": ("discount_value", "A percentage discount cannot be more than 100."),
    "course_discount_codes_value_positive": ("discount_value", "The discount cannot be negative."),
    "course_discount_codes_type_valid": ("discount_type", "Choose percentage or fixed amount as the discount type."),
    # workshops
    "workshops_ends_after_start": ("ends_at", "The workshop must end after it starts."),
    "workshop_registrations_one_active": ("user", "This member is already registered for this workshop."),
    "workshop_waitlist_position_unique": ("position", "Another waitlist entry already has this position."),
    "workshop_waitlist_one_active": ("user", "This member is already on the waitlist for this workshop."),
    "workshop_waitlist_offer_has_expiry": ("offer_expires_at", "An offered seat needs an expiry time."),
    "workshop_attendance_one_zoom_row_each": (
        "participant_key",
        "This Zoom participant already has an attendance row for this workshop.",
    ),
    "workshop_attendance_has_a_time": ("joined_at", "Attendance needs a join time or a leave time."),
    "workshop_attendance_left_after_join": ("left_at", "The leave time cannot be before the join time."),
    "workshop_connection_events_end_has_no_connection": (
        "connection_id",
        "A meeting-ended event has no connection or participant; every other event needs both.",
    ),
    "workshop_feedback_one_per_member": ("user", "This member has already given feedback on this workshop."),
    "workshop_feedback_rating_1_5": ("rating", "The rating must be from 1 to 5."),
    "workshop_resources_file_or_url": ("url", "Give the resource a file or a link."),
    # appointments
    "therapist_profiles_calendly_user_uri_uniq": (
        "calendly_user_uri",
        "Another therapist is already linked to this Calendly user.",
    ),
    "therapist_availability_end_after_start": ("end_time", "The hours must end after they start."),
    "therapist_availability_valid_range": ("valid_until", "The last day cannot be before the first day."),
    "booking_links_one_per_pair": ("therapist", "This member already has a booking link for this therapist."),
    "appointment_data_ends_after_start": ("ends_at", "The appointment must end after it starts."),
    "appointment_payments_one_live_per_kind": (
        "kind",
        "This appointment already has a payment of this kind in progress.",
    ),
    "appointment_reminder_logs_once": ("kind", "This reminder was already sent on this channel."),
    "session_notes_signed_has_time": ("signed_at", "A signed note needs the time it was signed; a draft has none."),
}

FALLBACK = "This change breaks one of the practice's data rules, so nothing was saved. Check the values and try again."


def _label(model: type[models.Model], field: str | None) -> str:
    if field is None:
        return ""
    try:
        return str(model._meta.get_field(field).verbose_name)
    except FieldDoesNotExist:
        return field.replace("_", " ")


def _first_field(condition: Q) -> str | None:
    for child in condition.children:
        if isinstance(child, Q):
            found = _first_field(child)
            if found:
                return found
        else:
            return child[0].split("__")[0]
    return None


def describe(model: type[models.Model], constraint: models.BaseConstraint) -> tuple[str | None, str] | None:
    """(field, sentence) for one of `model`'s constraints, or None when none is known.

    A sentence written on the constraint itself (`violation_error_message`) wins; then
    `SENTENCES`; then the shapes of bloom/fields.py and plain unique constraints.
    """
    if constraint.violation_error_message != constraint.default_violation_error_message:
        fields = getattr(constraint, "fields", ()) or ()
        return (fields[0] if len(fields) == 1 else None), str(constraint.violation_error_message)
    if constraint.name in SENTENCES:
        return SENTENCES[constraint.name]
    if isinstance(constraint, models.CheckConstraint):
        field = _first_field(constraint.condition)
        if field is None:
            return None
        label = _label(model, field).capitalize()
        if constraint.name.endswith("_valid"):
            return field, f"{label} must be one of the listed choices."
        if constraint.name.endswith(("_not_negative", "_positive")):
            return field, f"{label} cannot be negative."
        return None
    if isinstance(constraint, models.UniqueConstraint) and constraint.fields and constraint.condition is None:
        labels = [_label(model, name) for name in constraint.fields]
        together = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        return constraint.fields[-1], f"Another {model._meta.verbose_name} already has this {together}."
    return None


def project_constraints() -> Iterator[tuple[type[models.Model], models.BaseConstraint]]:
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            yield model, constraint


def _humane_validate(model: type[models.Model], constraint: models.BaseConstraint, field: str | None, sentence: str):
    original = constraint.validate

    def validate(model_class, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        try:
            original(model_class, instance, exclude=exclude, using=using)
        except ValidationError as exc:
            code = getattr(exc, "code", None) or constraint.violation_error_code
            error = ValidationError(sentence, code=code)
            raise ValidationError({field: [error]}) if field else error from exc

    validate.humane = True
    return validate


def install() -> None:
    """Make every known constraint's validation raise its sentence on its field (idempotent)."""
    for model, constraint in project_constraints():
        if getattr(constraint.validate, "humane", False):
            continue
        described = describe(model, constraint)
        if described is not None:
            constraint.validate = _humane_validate(model, constraint, *described)


_KEY_DETAIL = re.compile(r"Key \((?:lower\()?\"?(?P<column>[a-z0-9_]+)")


def _model_for_table(table: str | None) -> type[models.Model] | None:
    for model in apps.get_models():
        if model._meta.db_table == table:
            return model
    return None


def _field_for_column(model: type[models.Model] | None, column: str | None) -> str | None:
    if model is None or not column:
        return None
    for field in model._meta.concrete_fields:
        if field.column == column:
            return field.name
    return None


def constraint_error(exc: IntegrityError) -> ValidationError:
    """The sentence for a database IntegrityError, as a ValidationError (keyed by field when known).

    Looks the reported constraint up first; a unique column, a missing value or a broken link
    that no constraint of ours names is told by its column; anything else gets FALLBACK.
    """
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    table = getattr(diag, "table_name", None)
    model = _model_for_table(table)
    for owner, constraint in project_constraints():
        if constraint.name == name:
            described = describe(owner, constraint)
            if described is not None:
                field, sentence = described
                return ValidationError({field: [sentence]}) if field else ValidationError(sentence)
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate == "23505":  # unique_violation on a unique=True column
        match = _KEY_DETAIL.search(getattr(diag, "message_detail", "") or "")
        field = _field_for_column(model, match and match.group("column"))
        if field:
            noun = model._meta.verbose_name
            return ValidationError({field: [f"Another {noun} already has this {_label(model, field)}."]})
    if sqlstate == "23502":  # not_null_violation
        field = _field_for_column(model, getattr(diag, "column_name", None))
        if field:
            return ValidationError({field: [f"{_label(model, field).capitalize()} is required."]})
    if sqlstate == "23503":  # foreign_key_violation
        return ValidationError("This change points at something that no longer exists, so nothing was saved.")
    return ValidationError(FALLBACK)


def error_sentences(error: ValidationError) -> str:
    """One line for a message: each sentence once, without the field keys."""
    return " ".join(dict.fromkeys(error.messages))


@contextlib.contextmanager
def humane_integrity_errors() -> Iterator[None]:
    """Run the block in a savepoint; a constraint violation inside it becomes a ValidationError.

    The savepoint is rolled back, so the surrounding transaction can go on (and tell staff).
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise constraint_error(exc) from exc
