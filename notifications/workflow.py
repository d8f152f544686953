"""Email templates in the approval workflow, and the staff alert when beat cannot publish an item."""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from bloom.workflow import WorkflowKind

from .models import EmailTemplate
from .services import EmailPriority, email_enqueue


def _nothing(template: EmailTemplate) -> None:
    """A template is in use while it exists; review records who checked its words."""


EMAIL_TEMPLATE = WorkflowKind(
    model=EmailTemplate,
    noun="email template",
    publish=_nothing,
    unpublish=_nothing,
    is_live=lambda template: False,
    schedulable=False,
)


def publish_refused_alert(*, state, reason: str) -> None:
    """Tell the care-team inbox that a scheduled item was not published, and why (once per refusal)."""
    opts = state.content_type.model_class()._meta
    try:
        admin_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[state.object_id])
    except NoReverseMatch:
        admin_url = ""
    email_enqueue(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        template="notifications/staff_publish_refused",
        context={
            "kind": str(opts.verbose_name),
            "title": state.title,
            "reason": reason,
            "admin_url": settings.SITE_URL.rstrip("/") + admin_url if admin_url else "",
        },
        priority=EmailPriority.HIGH,
        idempotency_key=f"publish-refused:{state.pk}:{state.updated_at.isoformat()}",
    )
