"""Factories for notifications models (valid related rows by default)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.utils import timezone

from notifications.models import (
    EmailAutomationLog,
    EmailCampaignMetric,
    EmailCategory,
    EmailQueue,
    EmailSequence,
    EmailSequenceEnrollment,
    EmailSuppression,
    EmailTemplate,
    SequenceEmail,
    SequenceTrigger,
    UserNotification,
)
from tests.factories.accounts import UserFactory


class EmailQueueFactory(factory.django.DjangoModelFactory):
    """A pending, already-rendered email (no MIME: the drain builds it from the parts)."""

    class Meta:
        model = EmailQueue

    to_email = factory.Sequence(lambda n: f"recipient{n}@example.com")
    from_email = "Bloom Psychology <hello@bloompsychology.example>"
    subject = factory.Sequence(lambda n: f"Message {n}")
    text_body = "Hello from Bloom."
    headers = factory.LazyFunction(lambda: {"Message-ID": f"<{uuid.uuid4().hex}@bloompsychology.example>"})
    message_id = factory.LazyAttribute(lambda o: o.headers["Message-ID"])
    category = EmailCategory.TRANSACTIONAL


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailTemplate

    # Each row its own key (the column is unique); pass key="notifications/notice" to override
    # the file-based default of that system email.
    key = factory.Sequence(lambda n: f"custom/template-{n}")
    subject = "Notice: {{ title }}"
    text_template = "{{ title }}\n\n{{ message }}"
    html_template = "<p>{{ title }}</p>"


class EmailSequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailSequence

    name = factory.Sequence(lambda n: f"Sequence {n}")
    trigger = SequenceTrigger.MEMBER_SIGNED_UP
    category = EmailCategory.TRANSACTIONAL
    stop_conditions = factory.LazyFunction(lambda: ["unsubscribed", "suppressed", "account_deleted"])


class SequenceEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SequenceEmail

    sequence = factory.SubFactory(EmailSequenceFactory)
    position = factory.Sequence(lambda n: n + 1)
    delay = timedelta(0)
    subject = factory.Sequence(lambda n: f"Step {n}")
    text_body = "A step of the sequence."


class EmailSequenceEnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailSequenceEnrollment

    sequence = factory.SubFactory(EmailSequenceFactory)
    email = factory.Sequence(lambda n: f"enrolled{n}@example.com")
    next_due_at = factory.LazyFunction(timezone.now)


class EmailAutomationLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailAutomationLog

    enrollment = factory.SubFactory(EmailSequenceEnrollmentFactory)
    sequence = factory.SelfAttribute("enrollment.sequence")
    email = factory.SelfAttribute("enrollment.email")
    event = EmailAutomationLog.Event.QUEUED


class EmailCampaignMetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailCampaignMetric

    campaign_id = factory.LazyFunction(uuid.uuid4)
    email = factory.SubFactory(EmailQueueFactory, category=EmailCategory.MARKETING)
    recipient_email = factory.SelfAttribute("email.to_email")


class EmailSuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailSuppression

    email = factory.Sequence(lambda n: f"suppressed{n}@example.com")
    reason = EmailSuppression.Reason.MANUAL
    scope = EmailSuppression.Scope.ALL


class UserNotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserNotification

    user = factory.SubFactory(UserFactory)
    type = "general"
    title = factory.Sequence(lambda n: f"Notice {n}")
    message = "Something happened."
