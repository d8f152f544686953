from django import template

register = template.Library()


@register.filter
def squash(value: str) -> str:
    """Collapse runs of whitespace (allauth's head_title blocks are indented text)."""
    return " ".join(str(value).split())
