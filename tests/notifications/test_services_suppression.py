import pytest

from notifications.services import email_enqueue, marketing_unsubscribe
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def test_unsubscribe_withdraws_member_consent_but_not_clinical_mail():
    member = UserFactory()
    member.profile.marketing_consent = True
    member.profile.save()

    marketing_unsubscribe(email=member.email)

    member.profile.refresh_from_db()
    assert member.profile.marketing_consent is False
    assert email_enqueue(to=member.email, subject="News", text_body="x", category="marketing") is None
    assert email_enqueue(to=member.email, subject="Your appointment", text_body="x", category="clinical") is not None
