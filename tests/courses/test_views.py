"""Catalog, course page, lesson player, access fencing, sanitising, drip, downloads, dashboard panel."""

from __future__ import annotations

import zoneinfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.dashboard import panels
from courses.models import CourseProgress, LessonCompletionDetail
from courses.services import course_progress_update
from tests.courses.conftest import build_course, lessons_of
from tests.factories.accounts import UserFactory
from tests.factories.courses import (
    CourseEnrollmentFactory,
    CourseLessonFactory,
    CourseModuleFactory,
    CourseResourceFactory,
)

pytestmark = pytest.mark.django_db


def lesson_url(lesson):
    return reverse("courses:lesson_detail", args=[lesson.module.course.slug, lesson.pk])


# --- Catalog --------------------------------------------------------------------------


def test_catalog_lists_published_courses_only(client, django_assert_num_queries):
    shown = build_course(title="Calm in pregnancy", lessons=3)
    build_course(title="Draft course", status="draft")
    archived = build_course(title="Old course")
    archived.archive()
    with django_assert_num_queries(2):  # how many there are (the pages), then this page's courses
        response = client.get(reverse("courses:course_list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Calm in pregnancy" in body
    assert "3 lessons" in body and "About 30 min" in body
    assert "Draft course" not in body
    assert "Old course" not in body
    assert client.get(reverse("courses:course_detail", args=[archived.slug])).status_code == 404
    assert client.get(reverse("courses:course_detail", args=["draft-nope"])).status_code == 404
    assert shown.slug in body


def test_catalog_pages_hold_twelve_courses_in_order_with_links_between_them(client, django_assert_num_queries):
    from courses.views import COURSES_PER_PAGE

    titles = [f"Course {n:02d}" for n in range(COURSES_PER_PAGE + 3)]
    for title in titles:
        build_course(title=title, lessons=1)
    first = client.get(reverse("courses:course_list")).content.decode()
    with django_assert_num_queries(2):
        second = client.get(reverse("courses:course_list"), {"page": 2}).content.decode()
    assert [t for t in titles if t in first] == titles[:COURSES_PER_PAGE]
    assert [t for t in titles if t in second] == titles[COURSES_PER_PAGE:]
    assert 'aria-label="Course pages"' in first and "Page 1 of 2" in first and 'href="?page=2"' in first
    assert "Page 2 of 2" in second and 'href="?page=1"' in second
    # A page past the end, or not a number, shows a real page rather than an error.
    assert "Page 2 of 2" in client.get(reverse("courses:course_list"), {"page": 99}).content.decode()
    assert "Page 1 of 2" in client.get(reverse("courses:course_list"), {"page": "x"}).content.decode()


def test_course_page_shows_outline_price_and_preview_link(client):
    course = build_course(lessons=3, modules=1, price="45.00")
    lessons = lessons_of(course)
    lessons[0].is_preview = True
    lessons[0].save()
    CourseLessonFactory(module=lessons[0].module, title="Unpublished lesson", status="draft")
    body = client.get(reverse("courses:course_detail", args=[course.slug])).content.decode()
    assert "$45.00" in body
    assert "Free preview" in body
    assert lesson_url(lessons[0]) in body
    assert lesson_url(lessons[1]) not in body
    assert "Unpublished lesson" not in body
    assert "Log in to enroll" in body


def _page_queries(client, url, django_assert_num_queries, expected):
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    return response


def test_course_page_and_lesson_page_query_counts_do_not_grow(client, django_assert_num_queries):
    member = UserFactory()
    client.force_login(member)
    small = build_course(lessons=3, modules=1)
    large = build_course(lessons=40, modules=8)
    for course in (small, large):
        CourseEnrollmentFactory(user=member, course=course)
        CourseResourceFactory(course=course)
    # session, user with profile (time zone), course, enrollment, modules, lessons with what she
    # completed, resources (the layout's unread-notice count, the bell, is kept from the first page).
    client.get(reverse("courses:course_detail", args=[small.slug]))
    for course in (small, large):
        _page_queries(client, reverse("courses:course_detail", args=[course.slug]), django_assert_num_queries, 7)
    # The same seven (the lesson's slides come with the outline), then one statement records the
    # view: progress, its detail, the activity row and the enrollment (lesson_view_record).
    for course in (small, large):
        lesson = lessons_of(course)[1]
        course_progress_update(member=member, lesson=lesson)
        client.get(lesson_url(lesson))  # a notice of a milestone would have dropped the bell's count
        _page_queries(client, lesson_url(lesson), django_assert_num_queries, 7 + 1)


# --- Lesson access --------------------------------------------------------------------


def test_preview_lesson_is_open_to_anyone_other_lessons_are_not(client):
    course = build_course(lessons=2, modules=1, price="30.00")
    preview, locked = lessons_of(course)
    preview.is_preview = True
    preview.save()

    response = client.get(lesson_url(preview))
    assert response.status_code == 200
    assert "First slide." in response.content.decode()

    response = client.get(lesson_url(locked), follow=True)
    assert response.redirect_chain[-1][0] == reverse("courses:course_detail", args=[course.slug])
    assert "for members enrolled in the course" in response.content.decode()
    assert not CourseProgress.objects.exists()


def test_member_with_access_opens_lessons_and_progress_is_recorded(client):
    member = UserFactory()
    course = build_course(lessons=3, modules=1)
    enrollment = CourseEnrollmentFactory(user=member, course=course)
    first, second, third = lessons_of(course)
    client.force_login(member)
    body = client.get(lesson_url(second)).content.decode()
    assert "Mark complete and continue" in body
    assert f"Previous: {first.title}" in body and f"Next: {third.title}" in body
    assert CourseProgress.objects.get(enrollment=enrollment).lesson_id == second.pk

    response = client.post(
        reverse("courses:lesson_progress", args=[course.slug, second.pk]),
        {"completed": "on", "time_spent_seconds": "75", "slides_seen": "0,1", "slide_index": "1"},
    )
    assert response.status_code == 302
    assert response["Location"] == lesson_url(third)
    detail = LessonCompletionDetail.objects.get(progress__lesson=second)
    assert detail.time_spent_seconds == 75 and detail.slides_seen == [0, 1] and detail.completed_at

    dashboard = client.get(reverse("accounts:dashboard")).content.decode()
    assert course.title in dashboard
    assert lesson_url(second) in dashboard  # continue where you left off
    assert "33% complete" in dashboard


def test_revoked_member_gets_the_course_page_with_a_message(client):
    member = UserFactory()
    course = build_course(lessons=1, modules=1, price="20.00")
    CourseEnrollmentFactory(user=member, course=course, payment_status="refunded", access_revoked_at=timezone.now())
    client.force_login(member)
    response = client.get(lesson_url(lessons_of(course)[0]), follow=True)
    assert "Your access to this course has ended" in response.content.decode()
    assert not CourseProgress.objects.exists()


def test_pending_payment_does_not_open_lessons(client):
    member = UserFactory()
    course = build_course(lessons=1, modules=1, price="20.00")
    CourseEnrollmentFactory(user=member, course=course, payment_status="pending")
    client.force_login(member)
    response = client.get(lesson_url(lessons_of(course)[0]), follow=True)
    assert "payment for this course has not arrived" in response.content.decode()


def test_drip_module_opens_n_days_after_enrollment(client):
    member = UserFactory()
    course = build_course(lessons=1, modules=1)
    later = CourseModuleFactory(course=course, position=5, drip_days=7)
    dripped = CourseLessonFactory(module=later)
    enrollment = CourseEnrollmentFactory(
        user=member, course=course, enrolled_at=timezone.now() - timezone.timedelta(days=3)
    )
    visitor_page = client.get(reverse("courses:course_detail", args=[course.slug])).content.decode()
    assert "Opens 7 days after you enroll." in visitor_page
    client.force_login(member)

    response = client.get(lesson_url(dripped), follow=True)
    # Dates show in the member's zone (no zone chosen: the practice's default member zone).
    zone = zoneinfo.ZoneInfo(settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)
    opens = timezone.localtime(enrollment.enrolled_at + timezone.timedelta(days=7), zone).strftime("%B %-d, %Y")
    assert f"Opens on {opens}." in response.content.decode()
    assert f"This module opens on {opens}" in response.content.decode()
    assert not CourseProgress.objects.filter(lesson=dripped).exists()

    enrollment.enrolled_at = timezone.now() - timezone.timedelta(days=7, minutes=1)
    enrollment.save()
    assert client.get(lesson_url(dripped)).status_code == 200


def test_staff_preview_sees_draft_course_without_recording_progress(client):
    staff = UserFactory(is_staff=True)
    course = build_course(lessons=1, modules=1, status="draft")
    client.force_login(staff)
    body = client.get(reverse("courses:course_detail", args=[course.slug])).content.decode()
    assert "Staff preview" in body
    assert client.get(lesson_url(lessons_of(course)[0])).status_code == 200
    assert not CourseProgress.objects.exists()


def test_draft_lesson_is_404_for_members(client):
    member = UserFactory()
    course = build_course(lessons=1, modules=1)
    CourseEnrollmentFactory(user=member, course=course)
    draft = CourseLessonFactory(module=lessons_of(course)[0].module, status="draft")
    client.force_login(member)
    assert client.get(lesson_url(draft)).status_code == 404


# --- Sanitising and video -------------------------------------------------------------


def test_hostile_slide_html_renders_inert(client):
    course = build_course(lessons=1, modules=1)
    lesson = lessons_of(course)[0]
    lesson.is_preview = True
    lesson.slides = [
        '<p>Hello</p><script>alert("x")</script>'
        '<img src="/a.png" onerror="alert(1)" alt="pic">'
        '<a href="javascript:alert(2)">click</a><p onclick="steal()">text</p>'
        '<iframe src="https://evil.example"></iframe><style>body{display:none}</style>',
    ]
    lesson.video_url = "https://evil.example/embed/1"
    lesson.save()
    body = client.get(lesson_url(lesson)).content.decode()
    slide = body[body.index('class="slide"') : body.index("</section>", body.index('class="slide"'))]
    assert "Hello" in slide and "click" in slide and 'alt="pic"' in slide
    for bad in ("<script", "alert(", "onerror", "onclick", "javascript:", "evil.example", "<style", "<iframe"):
        assert bad not in slide
    assert "evil.example" not in body  # the video host is not allow-listed


def test_allowed_video_embed_is_shown(client):
    course = build_course(lessons=1, modules=1)
    lesson = lessons_of(course)[0]
    lesson.is_preview = True
    lesson.video_url = "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"
    lesson.save()
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in client.get(lesson_url(lesson)).content.decode()


def test_one_html_with_separators_becomes_slides():
    from courses.content import slides_clean

    assert slides_clean("<p>a</p><!-- slide --><p>b</p>\n<!--slide-->\n\n") == ["<p>a</p>", "<p>b</p>"]


# --- Downloads and fencing ------------------------------------------------------------


def test_resources_only_for_members_with_access(client):
    owner, stranger = UserFactory(), UserFactory()
    course = build_course(lessons=1, modules=1)
    CourseEnrollmentFactory(user=owner, course=course)
    resource = CourseResourceFactory(course=course)
    url = reverse("courses:resource_download", args=[resource.pk])

    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"worksheet body"
    assert "attachment" in response["Content-Disposition"]

    client.force_login(stranger)
    assert client.get(url).status_code == 404
    # A member who holds another course gets 404 too, and so does a member whose access ended.
    other_course_member = UserFactory()
    CourseEnrollmentFactory(user=other_course_member, course=build_course(lessons=1, modules=1))
    client.force_login(other_course_member)
    assert client.get(url).status_code == 404
    refunded = UserFactory()
    CourseEnrollmentFactory(user=refunded, course=course, payment_status="refunded", access_revoked_at=timezone.now())
    client.force_login(refunded)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to log in


def test_another_members_progress_page_is_404(client):
    owner, stranger = UserFactory(), UserFactory()
    enrollment = CourseEnrollmentFactory(user=owner, course=build_course())
    url = reverse("courses:enrollment_detail", args=[enrollment.pk])
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(owner)
    assert client.get(url).status_code == 200


def test_progress_post_without_access_writes_nothing(client):
    course = build_course(lessons=1, modules=1)
    client.force_login(UserFactory())
    lesson = lessons_of(course)[0]
    client.post(reverse("courses:lesson_progress", args=[course.slug, lesson.pk]), {"completed": "on"})
    assert not CourseProgress.objects.exists()


# --- Dashboard panel ------------------------------------------------------------------


def _panel():
    return next(panel for panel in panels() if panel.key == "courses")


def test_dashboard_panel_query_count_does_not_grow(django_assert_num_queries):
    from django.template.loader import render_to_string

    one, many = UserFactory(), UserFactory()
    CourseEnrollmentFactory(user=one, course=build_course(lessons=2, modules=1))
    for _ in range(6):
        course = build_course(lessons=2, modules=1)
        enrollment = CourseEnrollmentFactory(user=many, course=course)
        enrollment.last_lesson = lessons_of(course)[0]
        enrollment.save()
    for member in (one, many):
        with django_assert_num_queries(1):
            context = _panel().context(member)
            html = render_to_string(_panel().template, {"panel_data": context})
        assert "complete" in html


def test_dashboard_panel_empty_state():
    from django.template.loader import render_to_string

    member = UserFactory()
    html = render_to_string(_panel().template, {"panel_data": _panel().context(member)})
    assert "You haven't started a course yet" in html
    assert reverse("courses:course_list") in html


def test_dashboard_page_query_count_is_the_same_for_1_and_8_enrollments(client):
    """The whole dashboard (every app's panel), not only ours, does not grow with the number of courses."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for number in (1, 8):
        member = UserFactory()
        for _ in range(number):
            course = build_course(lessons=3, modules=1)
            enrollment = CourseEnrollmentFactory(user=member, course=course)
            course_progress_update(member=member, lesson=lessons_of(course)[0], completed=True)
            enrollment.refresh_from_db()
        client.force_login(member)
        client.get(reverse("accounts:dashboard"))  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(reverse("accounts:dashboard")).content.decode()
        counts.append(len(ctx.captured_queries))
        assert body.count("33% complete") == number
    assert counts[0] == counts[1], counts


def test_completing_a_lesson_announces_the_milestone(client):
    member = UserFactory()
    course = build_course(lessons=2, modules=1, title="Calm steps")
    CourseEnrollmentFactory(user=member, course=course)
    first, second = lessons_of(course)
    client.force_login(member)
    response = client.post(
        reverse("courses:lesson_progress", args=[course.slug, first.pk]), {"completed": "on"}, follow=True
    )
    assert "Milestone reached: 50% of Calm steps complete." in response.content.decode()
    response = client.post(
        reverse("courses:lesson_progress", args=[course.slug, second.pk]),
        {"completed": "on"},
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {"ok": True, "percent": 100, "milestone": 100}
    # Saving a completed lesson again announces nothing new.
    response = client.post(
        reverse("courses:lesson_progress", args=[course.slug, second.pk]),
        {"completed": "on"},
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {"ok": True, "percent": 100, "milestone": None}


def test_an_unfinished_lesson_reopens_on_the_last_slide_seen(client):
    member = UserFactory()
    course = build_course(lessons=1, modules=1)
    CourseEnrollmentFactory(user=member, course=course)
    lesson = lessons_of(course)[0]
    client.force_login(member)
    assert 'data-start="0"' in client.get(lesson_url(lesson)).content.decode()
    client.post(
        reverse("courses:lesson_progress", args=[course.slug, lesson.pk]),
        {"slide_index": "1", "slides_seen": "0,1"},
        HTTP_ACCEPT="application/json",
    )
    assert 'data-start="1"' in client.get(lesson_url(lesson)).content.decode()
    course_progress_update(member=member, lesson=lesson, completed=True)
    assert 'data-start="0"' in client.get(lesson_url(lesson)).content.decode()  # finished: start from the top


def test_continue_on_the_dashboard_for_a_member_half_way(client):
    member = UserFactory()
    course = build_course(lessons=4, modules=2, title="Half way course")
    CourseEnrollmentFactory(user=member, course=course)
    lessons = lessons_of(course)
    for lesson in lessons[:2]:
        course_progress_update(member=member, lesson=lesson, completed=True, time_spent_seconds=90)
    course_progress_update(member=member, lesson=lessons[2])
    client.force_login(member)
    body = client.get(reverse("accounts:dashboard")).content.decode()
    assert "50% complete · 2 of 4 lessons" in body
    assert "3 minutes spent" in body
    assert f'href="{lesson_url(lessons[2])}">Continue</a>' in body


def test_a_dripped_lessons_download_opens_with_its_module(client):
    member = UserFactory()
    course = build_course(lessons=1, modules=1)
    later = CourseModuleFactory(course=course, position=5, drip_days=7)
    dripped = CourseLessonFactory(module=later)
    course_wide = CourseResourceFactory(course=course, title="Course handbook")
    worksheet = CourseResourceFactory(course=course, lesson=dripped, title="Week two worksheet")
    enrollment = CourseEnrollmentFactory(
        user=member, course=course, enrolled_at=timezone.now() - timezone.timedelta(days=2)
    )
    client.force_login(member)
    page = client.get(reverse("courses:course_detail", args=[course.slug])).content.decode()
    assert "Course handbook" in page and "Week two worksheet" not in page
    assert client.get(reverse("courses:resource_download", args=[course_wide.pk])).status_code == 200
    assert client.get(reverse("courses:resource_download", args=[worksheet.pk])).status_code == 404

    enrollment.enrolled_at = timezone.now() - timezone.timedelta(days=8)
    enrollment.save()
    assert "Week two worksheet" in client.get(reverse("courses:course_detail", args=[course.slug])).content.decode()
    assert client.get(reverse("courses:resource_download", args=[worksheet.pk])).status_code == 200


# --- The outline's cached fragment ----------------------------------------------------------


def _outline_html(response) -> str:
    html = response.content.decode()
    start = html.index('<section aria-labelledby="outline-heading">')
    return html[start : html.index("</section>", start)]


def test_the_outline_is_cached_and_a_change_she_can_see_shows_at_once(client):
    from tests.conftest import _cache_clear

    member = UserFactory()
    client.force_login(member)
    course = build_course(lessons=3, modules=1)
    CourseEnrollmentFactory(user=member, course=course)
    first, second, third = lessons_of(course)
    url = reverse("courses:course_detail", args=[course.slug])
    cold = _outline_html(client.get(url))
    warm = _outline_html(client.get(url))
    assert warm == cold  # the fragment from the cache is the page as rendered
    assert f'href="{lesson_url(first)}"' in warm and 'class="done"' not in warm

    course_progress_update(member=member, lesson=first, completed=True)
    third.title = "Rest, renamed"
    third.save()
    after = _outline_html(client.get(url))
    assert after.count('class="done"') == 1 and "Rest, renamed" in after
    _cache_clear()
    assert _outline_html(client.get(url)) == after  # what the cache gave is what a render gives


def test_the_outline_fragment_is_per_viewer(client):
    """A visitor's outline (no links to members' lessons) is never served to a member, nor hers to him."""
    course = build_course(lessons=2, modules=1)
    locked = lessons_of(course)[1]
    url = reverse("courses:course_detail", args=[course.slug])
    assert f'href="{lesson_url(locked)}"' not in client.get(url).content.decode()
    member = UserFactory()
    CourseEnrollmentFactory(user=member, course=course)
    client.force_login(member)
    assert f'href="{lesson_url(locked)}"' in client.get(url).content.decode()
    client.logout()
    assert f'href="{lesson_url(locked)}"' not in client.get(url).content.decode()
