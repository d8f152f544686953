import pytest

from notifications.models import EmailQueue, UserNotification
from tests.factories.accounts import UserFactory
from tests.factories.workshops import WorkshopFactory
from workshops import services
from workshops.models import WorkshopRegistration

pytestmark = pytest.mark.django_db


def test_registration_is_confirmed_once_in_the_portal_and_by_email(django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("workshops.tasks.workshop_notice_send_task.delay", lambda *args: queued.append(args))
    member = UserFactory()
    workshop = WorkshopFactory(title="Night feeds and rest")
    with django_capture_on_commit_callbacks(execute=True):
        registration = services.registration_create(member=member, workshop=workshop)
    assert queued == [("registered", str(registration.pk))]

    assert services.registration_notice_send(kind="registered", registration_id=registration.pk) is True
    assert services.registration_notice_send(kind="registered", registration_id=registration.pk) is False

    notice = UserNotification.objects.get(user=member)
    assert notice.type == "workshop_registered" and "Night feeds and rest" in notice.title
    email = EmailQueue.objects.get(to_email=member.email)
    assert email.subject.strip().endswith("You're registered: Night feeds and rest")
    assert f"/workshops/{workshop.slug}/" in email.text_body


def test_no_confirmation_for_a_registration_cancelled_meanwhile():
    registration = services.registration_create(member=UserFactory(), workshop=WorkshopFactory())
    services.registration_cancel(registration=registration)
    assert services.registration_notice_send(kind="registered", registration_id=registration.pk) is False
    assert not UserNotification.objects.exists()


def test_seat_offer_notice_names_the_deadline():
    workshop = WorkshopFactory(capacity=1)
    seat = services.registration_create(member=UserFactory(), workshop=workshop)
    waiting = services.registration_create(member=UserFactory(), workshop=workshop)
    services.registration_cancel(registration=seat)
    assert services.registration_notice_send(kind="seat_offered", registration_id=waiting.pk) is True
    notice = UserNotification.objects.get(user=waiting.user)
    assert notice.type == "workshop_seat_offered"
    assert "holding it for you until" in EmailQueue.objects.get(to_email=waiting.user.email).text_body
    assert WorkshopRegistration.objects.get(pk=waiting.pk).status == "waitlisted"
