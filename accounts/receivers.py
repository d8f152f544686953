from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from .services import member_email_verified


@receiver(email_confirmed)
def mirror_email_confirmed(sender, request, email_address, **kwargs):
    member_email_verified(user=email_address.user, email=email_address.email)
