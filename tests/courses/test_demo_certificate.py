"""The demo member has finished the free demo course and holds its certificate; seed_demo twice
keeps one enrollment, one certificate and the same time spent."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse

from accounts.models import User
from courses.demo import FREE_COURSE
from courses.models import CourseCertificate, CourseEnrollment, CourseProgress, LessonCompletionDetail, ProgressStatus

pytestmark = pytest.mark.django_db


def _state(member):
    return (
        CourseEnrollment.objects.filter(user=member).count(),
        CourseCertificate.objects.filter(user=member).count(),
        CourseProgress.objects.filter(user=member).count(),
        LessonCompletionDetail.objects.filter(progress__user=member).aggregate(s=Sum("time_spent_seconds"))["s"],
    )


def test_the_demo_member_finished_the_free_course_once_with_a_certificate(client):
    call_command("seed_demo", stdout=StringIO())
    maya = User.objects.get(email="member@bloom.test")
    enrollment = CourseEnrollment.objects.get(user=maya, course__slug=FREE_COURSE["slug"])
    assert enrollment.has_access and enrollment.completed_at is not None
    lessons = sum(len(lessons) for _title, _drip, lessons in FREE_COURSE["modules"])
    assert CourseProgress.objects.filter(enrollment=enrollment, status=ProgressStatus.COMPLETED).count() == lessons
    minutes = sum(m for _t, _d, lessons_ in FREE_COURSE["modules"] for _l, m, _p, _s in lessons_)
    before = _state(maya)
    assert before[3] == minutes * 60
    certificate = CourseCertificate.objects.get(enrollment=enrollment)
    assert certificate.certificate_name == "Maya Demo" and certificate.revoked_at is None

    call_command("seed_demo", stdout=StringIO())
    assert _state(maya) == before

    client.force_login(maya)
    page = client.get(reverse("courses:certificate_detail", kwargs={"certificate_id": certificate.pk}))
    assert page.status_code == 200 and FREE_COURSE["title"] in page.content.decode().replace("&#x27;", "'")
