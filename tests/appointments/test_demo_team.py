"""The demo team: three therapists with drawn avatars that exist as static files, one of them
not taking new clients, all on the team page; seed_demo twice keeps three."""

from io import StringIO

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.templatetags.static import static

from appointments.models import TherapistProfile

pytestmark = pytest.mark.django_db


def test_the_demo_therapists_have_drawn_photos_and_one_is_not_taking_clients(client):
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    therapists = list(TherapistProfile.objects.order_by("display_name"))
    assert [t.display_name for t in therapists] == ["Dr. Jana Rundle", "Priya Raman", "Sam Okafor"]
    prefix = static("")
    for therapist in therapists:
        assert therapist.photo_url.startswith(prefix) and therapist.photo_url.endswith(".svg")
        path = finders.find(therapist.photo_url.removeprefix(prefix))
        assert path, therapist.photo_url
        with open(path) as svg:
            assert svg.read().lstrip().startswith("<svg")
    assert [t.display_name for t in therapists if not t.is_accepting_clients] == ["Priya Raman"]
    html = client.get("/team/").content.decode()
    assert all(t.photo_url in html for t in therapists)
    assert html.count("Book a session with") == 2
