"""Demo data for notifications: the welcome sequence (which migrate also installs), and one email
the provider refused, so the admin home's email card has something to show."""

from .defaults import welcome_sequence_ensure
from .models import EmailQueue, EmailStatus


def seed(*, stdout) -> None:
    welcome_sequence_ensure()
    EmailQueue.objects.get_or_create(
        idempotency_key="demo-failed-email",
        defaults={
            "to_email": "ruth@bloom.test",
            "subject": "Your session is confirmed",
            "text_body": "See you on Thursday.",
            "status": EmailStatus.FAILED,
            "retry_count": 5,
            "last_error": "550 5.1.1 mailbox unavailable (demo)",
        },
    )
    stdout.write("notifications: one failed email (the admin home's email card)")
