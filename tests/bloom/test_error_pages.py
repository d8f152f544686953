"""Bloom's error pages (bloom.views) and missing stored files: a kind page, never a traceback.

Each page is asserted in the test settings (DEBUG False) and, in a subprocess, under
`bloom.settings.dev` as `make run` starts it (its DEBUG default).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from bloom import views as error_views
from notifications.models import EmailQueue
from tests.bloom.error_urls import SECRET_DETAIL
from tests.conftest import BASE_DIR, database_url_for_subprocess
from tests.factories.accounts import UserFactory
from tests.factories.content import AdminUserFactory, CareerApplicationFactory
from tests.factories.courses import CourseEnrollmentFactory, CourseFactory, CourseResourceFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory, WorkshopResourceFactory

pytestmark = pytest.mark.django_db

CRISIS_LINE = "If you are in crisis, call or text 988 (US) or your local emergency number."
# What Django's debug pages and default error pages say, none of which a member may see.
LEAKS = ["Traceback", "Request Method", "Exception Value", "DEBUG = True", SECRET_DETAIL, "<h1>Not Found</h1>"]


def _assert_friendly(html: str, *, heading: str) -> None:
    assert f"<h1>{heading}</h1>" in html, html
    assert CRISIS_LINE in html
    assert 'href="/"' in html or 'href="/dashboard/"' in html, "no way back"
    for leak in LEAKS:
        assert leak not in html, leak


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def staff_alerts_to(settings) -> str:
    settings.BLOOM_STAFF_ALERT_EMAIL = "care-team@bloom.example"
    return settings.BLOOM_STAFF_ALERT_EMAIL


# --- Each handler, with DEBUG False (the test settings) -----------------------------------


def test_settings_under_test_have_debug_off():
    assert settings.DEBUG is False


def test_unknown_page_is_the_branded_404_for_visitors_and_members(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    _assert_friendly(html, heading="We couldn't find that page")
    assert f'href="{reverse("home")}">Go to the home page' in html
    assert "<title>Page not found · Bloom Psychology</title>" in html

    client.force_login(UserFactory())
    html = client.get("/no-such-page/").content.decode()
    _assert_friendly(html, heading="We couldn't find that page")
    assert f'href="{reverse("accounts:dashboard")}">Go to your dashboard' in html


def test_a_view_raising_404_shows_the_branded_page_not_the_exception_text(client):
    response = client.get(reverse("courses:course_detail", args=["no-such-course"]))
    assert response.status_code == 404
    html = response.content.decode()
    _assert_friendly(html, heading="We couldn't find that page")
    assert "matches the given query" not in html


def test_back_link_only_to_a_page_on_this_site(client):
    came_from = "http://testserver/courses/"
    html = client.get("/no-such-page/", HTTP_REFERER=came_from).content.decode()
    assert f'<a href="{came_from}">Go back to the page you were on</a>' in html

    html = client.get("/no-such-page/", HTTP_REFERER="https://evil.example/phish").content.decode()
    assert "evil.example" not in html
    assert "Go back to the page you were on" not in html


@pytest.mark.urls("tests.bloom.error_urls")
def test_permission_denied_is_the_branded_403(client):
    response = client.get("/test-errors/forbidden/")
    assert response.status_code == 403
    html = response.content.decode()
    _assert_friendly(html, heading="This page isn't open to you")
    assert f'href="{reverse("account_login")}">log in</a>' in html


def test_csrf_failure_is_the_branded_403_that_says_nothing_was_saved():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("account_login"), {"login": "someone@example.com", "password": "x" * 12})
    assert response.status_code == 403
    html = response.content.decode()
    _assert_friendly(html, heading="Please try that again")
    assert "nothing was saved" in html
    assert "CSRF" not in html


@pytest.mark.urls("tests.bloom.error_urls")
def test_bad_request_is_the_branded_400(client):
    response = client.get("/test-errors/bad-request/")
    assert response.status_code == 400
    _assert_friendly(response.content.decode(), heading="We couldn't understand that request")


def test_a_disallowed_host_is_the_branded_400(client):
    response = client.get("/", HTTP_HOST="evil.example", HTTP_REFERER="http://evil.example/")
    assert response.status_code == 400
    html = response.content.decode()
    _assert_friendly(html, heading="We couldn't understand that request")
    assert "evil.example" not in html


@pytest.mark.urls("tests.bloom.error_urls")
def test_an_exception_in_a_view_is_the_branded_500_without_a_traceback(client, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/test-errors/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    _assert_friendly(html, heading="Something went wrong on our side")
    assert "RuntimeError" not in html
    assert f'href="{reverse("accounts:dashboard")}">Go to your dashboard' in html
    assert f'href="{reverse("content:contact")}">Contact us' in html
    # The traceback goes to the log for developers instead.
    assert any(record.exc_info and SECRET_DETAIL in str(record.exc_info[1]) for record in caplog.records)


def test_the_500_page_needs_no_database_session_or_request_context(django_assert_num_queries):
    request = RequestFactory().get("/anything/")  # no session, no user: middleware never ran
    with django_assert_num_queries(0):
        response = error_views.server_error(request)
    assert response.status_code == 500
    _assert_friendly(response.content.decode(), heading="Something went wrong on our side")


def test_the_500_page_still_answers_when_its_template_cannot_load(monkeypatch, caplog):
    def broken(name):
        raise OSError("templates folder unreadable")

    monkeypatch.setattr(error_views.loader, "get_template", broken)
    with caplog.at_level(logging.ERROR, logger="bloom.views"):
        response = error_views.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    _assert_friendly(response.content.decode(), heading="Something went wrong on our side")
    assert "the 500 page could not be rendered" in caplog.text


# --- The development settings, as `make run` starts them -----------------------------------

DEV_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings

out = {"DEBUG": settings.DEBUG}
if not settings.DEBUG:
    with override_settings(ROOT_URLCONF="tests.bloom.error_urls"):
        client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
        for path in %r:
            response = client.get(path)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            out[path] = [response.status_code, body.decode(errors="replace")]
print("PROBE" + json.dumps(out))
"""

DEV_PATHS = [
    "/no-such-page/",
    "/test-errors/boom/",
    "/test-errors/forbidden/",
    "/static/css/bloom.css",
    "/static/admin/css/base.css",
    "/media/private/careers/cv/someone.pdf",
]


def _dev_probe(tmp_path, **env: str) -> dict:
    media = tmp_path / "dev-media"
    (media / "private/careers/cv").mkdir(parents=True)
    (media / "private/careers/cv/someone.pdf").write_bytes(b"%PDF-1.4 a CV")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BLOOM_"))}
    result = subprocess.run(
        [sys.executable, "-c", DEV_PROBE % (DEV_PATHS,)],
        cwd=BASE_DIR,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "bloom.settings.dev",
            "DATABASE_URL": database_url_for_subprocess(),
            "BLOOM_MEDIA_ROOT": str(media),
            "BLOOM_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
            "BLOOM_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("PROBE"))
    return json.loads(line.removeprefix("PROBE"))


def test_dev_settings_show_branded_pages_and_serve_static_files_by_default(tmp_path):
    probe = _dev_probe(tmp_path)
    assert probe["DEBUG"] is False

    status, html = probe["/no-such-page/"]
    assert status == 404
    _assert_friendly(html, heading="We couldn't find that page")
    assert 'href="/static/css/bloom.css"' in html  # unhashed: no collectstatic needed under runserver

    status, html = probe["/test-errors/boom/"]
    assert status == 500
    _assert_friendly(html, heading="Something went wrong on our side")

    status, html = probe["/test-errors/forbidden/"]
    assert status == 403
    _assert_friendly(html, heading="This page isn't open to you")

    # WhiteNoise serves the portal's and the admin's CSS from the source folders with DEBUG off.
    status, css = probe["/static/css/bloom.css"]
    assert status == 200 and "--brand:#7a3e6b" in css
    status, css = probe["/static/admin/css/base.css"]
    assert status == 200 and "body" in css

    # MEDIA_ROOT is never served as a folder: CVs and paid resources live there.
    status, html = probe["/media/private/careers/cv/someone.pdf"]
    assert status == 404 and "%PDF" not in html


def test_debug_pages_are_an_explicit_developer_opt_in(tmp_path):
    assert _dev_probe(tmp_path, DJANGO_DEBUG="1")["DEBUG"] is True


# --- A stored file that has gone missing: 404 for the member, one alert for staff ----------


def _staff_alerts(to: str) -> list[EmailQueue]:
    return list(EmailQueue.objects.filter(to_email=to, template_key="notifications/staff_file_missing"))


def _lose(field_file) -> None:
    os.remove(os.path.join(settings.MEDIA_ROOT, field_file.name))


def test_missing_course_resource_file_is_a_404_and_one_staff_alert(client, staff_alerts_to, caplog):
    course = CourseFactory(title="Calm after birth")
    owner, another = UserFactory(), UserFactory()
    CourseEnrollmentFactory(user=owner, course=course)
    CourseEnrollmentFactory(user=another, course=course)
    resource = CourseResourceFactory(course=course, title="Breathing worksheet")
    kept = CourseResourceFactory(course=course, title="Sleep log")
    _lose(resource.file)
    url = reverse("courses:resource_download", args=[resource.pk])

    client.force_login(owner)
    with caplog.at_level(logging.ERROR, logger="notifications.staff_alerts"):
        response = client.get(url)
        assert response.status_code == 404
        html = response.content.decode()
        _assert_friendly(html, heading="This file isn't available right now")
        assert "“Breathing worksheet”" in html and "Our team has been told" in html
        assert f'href="{reverse("courses:course_detail", args=[course.slug])}">Back to the course</a>' in html
        assert "FileNotFoundError" not in html and resource.file.name not in html

        # The same member again, and another member: still a 404 page, still one alert.
        assert client.get(url).status_code == 404
        client.force_login(another)
        assert client.get(url).status_code == 404

    alerts = _staff_alerts(staff_alerts_to)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.subject == "A file is missing: the course resource “Breathing worksheet” of Calm after birth"
    assert resource.file.name in alert.text_body
    admin_path = reverse("admin:courses_courseresource_change", args=[resource.pk])
    assert settings.SITE_URL.rstrip("/") + admin_path in alert.text_body
    assert [r.levelname for r in caplog.records if "stored file missing" in r.getMessage()] == ["ERROR"] * 3

    # Other files of the course still download.
    assert client.get(reverse("courses:resource_download", args=[kept.pk])).status_code == 200


def test_a_replacement_file_that_goes_missing_alerts_again(client, staff_alerts_to):
    course = CourseFactory()
    member = UserFactory()
    CourseEnrollmentFactory(user=member, course=course)
    resource = CourseResourceFactory(course=course)
    client.force_login(member)
    url = reverse("courses:resource_download", args=[resource.pk])
    _lose(resource.file)
    client.get(url)

    from django.core.files.base import ContentFile

    resource.file.save("worksheet-v2.txt", ContentFile(b"new body"), save=True)
    assert client.get(url).status_code == 200
    _lose(resource.file)
    assert client.get(url).status_code == 404
    assert len(_staff_alerts(staff_alerts_to)) == 2


def test_no_alert_for_a_member_without_access_to_the_resource(client, staff_alerts_to):
    resource = CourseResourceFactory()
    _lose(resource.file)
    client.force_login(UserFactory())
    response = client.get(reverse("courses:resource_download", args=[resource.pk]))
    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()
    assert _staff_alerts(staff_alerts_to) == []


def _workshop_file(**kwargs):
    from django.core.files.base import ContentFile

    return WorkshopResourceFactory(url="", file=ContentFile(b"handout body", name="handout.txt"), **kwargs)


def test_workshop_files_download_only_for_seated_members_once_visible(client):
    workshop = WorkshopFactory()
    registration = WorkshopRegistrationFactory(workshop=workshop)
    handout = _workshop_file(workshop=workshop, title="Handout")
    later = _workshop_file(workshop=workshop, title="Slides", visible_after=timezone.now() + timedelta(days=3))
    link_only = WorkshopResourceFactory(workshop=workshop)

    client.force_login(registration.user)
    page = client.get(reverse("workshops:workshop_detail", args=[workshop.slug])).content.decode()
    download = reverse("workshops:resource_download", args=[handout.pk])
    assert f'href="{download}"' in page and "/media/" not in page
    response = client.get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"handout body"
    assert client.get(reverse("workshops:resource_download", args=[later.pk])).status_code == 404
    assert client.get(reverse("workshops:resource_download", args=[link_only.pk])).status_code == 404

    client.force_login(UserFactory())
    assert client.get(download).status_code == 404


def test_missing_workshop_file_is_a_404_and_one_staff_alert(client, staff_alerts_to):
    workshop = WorkshopFactory(title="Sleep and the newborn")
    registration = WorkshopRegistrationFactory(workshop=workshop)
    handout = _workshop_file(workshop=workshop, title="Night plan")
    _lose(handout.file)
    client.force_login(registration.user)
    url = reverse("workshops:resource_download", args=[handout.pk])

    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 404
        html = response.content.decode()
        _assert_friendly(html, heading="This file isn't available right now")
        assert f'href="{reverse("workshops:workshop_detail", args=[workshop.slug])}">Back to the workshop</a>' in html

    alerts = _staff_alerts(staff_alerts_to)
    assert len(alerts) == 1
    assert alerts[0].subject == "A file is missing: the handout “Night plan” of the workshop Sleep and the newborn"
    assert reverse("admin:workshops_workshop_change", args=[workshop.pk]) in alerts[0].text_body


def test_missing_cv_in_the_admin_says_so_and_alerts_once_without_personal_data(client, settings, staff_alerts_to):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    from accounts.models import User

    owner = User.objects.create_superuser("owner@example.com", "a-Long-test-passphrase-2026")
    AdminUserFactory(user=owner)
    application = CareerApplicationFactory(full_name="Ana Ruiz")
    _lose(application.cv)
    client.force_login(owner)
    url = reverse("admin:content_careerapplication_cv", args=[application.pk])
    change_url = reverse("admin:content_careerapplication_change", args=[application.pk])

    response = client.get(url, follow=True)
    assert response.redirect_chain == [(change_url, 302)]
    assert "CV file is missing from storage" in response.content.decode()
    assert client.get(url).status_code == 302

    alerts = _staff_alerts(staff_alerts_to)
    assert len(alerts) == 1
    assert alerts[0].subject == "A file is missing: the CV of a job application"
    assert "Ana Ruiz" not in alerts[0].subject + alerts[0].text_body


def test_every_page_names_the_favicon_and_favicon_ico_leads_to_it(client):
    page = client.get("/")
    assert 'rel="icon"' in page.content.decode()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301
    assert icon["Location"].endswith("/img/favicon.svg")
