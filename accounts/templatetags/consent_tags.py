"""`{% telehealth_consented as ok %}`: whether the signed-in member has agreed to the current
telehealth consent text (the session page asks before the first video session)."""

from django import template

from ..selectors.consent import telehealth_consent_current

register = template.Library()


@register.simple_tag(takes_context=True)
def telehealth_consented(context) -> bool:
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return False
    return telehealth_consent_current(member=user)
