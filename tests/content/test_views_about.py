"""The about page and the home page: public, plain words, the crisis line, links to what we offer."""

import pytest
from django.urls import reverse

from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def test_the_about_page_is_public_at_about_and_reads_nothing_from_the_database(client, django_assert_num_queries):
    assert reverse("content:about") == "/about/"
    with django_assert_num_queries(0):
        response = client.get("/about/")
    assert response.status_code == 200


def test_the_about_page_says_who_we_help_how_care_works_fees_and_the_crisis_line(client):
    html = client.get("/about/").content.decode()
    for words in ("In pregnancy", "After birth", "Through loss", "Partners", "How care works", "Fees and insurance"):
        assert words in html, words
    assert "988" in html and "1-800-944-4773" in html
    assert f'href="{reverse("appointments:team")}"' in html and f'href="{reverse("content:contact")}"' in html


def test_the_home_page_offers_therapy_courses_workshops_and_the_blog_with_links(client):
    html = client.get("/").content.decode()
    for name in (
        "appointments:team",
        "courses:course_list",
        "workshops:workshop_list",
        "content:blog_list",
        "content:about",
    ):
        assert f'href="{reverse(name)}"' in html, name
    assert "Who Bloom is for" in html and "after a loss" in html


def test_a_member_going_home_still_lands_on_her_dashboard(client):
    client.force_login(UserFactory())
    assert client.get("/").url == reverse("accounts:dashboard")
