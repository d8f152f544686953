"""allauth's email_confirmed: a verified address claims the course purchases made with it."""

from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from .services import course_users_link


@receiver(email_confirmed, dispatch_uid="courses_link_course_users")
def link_course_purchases(sender, request, email_address, **kwargs):
    course_users_link(user=email_address.user, email=email_address.email)
