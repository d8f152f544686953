"""The messaging service, one module per sub-domain: outbox, suppression, tracking, notices,
sequences, templates. Reads (suppression, consent, notices, reports) live in `notifications.selectors`.

Every other app sends mail and portal notices through the names re-exported here
(ARCHITECTURE.md), so callers keep `from notifications import services` and
`from notifications.services import email_enqueue`.
"""

from ..models import EmailCategory, EmailPriority
from ..registry import (
    register_email_template,
    register_marketing_consent_lookup,
    register_pause_check,
    register_sequence_stop_check,
    register_unsubscribe_handler,
)
from .bulk import BulkRecipient, email_enqueue_bulk
from .notices import notification_create, notification_mark_all_read, notification_mark_read
from .outbox import EmailRefused, SweepResult, email_cancel, email_enqueue, email_queue_sweep, email_requeue
from .sequences import (
    automation_log_record_sent,
    enrollment_pause,
    enrollment_resume,
    sequence_enrollments_advance,
    sequence_enrollments_shift,
    sequence_status_set,
    sequence_trigger,
)
from .suppression import marketing_unsubscribe, suppression_add, suppression_remove
from .templates import email_template_test_send
from .tracking import (
    TrackingRejected,
    delivery_event_record,
    tracking_click_record,
    tracking_open_record,
    unsubscribe_token_check,
)

# The old names, for callers in other apps until the lead's sweep renames them there.

__all__ = [
    "BulkRecipient",
    "EmailCategory",
    "EmailPriority",
    "EmailRefused",
    "SweepResult",
    "TrackingRejected",
    "automation_log_record_sent",
    "delivery_event_record",
    "email_cancel",
    "email_enqueue",
    "email_enqueue_bulk",
    "email_queue_sweep",
    "email_requeue",
    "email_template_test_send",
    "enrollment_pause",
    "enrollment_resume",
    "marketing_unsubscribe",
    "notification_create",
    "notification_mark_all_read",
    "notification_mark_read",
    "register_email_template",
    "register_marketing_consent_lookup",
    "register_pause_check",
    "register_sequence_stop_check",
    "register_unsubscribe_handler",
    "sequence_enrollments_advance",
    "sequence_enrollments_shift",
    "sequence_status_set",
    "sequence_trigger",
    "suppression_add",
    "suppression_remove",
    "tracking_click_record",
    "tracking_open_record",
    "unsubscribe_token_check",
]
