from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from notifications.services import EmailCategory, EmailPriority, queue_email

from .services import member_records_ensure


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # The user, profile and preferences are written in one transaction.
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                data = getattr(form, "cleaned_data", {})
                member_records_ensure(
                    user=user,
                    referral_source=data.get("referral_source") or None,
                    marketing_consent=bool(data.get("marketing_consent")),
                )
        return user

    def send_mail(self, template_prefix, email, context):
        """All allauth mail (verification, reset ...) goes through the outbox at high priority."""
        message = self.render_mail(template_prefix, email, context)
        html = next((body for body, mime in getattr(message, "alternatives", []) if mime == "text/html"), "")
        user = context.get("user")
        queue_email(
            to=email,
            subject=message.subject,
            text_body=message.body,
            html_body=html,
            user=user if getattr(user, "pk", None) else None,
            category=EmailCategory.TRANSACTIONAL,
            priority=EmailPriority.HIGH,
        )
