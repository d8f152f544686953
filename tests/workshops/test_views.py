from datetime import timedelta
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.dashboard import panels
from tests.factories.accounts import UserFactory
from tests.factories.workshops import (
    WorkshopFactory,
    WorkshopRegistrationFactory,
    WorkshopResourceFactory,
    WorkshopSeriesFactory,
)
from workshops.models import RegistrationStatus, WorkshopRegistration, WorkshopStatus

pytestmark = pytest.mark.django_db


def test_list_shows_twelve_workshops_a_page_soonest_first(client):
    from workshops.views import WORKSHOPS_PER_PAGE

    now = timezone.now()
    titles = [f"Workshop {n:02d}" for n in range(WORKSHOPS_PER_PAGE + 2)]
    for days, title in enumerate(reversed(titles)):  # created latest-first: the page sorts them
        starts = now + timedelta(days=len(titles) - days)
        WorkshopFactory(title=title, starts_at=starts, ends_at=starts + timedelta(hours=1))
    first = client.get(reverse("workshops:workshop_list")).content.decode()
    second = client.get(reverse("workshops:workshop_list"), {"page": 2}).content.decode()
    assert [t for t in titles if t in first] == titles[:WORKSHOPS_PER_PAGE]
    assert [t for t in titles if t in second] == titles[WORKSHOPS_PER_PAGE:]
    assert "Page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "Page 2 of 2" in second and 'rel="prev"' in second
    assert "Page 2 of 2" in client.get(reverse("workshops:workshop_list"), {"page": 7}).content.decode()


def test_list_shows_upcoming_published_workshops_only(client):
    shown = WorkshopFactory(title="Shown workshop")
    WorkshopFactory(title="Draft workshop", status=WorkshopStatus.DRAFT)
    WorkshopFactory(
        title="Past workshop", starts_at=timezone.now() - timedelta(days=2), ends_at=timezone.now() - timedelta(days=1)
    )
    WorkshopFactory(title="Archived workshop").archive()
    response = client.get(reverse("workshops:workshop_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert shown.title in html
    assert "Draft workshop" not in html and "Past workshop" not in html and "Archived workshop" not in html


def test_list_query_count_is_fixed(client, django_assert_num_queries):
    member = UserFactory()
    for _ in range(3):
        workshop = WorkshopFactory(series=WorkshopSeriesFactory())
        WorkshopRegistrationFactory(workshop=workshop, user=member)
    client.force_login(member)
    # session, user with profile (time zone), bell, how many (the pages), workshops, member statuses
    with django_assert_num_queries(6):
        response = client.get(reverse("workshops:workshop_list"))
    assert response.content.decode().count("You're registered") == 3
    client.logout()
    with django_assert_num_queries(2):  # a visitor: how many, then the page
        client.get(reverse("workshops:workshop_list"))


def test_list_empty_state(client):
    response = client.get(reverse("workshops:workshop_list"))
    assert "No workshops are scheduled right now" in response.content.decode()


def test_draft_detail_is_404(client):
    draft = WorkshopFactory(status=WorkshopStatus.DRAFT)
    assert client.get(reverse("workshops:workshop_detail", args=[draft.slug])).status_code == 404


def test_member_registers_and_sees_the_zoom_link(client):
    member = UserFactory()
    workshop = WorkshopFactory(capacity=3)
    client.force_login(member)
    response = client.post(reverse("workshops:workshop_register", args=[workshop.slug]), follow=True)
    html = response.content.decode()
    assert "You're registered" in html
    assert workshop.zoom_join_url in html
    assert WorkshopRegistration.objects.get(user=member).status == RegistrationStatus.REGISTERED


def test_zoom_link_hidden_from_visitors_and_unregistered_members(client):
    workshop = WorkshopFactory()
    assert (
        workshop.zoom_join_url
        not in client.get(reverse("workshops:workshop_detail", args=[workshop.slug])).content.decode()
    )
    client.force_login(UserFactory())
    assert (
        workshop.zoom_join_url
        not in client.get(reverse("workshops:workshop_detail", args=[workshop.slug])).content.decode()
    )


def test_full_workshop_puts_member_on_the_waitlist(client):
    workshop = WorkshopFactory(capacity=1)
    WorkshopRegistrationFactory(workshop=workshop)
    member = UserFactory()
    client.force_login(member)
    response = client.post(reverse("workshops:workshop_register", args=[workshop.slug]), follow=True)
    assert "on the waitlist" in response.content.decode()
    assert WorkshopRegistration.objects.get(user=member).status == RegistrationStatus.WAITLISTED


def test_register_requires_login_and_post(client):
    workshop = WorkshopFactory()
    response = client.post(reverse("workshops:workshop_register", args=[workshop.slug]))
    assert response.status_code == 302 and "login" in response.url
    client.force_login(UserFactory())
    assert client.get(reverse("workshops:workshop_register", args=[workshop.slug])).status_code == 405
    assert not WorkshopRegistration.objects.exists()


def test_member_cancels_own_registration(client):
    registration = WorkshopRegistrationFactory()
    client.force_login(registration.user)
    client.post(reverse("workshops:registration_cancel", args=[registration.pk]))
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CANCELLED


@pytest.mark.parametrize("url_name", ["registration_cancel", "waitlist_accept", "registration_pay"])
def test_another_members_registration_is_a_404(client, url_name):
    registration = WorkshopRegistrationFactory()
    client.force_login(UserFactory())
    response = client.post(reverse(f"workshops:{url_name}", args=[registration.pk]))
    assert response.status_code == 404
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.REGISTERED


def test_paid_workshop_sends_member_to_billing_checkout(client, monkeypatch):
    calls = []

    class Start:
        redirect_url = "https://checkout.stripe.com/c/pay/cs_test_123"

    def fake_checkout_start(**kwargs):
        calls.append(kwargs)
        return Start()

    monkeypatch.setattr("billing.services.checkout_start", fake_checkout_start)
    member = UserFactory()
    workshop = WorkshopFactory(price=Decimal("30.00"))
    client.force_login(member)
    response = client.post(reverse("workshops:workshop_register", args=[workshop.slug]))
    assert response.status_code == 302 and response.url == Start.redirect_url
    registration = WorkshopRegistration.objects.get(user=member)
    assert calls[0]["kind"] == "workshop_registration"
    assert calls[0]["object_id"] == str(registration.pk)
    assert calls[0]["amount"] == Decimal("30.00") and calls[0]["member"] == member


def test_resources_only_for_seated_members_after_visible_after(client):
    workshop = WorkshopFactory()
    WorkshopResourceFactory(workshop=workshop, title="Open worksheet")
    WorkshopResourceFactory(workshop=workshop, title="Later slides", visible_after=timezone.now() + timedelta(days=30))
    registration = WorkshopRegistrationFactory(workshop=workshop)
    url = reverse("workshops:workshop_detail", args=[workshop.slug])
    client.force_login(UserFactory())
    assert "Open worksheet" not in client.get(url).content.decode()
    client.force_login(registration.user)
    html = client.get(url).content.decode()
    assert "Open worksheet" in html and "Later slides" not in html


def test_attended_member_leaves_feedback(client):
    registration = WorkshopRegistrationFactory(status=RegistrationStatus.ATTENDED)
    client.force_login(registration.user)
    url = reverse("workshops:feedback_submit", args=[registration.workshop.slug])
    client.post(url, {"rating": "4", "comments": "Lovely", "would_recommend": "yes"})
    feedback = registration.workshop.feedback.get()
    assert (feedback.rating, feedback.comments, feedback.would_recommend) == (4, "Lovely", True)


def test_dashboard_panel_lists_upcoming_registrations_in_one_query(django_assert_num_queries):
    panel = next(p for p in panels() if p.key == "workshops")
    member = UserFactory()
    WorkshopRegistrationFactory.create_batch(3, user=member)
    WorkshopRegistrationFactory(user=member, status=RegistrationStatus.CANCELLED)
    WorkshopRegistrationFactory()
    with django_assert_num_queries(1):
        context = panel.context(member)
    assert len(context["registrations"]) == 3


def test_dashboard_panel_shows_empty_state():
    panel = next(p for p in panels() if p.key == "workshops")
    member = UserFactory()
    WorkshopRegistrationFactory(user=member, status=RegistrationStatus.CANCELLED)
    html = render_to_string(panel.template, {"panel_data": panel.context(member)})
    assert "You have no upcoming workshops." in html
