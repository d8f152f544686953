"""Content a clinician suggests: lessons, courses and workshops, with a note; the client sees it
"from your therapist"; the care team sees her progress only while she shares it."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AdminActivityLog, CareAssignment, ConsentRecord
from accounts.roles import roles_sync_defaults
from accounts.selectors import care_assignment_list_for_member, care_assignment_progress_get
from accounts.services import care_assignment_create, care_progress_share_set
from bloom.exceptions import ApplicationError
from courses.models import ProgressStatus, PublishStatus
from notifications.models import EmailQueue, UserNotification
from tests.factories.accounts import StaffUserFactory, UserFactory
from tests.factories.courses import (
    CourseEnrollmentFactory,
    CourseFactory,
    CourseLessonFactory,
    CourseModuleFactory,
    CourseProgressFactory,
)
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinician():
    return StaffUserFactory(first_name="Dana")


@pytest.fixture
def member():
    user = UserFactory()
    user.profile.onboarding_completed = True
    user.profile.save()
    return user


def test_a_suggested_course_reaches_her_with_a_notice_whose_email_names_nothing(clinician, member):
    course = CourseFactory(title="Sleep and the newborn")
    assignment = care_assignment_create(
        clinician=clinician, member=member, kind="course", object_id=course.pk, note="Start with week 1."
    )
    assert (assignment.title, assignment.user, assignment.clinician) == ("Sleep and the newborn", member, clinician)
    notice = UserNotification.objects.get(user=member, type="care_assignment")
    assert "Sleep and the newborn" in notice.message
    mail = EmailQueue.objects.get(to_email=member.email)
    assert "Sleep and the newborn" not in mail.text_body and "week 1" not in mail.text_body
    assert mail.category == "clinical"


def test_her_list_shows_each_kind_with_her_progress_in_a_fixed_number_of_queries(
    clinician, member, django_assert_max_num_queries
):
    course = CourseFactory()
    enrollment = CourseEnrollmentFactory(user=member, course=course)
    enrollment.progress_percent = 40
    enrollment.save()
    lesson = CourseLessonFactory(module=CourseModuleFactory(course=course))
    CourseProgressFactory(user=member, enrollment=enrollment, lesson=lesson, status=ProgressStatus.COMPLETED)
    workshop = WorkshopFactory(starts_at=timezone.now() + datetime.timedelta(days=5))
    WorkshopRegistrationFactory(user=member, workshop=workshop)
    for kind, pk in (("course", course.pk), ("lesson", lesson.pk), ("workshop", workshop.pk)):
        care_assignment_create(clinician=clinician, member=member, kind=kind, object_id=pk)
    # one for the suggestions, then two per kind (the items, her progress on them)
    with django_assert_max_num_queries(7):
        listed = care_assignment_list_for_member(member=member)
    assert {a.kind: item.progress for a, item in listed} == {
        "course": "40% done",
        "lesson": "Done",
        "workshop": "Registered",
    }
    assert care_assignment_list_for_member(member=UserFactory()) == []


def test_only_published_items_and_clients_can_be_suggested(clinician, member):
    draft = CourseFactory(status=PublishStatus.DRAFT)
    with pytest.raises(ApplicationError, match="not published"):
        care_assignment_create(clinician=clinician, member=member, kind="course", object_id=draft.pk)
    with pytest.raises(ApplicationError, match="for clients"):
        care_assignment_create(clinician=clinician, member=StaffUserFactory(), kind="course", object_id=draft.pk)
    with pytest.raises(ApplicationError, match="Only the care team"):
        care_assignment_create(clinician=UserFactory(), member=member, kind="course", object_id=draft.pk)
    with pytest.raises(ApplicationError, match="Nothing of the kind"):
        care_assignment_create(clinician=clinician, member=member, kind="podcast", object_id=draft.pk)
    assert not CareAssignment.objects.exists()


def test_the_care_team_sees_her_progress_only_while_she_shares_it(clinician, member):
    course = CourseFactory()
    CourseEnrollmentFactory(user=member, course=course, progress_percent=75)
    assignment = care_assignment_create(clinician=clinician, member=member, kind="course", object_id=course.pk)
    assert care_assignment_progress_get(assignment=assignment) is None
    assert care_progress_share_set(member=member, shared=True)
    assert care_assignment_progress_get(assignment=assignment).progress == "75% done"
    assert not care_progress_share_set(member=member, shared=True)  # no change, no new record
    assert care_progress_share_set(member=member, shared=False)
    assert care_assignment_progress_get(assignment=assignment) is None
    assert list(
        ConsentRecord.objects.filter(user=member, source="care_progress_share")
        .order_by("created_at")
        .values_list("kind", "granted")
    ) == [("health_data", True), ("health_data", False)]


# --- Her dashboard -----------------------------------------------------------------------------


def test_her_dashboard_shows_from_your_therapist_and_she_can_put_one_away(client, clinician, member):
    course = CourseFactory(title="Gentle routines")
    assignment = care_assignment_create(
        clinician=clinician, member=member, kind="course", object_id=course.pk, note="Just the first module."
    )
    client.force_login(member)
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert "From your therapist" in html and "Gentle routines" in html and "Just the first module." in html
    assert "Suggested by Dana" in html and "Let my therapist see my progress" in html

    other = UserFactory()
    other.profile.onboarding_completed = True
    other.profile.save()
    client.force_login(other)
    assert "From your therapist" not in client.get(reverse("accounts:dashboard")).content.decode()
    client.post(reverse("accounts:care_assignment_done", args=[assignment.pk]))  # not hers: nothing changes
    assignment.refresh_from_db()
    assert assignment.archived_at is None

    client.force_login(member)
    client.post(reverse("accounts:care_assignment_done", args=[assignment.pk]))
    assert "Gentle routines" not in client.get(reverse("accounts:dashboard")).content.decode()


def test_she_shares_and_stops_sharing_from_the_dashboard(client, clinician, member):
    course = CourseFactory()
    care_assignment_create(clinician=clinician, member=member, kind="course", object_id=course.pk)
    client.force_login(member)
    response = client.post(reverse("accounts:care_progress_share"), {"shared": "1"}, follow=True)
    assert "can now see your progress" in response.content.decode()
    assert "Stop sharing my progress" in response.content.decode()
    client.post(reverse("accounts:care_progress_share"), {"shared": "0"})
    assert "Let my therapist see my progress" in client.get(reverse("accounts:dashboard")).content.decode()


# --- The care team in the admin ----------------------------------------------------------------


def _clinician_login(client):
    from accounts.models import AdminRole
    from accounts.services import admin_user_role_set
    from tests.factories.accounts import AdminUserFactory

    roles_sync_defaults()
    user = StaffUserFactory(first_name="Dana")
    admin_user_role_set(admin_user=AdminUserFactory(user=user), role=AdminRole.objects.get(slug="clinician"))
    client.force_login(user)
    return user


def test_a_clinician_suggests_a_lesson_in_the_admin_and_reading_one_is_audited(client, member):
    clinician = _clinician_login(client)
    lesson = CourseLessonFactory(title="Breathing for two minutes")
    form = client.get(reverse("admin:accounts_careassignment_add"))
    assert form.status_code == 200 and "Breathing for two minutes" in form.content.decode()
    response = client.post(
        reverse("admin:accounts_careassignment_add"),
        {"user": str(member.pk), "item": f"lesson:{lesson.pk}", "note": "Before bed."},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assignment = CareAssignment.objects.get()
    assert (assignment.clinician, assignment.kind, assignment.note) == (clinician, "lesson", "Before bed.")

    listing = client.get(reverse("admin:accounts_careassignment_changelist")).content.decode()
    assert "Not shared" in listing and "Before bed." not in listing
    AdminActivityLog.objects.all().delete()
    detail = client.get(reverse("admin:accounts_careassignment_change", args=[assignment.pk])).content.decode()
    assert "Before bed." in detail
    read = AdminActivityLog.objects.get(action="view_health")
    assert read.object_id == str(assignment.pk)


def test_a_staff_member_cannot_be_chosen_as_the_client(client):
    _clinician_login(client)
    course = CourseFactory()
    response = client.post(
        reverse("admin:accounts_careassignment_add"),
        {"user": str(StaffUserFactory().pk), "item": f"course:{course.pk}", "note": ""},
    )
    assert response.status_code == 200 and "Suggestions are for clients" in response.content.decode()
    assert not CareAssignment.objects.exists()
