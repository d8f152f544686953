"""`{% reports_for_user as reports %}`: the admin reports the signed-in staff member may open."""

from django import template

from bloom.admin_reports import reports_for

register = template.Library()


@register.simple_tag(takes_context=True)
def reports_for_user(context):
    request = context.get("request")
    return reports_for(request.user) if request is not None else []
