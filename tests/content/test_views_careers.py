import os
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from content.models import CareerApplication
from tests.factories.content import JobPostingFactory, cv_upload

pytestmark = pytest.mark.django_db


def _apply(client, posting, upload, **fields):
    data = {
        "full_name": "Ana Ruiz",
        "email": "Ana@Example.org",
        "cover_letter": "I love this work.",
        "cv": upload,
        **fields,
    }
    return client.post(reverse("content:career_detail", args=[posting.slug]), data=data)


def test_careers_page_lists_only_open_postings(client):
    JobPostingFactory(title="Open role")
    JobPostingFactory(title="Closed role", is_open=False)
    JobPostingFactory(title="Expired role", closes_at=timezone.now() - timedelta(days=1))
    JobPostingFactory(title="Archived role", archived_at=timezone.now())
    html = client.get(reverse("content:career_list")).content.decode()
    assert "Open role" in html
    assert "Closed role" not in html and "Expired role" not in html and "Archived role" not in html


def test_careers_empty_state(client):
    assert b"no open roles" in client.get(reverse("content:career_list")).content


def test_application_is_stored_with_its_cv_under_media_root(client, settings):
    posting = JobPostingFactory()
    response = _apply(client, posting, cv_upload("My CV.pdf"))
    assert response.status_code == 302
    application = CareerApplication.objects.get()
    assert application.email == "ana@example.org" and application.job_posting == posting
    assert application.cv_original_name == "My CV.pdf"
    assert application.cv.name == f"private/careers/cv/{application.pk}.pdf"
    assert os.path.exists(os.path.join(settings.MEDIA_ROOT, application.cv.name))


def test_she_chooses_whether_her_application_is_kept_on_file(client):
    posting = JobPostingFactory()
    html = client.get(reverse("content:career_detail", args=[posting.slug])).content.decode()
    assert "Keep my application on file for future roles" in html and "two years" in html
    _apply(client, posting, cv_upload(), keep_on_file="on")
    _apply(client, posting, cv_upload(), email="other@example.org")
    assert dict(CareerApplication.objects.values_list("email", "keep_on_file")) == {
        "ana@example.org": True,
        "other@example.org": False,
    }


def test_invalid_cv_keeps_the_form_and_stores_nothing(client):
    posting = JobPostingFactory()
    response = _apply(client, posting, cv_upload("cv.pdf", b"not a pdf"))
    assert response.status_code == 400
    assert "not a readable PDF" in response.content.decode()
    assert 'value="Ana Ruiz"' in response.content.decode()
    assert not CareerApplication.objects.exists()


def test_honeypot_application_is_dropped(client):
    posting = JobPostingFactory()
    response = _apply(client, posting, cv_upload(), website="http://spam.example")
    assert response.status_code == 302
    assert not CareerApplication.objects.exists()


def test_closed_posting_cannot_be_applied_to(client):
    posting = JobPostingFactory(is_open=False)
    assert _apply(client, posting, cv_upload()).status_code == 404
    assert not CareerApplication.objects.exists()
