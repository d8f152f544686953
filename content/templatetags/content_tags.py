from django import template
from django.utils.safestring import mark_safe

from bloom.sanitize import POLICIES, sanitize_html

register = template.Library()


@register.filter
def sanitized(value: str, policy: str = "blog") -> str:
    """Render staff-written HTML after cleaning it again under the named policy (defence in depth, docs/adr/0071)."""
    return mark_safe(sanitize_html(value, POLICIES[policy]))  # noqa: S308 - nh3 output is safe by construction
