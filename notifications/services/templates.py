"""Templates: sending staff a test of an edited email template."""

from __future__ import annotations

from .. import rendering
from ..models import EmailPriority, EmailQueue, EmailTemplate
from .outbox import email_enqueue


def email_template_test_send(*, template: EmailTemplate, to: str) -> EmailQueue | None:
    """Queue the template rendered with its sample data to a staff member's own address."""
    context = rendering.sample_context(template.key)
    rendered = rendering.RenderedEmail(
        subject="[TEST] " + rendering._clean_subject(rendering._render(template.subject, context, autoescape=False)),
        text_body=rendering._render(template.text_template, context, autoescape=False),
        html_body=rendering._render(template.html_template, context, autoescape=True)
        if template.html_template.strip()
        else "",
    )
    return email_enqueue(
        to=to,
        subject=rendered.subject,
        text_body=rendered.text_body,
        html_body=rendered.html_body,
        priority=EmailPriority.HIGH,
    )
