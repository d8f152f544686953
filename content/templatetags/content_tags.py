from django import template
from django.utils.safestring import mark_safe

from bloom.sanitize import POLICIES, sanitize_html

register = template.Library()


@register.filter
def sanitized(value: str, policy: str = "blog") -> str:
    """Render staff-written HTML after cleaning it again under the named policy (defence in depth, docs/adr/0071)."""
    return mark_safe(sanitize_html(value, POLICIES[policy]))  # noqa: S308 - nh3 output is safe by construction


@register.simple_tag(takes_context=True)
def merged(context, value: str, policy: str = "") -> str:
    """Campaign text with its merge tags filled in for this email's recipient (content/merge_tags.py).

    With a `policy` the value is HTML: cleaned, filled in with escaped values, and cleaned again
    (so a value can never smuggle markup or a `javascript:` link in). Without one it is plain
    text, for the subject and the text part (rendered with autoescaping off).
    """
    from content.merge_tags import merge_tags_render

    values = {
        "first_name": context.get("first_name", ""),
        "email": context.get("recipient_email", ""),
        "unsubscribe_url": context.get("unsubscribe_url", ""),
        "site_url": context.get("site_url", ""),
    }
    if not policy:
        return merge_tags_render(value, values, html=False)
    cleaned = sanitize_html(value, POLICIES[policy])
    filled = merge_tags_render(cleaned, values, html=True)
    return mark_safe(sanitize_html(filled, POLICIES[policy]))  # noqa: S308 - nh3 output is safe by construction
