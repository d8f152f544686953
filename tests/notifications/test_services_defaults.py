"""A fresh install has the welcome sequence: migrate installs it, and staff choices about it stick."""

import pytest
from django.apps import apps

from accounts.services import member_signup_complete
from notifications.defaults import install_default_sequences
from notifications.models import EmailQueue, EmailSequence, SequenceEmail
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def test_migrate_installs_the_welcome_sequence_with_its_three_steps():
    # The test database was built by `migrate` alone: no seed_demo ran.
    welcome = EmailSequence.objects.get(trigger="member_signed_up")
    assert (welcome.name, welcome.status, welcome.category) == ("Welcome", "active", "marketing")
    assert list(welcome.steps.values_list("position", "template_key")) == [
        (1, "notifications/welcome_1"),
        (2, "notifications/welcome_2"),
        (3, "notifications/welcome_3"),
    ]


def test_a_member_who_consents_gets_the_first_welcome_email_at_sign_up():
    consenting, declining = UserFactory(), UserFactory()
    member_signup_complete(user=consenting, referral_source=None, marketing_consent=True)
    member_signup_complete(user=declining, referral_source=None, marketing_consent=False)

    assert list(EmailQueue.objects.values_list("to_email", "template_key")) == [
        (consenting.email, "notifications/welcome_1")
    ]


def test_an_archived_or_paused_welcome_is_left_as_staff_left_it():
    welcome = EmailSequence.objects.get(name="Welcome")
    welcome.status = "paused"
    welcome.save()
    welcome.archive()

    install_default_sequences(apps=apps)

    assert EmailSequence.all_objects.filter(trigger="member_signed_up").count() == 1
    welcome = EmailSequence.all_objects.get(pk=welcome.pk)
    assert welcome.status == "paused" and welcome.archived_at is not None


def test_a_deleted_welcome_comes_back_at_the_next_migrate():
    EmailSequence.all_objects.filter(name="Welcome").delete()

    install_default_sequences(apps=apps)

    assert SequenceEmail.objects.filter(sequence__name="Welcome").count() == 3


def test_a_welcome_staff_moved_to_another_trigger_is_not_touched():
    EmailSequence.objects.filter(name="Welcome").update(trigger="course_enrolled")
    SequenceEmail.objects.filter(sequence__name="Welcome", position=3).delete()

    install_default_sequences(apps=apps)

    assert list(EmailSequence.all_objects.values_list("name", "trigger")) == [("Welcome", "course_enrolled")]
    assert SequenceEmail.objects.filter(sequence__name="Welcome").count() == 2
