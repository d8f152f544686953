"""One approval workflow for every kind of content (docs/adr/0390).

    draft -> in_review -> approved -> published
                 |            |-> scheduled -> published (beat, `content_publish_due`)
                 '-> draft (changes requested)        published -> draft (unpublished)

The apps that own content register each kind (`register_workflow_kind`) from their
AppConfig.ready, saying how the item is published and unpublished: that is where their own
publishing guards run (a course with no lessons, a workshop with no host), so a refusal reaches
this module as an exception and nothing changes. This layer imports no app above it.

Every transition writes one `content_workflow_events` row (who, when, from, to, comment); beat's
are written with no actor. Reviewers hold `bloom.approve_content`; authors need the change
permission of the item's model to submit it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from bloom.constraints import error_sentences
from bloom.exceptions import ApplicationError
from bloom.workflow_models import ContentApprovalPolicy, ContentWorkflowEvent, ContentWorkflowState, WorkflowState

logger = logging.getLogger(__name__)

APPROVE_PERMISSION = "bloom.approve_content"


@dataclass(frozen=True)
class WorkflowKind:
    """How one model takes part in the workflow.

    `publish(obj)` makes the item live for members and raises ApplicationError or
    ValidationError (the app's publishing guard) to refuse; `unpublish(obj)` takes it down;
    `is_live(obj)` says whether the item's own status shows it published (an item that was
    published before the workflow existed starts as published); `on_state(obj, state)`, when
    given, mirrors the other states on the item's own status column; `author(obj)` is a user the
    two-person rule also keeps from approving; `on_event(obj, from_state, to_state, actor,
    comment)`, when given, records each step in the app's own tables too (in the same transaction).
    """

    model: type[models.Model]
    noun: str
    publish: Callable[[models.Model], object]
    unpublish: Callable[[models.Model], object]
    is_live: Callable[[models.Model], bool]
    on_state: Callable[[models.Model, str], object] | None = None
    author: Callable[[models.Model], object] | None = None
    on_event: Callable[..., object] | None = None
    schedulable: bool = True


_KINDS: dict[str, WorkflowKind] = {}
_REFUSAL_LISTENERS: list[Callable[..., object]] = []


def register_workflow_kind(kind: WorkflowKind) -> None:
    """Add one kind of content to the workflow (idempotent per model)."""
    _KINDS[kind.model._meta.label_lower] = kind


def register_publish_refusal_listener(listener: Callable[..., object]) -> None:
    """`listener(state=..., reason=...)` runs after commit when beat could not publish an item."""
    if listener not in _REFUSAL_LISTENERS:
        _REFUSAL_LISTENERS.append(listener)


def workflow_kinds() -> list[WorkflowKind]:
    return list(_KINDS.values())


def workflow_kind_for(model: type[models.Model] | models.Model) -> WorkflowKind | None:
    return _KINDS.get(model._meta.label_lower)


def _kind(obj: models.Model) -> WorkflowKind:
    kind = workflow_kind_for(obj)
    if kind is None:
        raise ApplicationError(f"{obj._meta.verbose_name.capitalize()} does not go through review.")
    return kind


# --- Selectors ----------------------------------------------------------------------------


def content_workflow_state_get(*, obj: models.Model) -> ContentWorkflowState:
    """The item's workflow row, or an unsaved one in the state its own status implies."""
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    row = ContentWorkflowState.objects.filter(content_type=content_type, object_id=obj.pk).first()
    if row is not None:
        drift = _drift(row, obj)
        if drift is not None:
            row.state = drift[0]  # shown as the item's own status says; written at the next step
        return row
    live = _kind(obj).is_live(obj)
    return ContentWorkflowState(
        content_type=content_type,
        object_id=obj.pk,
        state=WorkflowState.PUBLISHED if live else WorkflowState.DRAFT,
        title=str(obj)[:300],
    )


def content_workflow_history(*, obj: models.Model) -> models.QuerySet[ContentWorkflowEvent]:
    """Every transition of the item, newest first, with the actor loaded."""
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    return ContentWorkflowEvent.objects.filter(content_type=content_type, object_id=obj.pk).select_related("actor")


def content_workflow_object(*, state: ContentWorkflowState) -> models.Model | None:
    """The item a workflow row is about (archived ones included), or None when it is gone."""
    model = state.content_type.model_class()
    if model is None:
        return None
    return model._base_manager.filter(pk=state.object_id).first()


def two_person_rule_applies(*, model: type[models.Model]) -> bool:
    """Whether the two-person rule is on for this model (on unless staff turned it off)."""
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    policy = ContentApprovalPolicy.objects.filter(content_type=content_type).first()
    return True if policy is None else policy.two_person_rule


def user_may_approve(*, user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(APPROVE_PERMISSION))


def user_may_submit(*, user, model: type[models.Model]) -> bool:
    opts = model._meta
    return bool(user and user.is_authenticated and user.has_perm(f"{opts.app_label}.change_{opts.model_name}"))


# --- Services -----------------------------------------------------------------------------


def _drift(row: ContentWorkflowState, obj) -> tuple[str, str] | None:
    """(state, comment) when the item's own status moved outside the workflow (an older admin
    action published or unpublished it): a live item is published, and a published one that is
    no longer live is a draft. None when the row agrees with the item."""
    live = _kind(obj).is_live(obj)
    if live and row.state != WorkflowState.PUBLISHED:
        return WorkflowState.PUBLISHED, "Published outside the workflow (its own status says so)."
    if not live and row.state == WorkflowState.PUBLISHED:
        return WorkflowState.DRAFT, "Unpublished outside the workflow (its own status says so)."
    return None


def _lock(obj: models.Model) -> ContentWorkflowState:
    """The item's workflow row, created in the state its own status implies, locked for update.

    A row the item's own status has moved away from is brought in line first, with a history
    entry saying so (no actor), so the workflow never acts on a state the item is not in.
    """
    unsaved = content_workflow_state_get(obj=obj)
    if unsaved.pk is not None and not unsaved._state.adding:
        row = ContentWorkflowState.objects.select_for_update().get(pk=unsaved.pk)
    else:
        row, _ = ContentWorkflowState.objects.select_for_update().get_or_create(
            content_type=unsaved.content_type,
            object_id=unsaved.object_id,
            defaults={"state": unsaved.state, "title": unsaved.title},
        )
    drift = _drift(row, obj)
    if drift is not None:
        _move(row, obj, to=drift[0], actor=None, comment=drift[1], publish_at=None)
    return row


def _move(row: ContentWorkflowState, obj, *, to: str, actor, comment: str = "", **fields) -> ContentWorkflowState:
    from_state = row.state
    event = ContentWorkflowEvent.objects.create(
        content_type_id=row.content_type_id,
        object_id=row.object_id,
        actor=actor,
        from_state=row.state,
        to_state=to,
        comment=comment.strip(),
    )
    row.state = to
    row.title = str(obj)[:300]
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    row.last_event = event
    kind = _kind(obj)
    if kind.on_state is not None and to not in (WorkflowState.PUBLISHED,):
        kind.on_state(obj, to)
    if kind.on_event is not None:
        kind.on_event(obj, from_state, to, actor, event.comment)
    return row


def _refuse_unless(row: ContentWorkflowState, obj, allowed: tuple[str, ...], doing: str) -> None:
    if row.state not in allowed:
        noun = _kind(obj).noun
        raise ApplicationError(f"This {noun} is {row.get_state_display().lower()}, so it cannot be {doing} now.")


def _require_approver(user, doing: str) -> None:
    if not user_may_approve(user=user):
        raise ApplicationError(f"Only reviewers can {doing} content. Ask a reviewer to do it.")


def _guard_sentence(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return error_sentences(exc)
    return getattr(exc, "message", None) or str(exc)


@transaction.atomic
def content_submit(*, obj: models.Model, user, comment: str = "") -> ContentWorkflowState:
    """Send a draft for review. Needs the change permission of the item's model."""
    kind = _kind(obj)
    if not user_may_submit(user=user, model=kind.model):
        raise ApplicationError(f"You cannot edit {kind.model._meta.verbose_name_plural}, so you cannot submit one.")
    row = _lock(obj)
    _refuse_unless(row, obj, (WorkflowState.DRAFT,), "submitted for review")
    return _move(
        row,
        obj,
        to=WorkflowState.IN_REVIEW,
        actor=user,
        comment=comment,
        submitted_by=user,
        submitted_at=timezone.now(),
        approved_by=None,
        approved_at=None,
        publish_at=None,
        refusal="",
    )


@transaction.atomic
def content_approve(*, obj: models.Model, user, comment: str = "") -> ContentWorkflowState:
    """Approve an item in review (reviewers only). With the two-person rule on for its kind,
    neither the person who submitted it nor its author may approve it."""
    _require_approver(user, "approve")
    kind = _kind(obj)
    row = _lock(obj)
    _refuse_unless(row, obj, (WorkflowState.IN_REVIEW,), "approved")
    if two_person_rule_applies(model=kind.model):
        author = kind.author(obj) if kind.author else None
        if user.pk in {row.submitted_by_id, getattr(author, "pk", None)}:
            raise ApplicationError(
                f"The two-person rule is on for {kind.model._meta.verbose_name_plural}: someone other than "
                f"the person who wrote or submitted this {kind.noun} has to approve it."
            )
    return _move(
        row, obj, to=WorkflowState.APPROVED, actor=user, comment=comment, approved_by=user, approved_at=timezone.now()
    )


@transaction.atomic
def content_request_changes(*, obj: models.Model, user, comment: str) -> ContentWorkflowState:
    """Send an item in review back to draft with the reviewer's comment (required)."""
    _require_approver(user, "review")
    if not (comment or "").strip():
        raise ApplicationError("Say what should change, so the author knows what to do.")
    row = _lock(obj)
    _refuse_unless(row, obj, (WorkflowState.IN_REVIEW,), "sent back")
    return _move(row, obj, to=WorkflowState.DRAFT, actor=user, comment=comment, approved_by=None, approved_at=None)


def _publish(row: ContentWorkflowState, obj, *, actor, comment: str) -> ContentWorkflowState:
    kind = _kind(obj)
    with transaction.atomic():  # a refusal rolls back whatever the guard's service began
        kind.publish(obj)
    return _move(row, obj, to=WorkflowState.PUBLISHED, actor=actor, comment=comment, publish_at=None, refusal="")


@transaction.atomic
def content_publish(*, obj: models.Model, user, comment: str = "") -> ContentWorkflowState:
    """Publish an approved (or scheduled) item now (reviewers only). The app's publishing guard
    runs; its refusal is raised as ApplicationError and nothing changes."""
    _require_approver(user, "publish")
    row = _lock(obj)
    _refuse_unless(row, obj, (WorkflowState.APPROVED, WorkflowState.SCHEDULED), "published")
    try:
        return _publish(row, obj, actor=user, comment=comment)
    except (ApplicationError, ValidationError) as exc:
        raise ApplicationError(_guard_sentence(exc)) from exc


@transaction.atomic
def content_schedule(*, obj: models.Model, user, publish_at: dt.datetime, comment: str = "") -> ContentWorkflowState:
    """Schedule an approved item (or move a scheduled one) for beat to publish at `publish_at`,
    which must be in the future (reviewers only)."""
    _require_approver(user, "schedule")
    kind = _kind(obj)
    if not kind.schedulable:
        raise ApplicationError(f"A {kind.noun} cannot be scheduled; publish it when it is ready.")
    if publish_at is None or publish_at <= timezone.now():
        raise ApplicationError("Choose a publication time in the future.")
    row = _lock(obj)
    _refuse_unless(row, obj, (WorkflowState.APPROVED, WorkflowState.SCHEDULED), "scheduled")
    return _move(row, obj, to=WorkflowState.SCHEDULED, actor=user, comment=comment, publish_at=publish_at, refusal="")


@transaction.atomic
def content_unschedule(*, obj: models.Model, user, comment: str = "") -> ContentWorkflowState:
    """Take a scheduled item off the schedule: it stays approved."""
    _require_approver(user, "unschedule")
    row = _lock(obj)
    _refuse_unless(row, obj, (WorkflowState.SCHEDULED,), "unscheduled")
    return _move(row, obj, to=WorkflowState.APPROVED, actor=user, comment=comment, publish_at=None)


@transaction.atomic
def content_unpublish(*, obj: models.Model, user, comment: str = "") -> ContentWorkflowState:
    """Take a published item down (reviewers only); it returns to draft and needs a new review."""
    _require_approver(user, "unpublish")
    row = _lock(obj)
    _refuse_unless(row, obj, (WorkflowState.PUBLISHED,), "unpublished")
    try:
        with transaction.atomic():
            _kind(obj).unpublish(obj)
    except (ApplicationError, ValidationError) as exc:
        raise ApplicationError(_guard_sentence(exc)) from exc
    return _move(row, obj, to=WorkflowState.DRAFT, actor=user, comment=comment, approved_by=None, approved_at=None)


@dataclass
class PublishDueResult:
    published: list[ContentWorkflowState] = field(default_factory=list)
    refused: list[tuple[ContentWorkflowState, str]] = field(default_factory=list)


def _notify_refusal(row: ContentWorkflowState, reason: str) -> None:
    for listener in list(_REFUSAL_LISTENERS):
        try:
            listener(state=row, reason=reason)
        except Exception:  # one broken listener must not stop beat or the others
            logger.exception("publish refusal listener failed for workflow row %s", row.pk)


def content_publish_due(*, now: dt.datetime | None = None) -> PublishDueResult:
    """Publish every scheduled item whose time has come (beat, every minute). Idempotent.

    Each item in its own transaction, its row locked with SKIP LOCKED, so two runs never
    publish one item twice. When the app's publishing guard refuses, the item goes back to
    approved with the reason kept on the row and in its history, and the refusal listeners
    (staff alert) run after commit; the item is not retried until someone schedules it again.
    An item that no longer exists leaves the schedule the same way.
    """
    now = now or timezone.now()
    result = PublishDueResult()
    due = list(
        ContentWorkflowState.objects.filter(state=WorkflowState.SCHEDULED, publish_at__lte=now)
        .order_by("publish_at")
        .values_list("pk", flat=True)
    )
    for pk in due:
        with transaction.atomic():
            row = (
                ContentWorkflowState.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=WorkflowState.SCHEDULED, publish_at__lte=now)
                .select_related("content_type")
                .first()
            )
            if row is None:
                continue
            obj = content_workflow_object(state=row)
            if obj is None or workflow_kind_for(obj) is None:
                reason = "The item no longer exists."
                row.state, row.publish_at, row.refusal = WorkflowState.APPROVED, None, reason
                row.save()
                result.refused.append((row, reason))
                continue
            try:
                _publish(row, obj, actor=None, comment="Published on schedule.")
                result.published.append(row)
            except (ApplicationError, ValidationError) as exc:
                reason = _guard_sentence(exc)
                _move(
                    row,
                    obj,
                    to=WorkflowState.APPROVED,
                    actor=None,
                    comment=f"Not published on schedule: {reason}",
                    publish_at=None,
                    refusal=reason,
                )
                result.refused.append((row, reason))
                transaction.on_commit(lambda row=row, reason=reason: _notify_refusal(row, reason))
    return result
