"""The public team page: every therapist with photo, credentials, specialties, whether she is
taking new clients, and a booking link only for those who are. A fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.models import TherapistProfile
from tests.factories.appointments import TherapistProfileFactory

pytestmark = pytest.mark.django_db

URL = "/team/"


def test_the_team_page_lives_at_team_and_is_public(client):
    assert reverse("appointments:team") == URL
    TherapistProfileFactory(display_name="Ada Open")
    response = client.get(URL)
    assert response.status_code == 200
    assert "Ada Open" in response.content.decode()


def test_each_therapist_shows_photo_credentials_specialties_and_who_she_helps(client):
    TherapistProfileFactory(
        display_name="Ada Open",
        credentials="PsyD, PMH-C",
        specialties=["birth trauma", "pregnancy loss"],
        bio="Ada helps parents after a frightening birth.",
        photo_url="/static/img/team/jana-rundle.svg",
    )
    TherapistProfileFactory(display_name="Bea Nophoto", photo_url="")
    html = client.get(URL).content.decode()
    assert '<img class="team-photo" src="/static/img/team/jana-rundle.svg" alt="Portrait of Ada Open"' in html
    assert "PsyD, PMH-C" in html and "<li>Birth trauma</li>" in html and "<li>Pregnancy loss</li>" in html
    assert "Ada helps parents after a frightening birth." in html
    # Without a photo: the drawn placeholder, decorative (the name is the heading beside it).
    assert 'src="/static/img/team/placeholder.svg" alt=""' in html


def test_book_leads_to_her_page_and_the_gate_never_straight_to_calendly(client, member):
    ada = TherapistProfileFactory(display_name="Ada Open", scheduling_url="https://calendly.com/ada")
    detail = reverse("appointments:therapist_detail", args=[ada.pk])
    html = client.get(URL).content.decode()
    assert f'class="button" href="{detail}"' in html and "calendly.com" not in html
    # A visitor is asked to sign in first and comes back to her page.
    response = client.get(detail)
    assert response.status_code == 302 and "next=" in response["Location"]
    client.force_login(member)
    assert f'class="button" href="{detail}"' in client.get(URL).content.decode()
    assert client.get(detail).status_code == 200


def test_a_therapist_not_taking_clients_is_shown_last_without_a_booking_link(client):
    TherapistProfileFactory(
        display_name="Aaron Full", is_accepting_clients=False, scheduling_url="https://calendly.com/full"
    )
    TherapistProfileFactory(display_name="Zoe Open", scheduling_url="https://calendly.com/zoe")
    html = client.get(URL).content.decode()
    assert html.index("Zoe Open") < html.index("Aaron Full")
    assert "Not taking new clients right now" in html and "Welcoming new clients" in html
    assert "calendly.com" not in html
    assert html.count('class="button" href="/appointments/therapists/') == 1


def test_an_accepting_therapist_without_a_booking_page_points_to_contact(client):
    TherapistProfileFactory(display_name="Ada Open", scheduling_url="")
    html = client.get(URL).content.decode()
    assert "Online booking is not open yet" in html and reverse("content:contact") in html


def test_archived_therapists_are_not_on_the_team_page(client):
    gone = TherapistProfileFactory(display_name="Gone Away")
    TherapistProfile.objects.filter(pk=gone.pk).archive()
    html = client.get(URL).content.decode()
    assert "Gone Away" not in html and "Our team page is being updated" in html


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


@pytest.mark.parametrize("logged_in", [False, True])
def test_the_team_page_reads_the_same_number_of_queries_for_one_therapist_or_twelve(client, member, logged_in):
    if logged_in:
        client.force_login(member)
    TherapistProfileFactory()
    client.get(URL)  # warm the session
    one = _queries(client)
    TherapistProfileFactory.create_batch(11)
    TherapistProfileFactory.create_batch(3, is_accepting_clients=False)
    assert _queries(client) == one
    assert one == (3 if logged_in else 1)  # signed in: session, user, therapists (the bell's count is kept)
