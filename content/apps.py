from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = "Public site and newsletter"

    def ready(self) -> None:
        from . import privacy

        privacy.register()  # the personal-data registry (docs/adr/0320)
        from accounts.dashboard import DashboardPanel, register_panel
        from accounts.selectors.members import register_export_section
        from accounts.services.data_requests import register_eraser
        from notifications import services as notification_services

        from . import chat_privacy, selectors, services

        # Messages with the care team are health data: in her export and erasure.
        register_export_section("chat_conversations", chat_privacy.chat_member_export)
        register_eraser(chat_privacy.chat_member_erase)

        # notifications owns who may receive marketing; it tells us about unsubscribes and
        # asks us whether an address is a confirmed subscriber (ARCHITECTURE.md).
        notification_services.register_unsubscribe_handler(services.subscriber_unsubscribe)
        notification_services.register_marketing_consent_lookup(
            selectors.subscriber_marketing_consent, many=selectors.subscriber_marketing_consent_many
        )
        from bloom.workflow import register_workflow_kind

        from . import workflow

        register_workflow_kind(workflow.BLOG_POST)  # docs/content.md "Approval and scheduling"
        register_workflow_kind(workflow.CAMPAIGN)
        for key, sample, description in EMAIL_TEMPLATES:
            notification_services.register_email_template(key, sample_context=sample, description=description)
        from django.db.models.signals import post_delete, post_save

        from .models import BlogPost

        post_save.connect(selectors.blog_post_latest_forget, sender=BlogPost, dispatch_uid="blog_latest_saved")
        post_delete.connect(selectors.blog_post_latest_forget, sender=BlogPost, dispatch_uid="blog_latest_deleted")
        register_panel(
            DashboardPanel(
                key="blog",
                title="From the blog",
                template="content/_dashboard_panel.html",
                context=lambda member: {"posts": selectors.blog_post_list_latest(limit=3)},
                order=90,
            )
        )


_ADMIN_URL = "https://bloompsychology.example/admin/content/"
EMAIL_TEMPLATES = [
    (
        "content/subscriber_confirm",
        {"first_name": "Maya", "confirm_url": "https://bloompsychology.example/newsletter/confirm/sample/"},
        "Double opt-in: the link a new newsletter subscriber clicks to confirm.",
    ),
    (
        "content/contact_alert",
        {"name": "Sam Lee", "subject": "Evening appointments", "admin_url": _ADMIN_URL + "contactsubmission/"},
        "Alert to the care team about a new contact-form message (never includes the message).",
    ),
    (
        "content/career_application_alert",
        {
            "full_name": "Ana Ruiz",
            "job_title": "Perinatal psychotherapist",
            "admin_url": _ADMIN_URL + "careerapplication/",
        },
        "Alert to the hiring inbox about a new job application.",
    ),
    (
        "content/newsletter",
        {
            "subject": "This month at Bloom",
            "preheader": "Sleep, support and small wins",
            "body_html": "<h2>Hello</h2><p>Our news this month.</p>",
            "body_text": "Hello\n\nOur news this month.",
            "first_name": "Maya",
            "campaign_id": "00000000-0000-0000-0000-000000000000",
        },
        "A newsletter campaign; the body is the campaign's sanitised HTML.",
    ),
]
