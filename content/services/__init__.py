"""Writes for the public site, one module per sub-domain (docs/adr/0120-content-sub-domains.md).

Callers keep `from content import services` and `services.<name>`; the public API of every
sub-domain is re-exported here. Reads live in `content.selectors`.
"""

from .analytics import analytics_event_record
from .blog import (
    blog_post_approve,
    blog_post_archive,
    blog_post_delete,
    blog_post_publish,
    blog_post_request_changes,
    blog_post_restore,
    blog_post_save,
    blog_post_submit_for_review,
    blog_post_version_restore,
    blog_post_view_record,
)
from .campaigns import (
    CAMPAIGN_BATCH_SIZE,
    campaign_audience_check,
    campaign_cancel,
    campaign_merge_tags_check,
    campaign_preview,
    campaign_save,
    campaign_send,
    campaign_send_due,
    campaign_send_start,
    campaign_test_send,
)
from .chat import (
    chat_auto_reply_text,
    chat_conversation_close,
    chat_conversation_start,
    chat_hours_open,
    chat_message_post,
    chat_next_open_at,
    chat_staff_reply,
    chat_visitor_token,
    chat_visitor_token_read,
    chat_visitor_url,
    chat_writer_message_post,
)
from .enquiries import career_application_submit, contact_submission_create, contact_submission_status_set
from .newsletter import (
    CONFIRM_MAX_AGE,
    subscriber_confirm,
    subscriber_confirm_token,
    subscriber_confirm_url,
    subscriber_engagement_recompute,
    subscriber_subscribe,
    subscriber_unsubscribe,
)
from .segments import segment_members_add, segment_members_remove, segment_rule_validate

__all__ = [
    "CAMPAIGN_BATCH_SIZE",
    "CONFIRM_MAX_AGE",
    "analytics_event_record",
    "blog_post_approve",
    "blog_post_archive",
    "blog_post_delete",
    "blog_post_publish",
    "blog_post_request_changes",
    "blog_post_restore",
    "blog_post_save",
    "blog_post_submit_for_review",
    "blog_post_version_restore",
    "blog_post_view_record",
    "campaign_cancel",
    "campaign_merge_tags_check",
    "campaign_preview",
    "campaign_save",
    "campaign_send",
    "campaign_send_due",
    "campaign_audience_check",
    "campaign_send_start",
    "campaign_test_send",
    "career_application_submit",
    "chat_auto_reply_text",
    "chat_conversation_close",
    "chat_conversation_start",
    "chat_hours_open",
    "chat_message_post",
    "chat_next_open_at",
    "chat_staff_reply",
    "chat_visitor_token",
    "chat_visitor_token_read",
    "chat_visitor_url",
    "chat_writer_message_post",
    "contact_submission_create",
    "contact_submission_status_set",
    "segment_members_add",
    "segment_members_remove",
    "segment_rule_validate",
    "subscriber_confirm",
    "subscriber_confirm_token",
    "subscriber_confirm_url",
    "subscriber_engagement_recompute",
    "subscriber_subscribe",
    "subscriber_unsubscribe",
]
