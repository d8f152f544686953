"""Member screening pages: offered points (take or skip), the questionnaire, the result, the
timeline chart (fixed queries at 0, 1 and 200 results); fencing; staff reads of answers only
when shared, audited; gentle reminders; the demo member's timeline."""

import datetime
import importlib
import json
import re
from io import StringIO

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    AdminAction,
    AdminActivityLog,
    ConsentKind,
    ConsentRecord,
    MemberScreeningPoint,
    RiskAlert,
    ScreeningPointStatus,
    ScreeningResponse,
    ScreeningSchedulePoint,
    User,
)
from accounts.screening import EPDS
from accounts.selectors import member_data_export
from accounts.services import SCREENING_REMINDER_TITLE, member_anonymize, screening_reminders_send, screening_submit
from notifications.models import UserNotification
from tests.factories.accounts import ScreeningResponseFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

EPDS_ZERO = {1: 0, 2: 0, 3: 3, 4: 0, 5: 3, 6: 3, 7: 3, 8: 3, 9: 3, 10: 3}


def _postpartum(user, *, weeks: int, days: int = 1):
    user.profile.stage = "postpartum"
    user.profile.baby_birth_date = timezone.localdate() - datetime.timedelta(weeks=weeks, days=days)
    user.profile.save()
    return user


@pytest.fixture(autouse=True)
def default_points():
    """The points migration 0005 installs (a transactional test elsewhere may have flushed them)."""
    from django.apps import apps

    importlib.import_module("accounts.migrations.0005_default_screening_points").add_points(apps, None)


@pytest.fixture
def member(client):
    user = _postpartum(UserFactory(), weeks=6)
    client.force_login(user)
    return user


def _post(answers: dict, **extra) -> dict:
    return {**{f"q{number}": str(position) for number, position in answers.items()}, **extra}


def _six_weeks():
    return ScreeningSchedulePoint.objects.get(stage="postpartum", week=6, instrument="epds")


# --- Offered, taken, skipped ---------------------------------------------------------------------


def test_the_point_she_reached_is_offered_and_can_be_skipped_kindly(client, member):
    html = client.get(reverse("accounts:screening")).content.decode()
    assert "Six weeks after birth" in html and "6 weeks after birth" in html
    assert reverse("accounts:screening_take", args=["epds"]) in html
    assert "Two weeks after birth" not in html  # its window (weeks 2-3) has closed

    response = client.post(reverse("accounts:screening_skip", args=[_six_weeks().pk]), follow=True)

    html = response.content.decode()
    assert "Skipped six weeks after birth. That&#x27;s completely fine" in html
    assert "missed" not in html.lower()
    assert "Nothing is waiting for you." in html
    assert MemberScreeningPoint.objects.get(user=member).status == ScreeningPointStatus.SKIPPED


def test_a_point_that_is_not_open_cannot_be_skipped(client, member):
    twelve_months = ScreeningSchedulePoint.objects.get(stage="postpartum", week=52)
    response = client.post(reverse("accounts:screening_skip", args=[twelve_months.pk]), follow=True)
    assert "That questionnaire isn&#x27;t open right now." in response.content.decode()
    assert not MemberScreeningPoint.objects.exists()


def test_the_questionnaire_has_one_fieldset_and_legend_per_question(client, member):
    html = client.get(reverse("accounts:screening_take", args=["epds"])).content.decode()
    assert html.count("<fieldset") == 10
    assert "<legend>10. The thought of harming myself has occurred to me</legend>" in html
    for label in EPDS.item(10).options:
        assert f"> {label}</label>" in html
    assert len(re.findall(r'<label for="id_q\d+_\d">', html)) == 40
    assert '<label for="id_share_with_clinician">Share my answers with my clinician</label>' in html
    assert "Cox JL, Holden JM, Sagovsky R." in html and "not a diagnosis" in html


def test_a_missing_answer_is_named_and_every_other_answer_is_kept(client, member):
    answers = {number: 1 for number in range(1, 11) if number != 7}
    response = client.post(reverse("accounts:screening_take", args=["epds"]), _post(answers))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Please choose an answer to question 7." in html
    assert len(re.findall(r'value="1"[^>]*checked', html)) == 9
    assert not ScreeningResponse.objects.exists()


def test_unknown_questionnaires_and_answers_are_refused(client, member):
    assert client.get(reverse("accounts:screening_take", args=["bdi"])).status_code == 404
    response = client.post(reverse("accounts:screening_take", args=["epds"]), _post({**EPDS_ZERO, 10: 9}))
    assert response.status_code == 200 and not ScreeningResponse.objects.exists()


def test_a_completed_questionnaire_is_scored_stored_encrypted_and_completes_the_point(client, member):
    answers = {**EPDS_ZERO, 1: 2, 3: 0}  # 2 + 3 points
    response = client.post(reverse("accounts:screening_take", args=["epds"]), _post(answers, share_with_clinician="on"))

    stored = ScreeningResponse.objects.get()
    assert response["Location"] == reverse("accounts:screening_result", args=[stored.pk])
    assert (stored.total, stored.band, stored.urgent) == (5, "low", False)
    assert (stored.perinatal_stage, stored.perinatal_week, stored.shared_with_clinician) == ("postpartum", 6, True)
    assert json.loads(stored.answers) == {str(k): v for k, v in answers.items()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers FROM screening_responses WHERE id = %s", [stored.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("gAAAA") and '"10"' not in raw  # a Fernet token, not the answers
    point = MemberScreeningPoint.objects.get(user=member)
    assert (point.point, point.status, point.response) == (_six_weeks(), ScreeningPointStatus.COMPLETED, stored)
    assert ConsentRecord.objects.filter(user=member, kind=ConsentKind.HEALTH_DATA, granted=True).count() == 1
    assert "Nothing is waiting for you." in client.get(reverse("accounts:screening")).content.decode()


def test_the_result_explains_the_band_and_what_changed_without_crisis_lines_when_not_urgent(client, member):
    earlier = timezone.now() - datetime.timedelta(days=14)
    screening_submit(member=member, instrument="epds", answers={**EPDS_ZERO, 1: 3, 2: 3, 4: 3, 3: 0}, taken_at=earlier)
    response = screening_submit(member=member, instrument="epds", answers={**EPDS_ZERO, 1: 2})

    html = client.get(reverse("accounts:screening_result", args=[response.pk])).content.decode()
    assert "Your score: 2 of 30" in html
    assert "Few signs of depression." in html and "not a diagnosis" in html
    assert "10 points lower than last time (12 on" in html
    assert "Some signs of depression" in html  # the band it moved from, and the band table
    assert 'aria-current="true"' in html
    assert "988" not in html.split("<main", 1)[1].split("</main>", 1)[0]


def test_an_urgent_result_shows_the_crisis_resources_before_the_score(client, member):
    response = screening_submit(member=member, instrument="epds", answers={**EPDS_ZERO, 10: 2})
    html = client.get(reverse("accounts:screening_result", args=[response.pk])).content.decode()
    crisis = html.index('id="crisis-heading"')
    assert crisis < html.index("Your score: 1 of 30")
    for text in ("call 988", "text 988", "1-833-852-6262", "Call 911", "We have let our on-call clinician know"):
        assert text in html


def test_results_are_fenced_to_their_member(client, member):
    theirs = ScreeningResponseFactory(total=17, band="likely")
    assert client.get(reverse("accounts:screening_result", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("accounts:screening_share", args=[theirs.pk]), {"shared": "yes"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.shared_with_clinician is False
    html = client.get(reverse("accounts:screening_timeline")).content.decode()
    assert "No questionnaires yet" in html and str(theirs.pk) not in html


def test_pages_need_a_signed_in_member(client):
    for url in (reverse("accounts:screening"), reverse("accounts:screening_timeline")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_she_can_share_and_stop_sharing_her_answers(client, member):
    response = screening_submit(member=member, instrument="gad7", answers=dict.fromkeys(range(1, 8), 1))
    url = reverse("accounts:screening_share", args=[response.pk])
    assert "Your answers are shared" in client.post(url, {"shared": "yes"}, follow=True).content.decode()
    assert "no longer shared" in client.post(url, {"shared": "no"}, follow=True).content.decode()
    response.refresh_from_db()
    assert response.shared_with_clinician is False
    assert list(
        ConsentRecord.objects.filter(user=member, source="screening_share")
        .order_by("created_at")
        .values_list("granted", flat=True)
    ) == [True, False]


# --- Timeline -----------------------------------------------------------------------------------


def _results(member, count: int) -> None:
    start = timezone.now() - datetime.timedelta(weeks=40)
    ScreeningResponse.objects.bulk_create(
        ScreeningResponse(
            user=member,
            instrument=("epds", "phq9", "gad7")[n % 3],
            answers="{}",
            total=n % 20,
            band={"epds": "low", "phq9": "minimal", "gad7": "minimal"}[("epds", "phq9", "gad7")[n % 3]],
            urgent=n == 7,
            taken_at=start + datetime.timedelta(days=n),
            perinatal_stage="pregnant" if n < 100 else "postpartum",
            perinatal_week=(n // 7) % 42 if n < 100 else (n - 100) // 7,
        )
        for n in range(count)
    )


@pytest.mark.parametrize("count", [0, 1, 200])
def test_the_timeline_renders_with_a_fixed_number_of_queries(client, member, count, django_assert_num_queries):
    _results(member, count)
    client.get(reverse("accounts:screening_timeline"))  # warm the session
    # session, user with her profile (time zone and page alike), responses (the bell's count is kept)
    with django_assert_num_queries(3):
        response = client.get(reverse("accounts:screening_timeline"))
    html = response.content.decode()
    if count == 0:
        assert "No questionnaires yet" in html and "<svg" not in html
        return
    charts = 1 if count == 1 else 3
    assert html.count('role="img"') == charts and html.count("<table>") == charts
    assert html.count("<title id=") == charts and html.count("<desc id=") == charts
    assert html.count("<tr>") - charts == count  # one data row per result (plus a header row per table)
    assert html.count("<circle") + html.count("(needed attention)</title>") == count


def test_the_timeline_plots_weeks_of_pregnancy_then_after_birth(client, member):
    for stage, week, total in (("pregnant", 20, 11), ("pregnant", 32, 9), ("postpartum", 2, 14), ("postpartum", 6, 8)):
        ScreeningResponseFactory(user=member, perinatal_stage=stage, perinatal_week=week, total=total, band="low")
    html = client.get(reverse("accounts:screening_timeline")).content.decode()
    assert "Your pregnancy and the weeks after birth" in html
    for tick in ("Wk 28", "Birth", "6 wk"):
        assert f">{tick}</text>" in html
    assert "Week 20 of pregnancy" in html and "6 weeks after birth" in html
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', html)]
    assert xs == sorted(xs) and len(xs) == 4  # in timeline order, left to right
    assert "Since last time:" in html and "6 points lower than last time (14 on" in html


def test_off_the_perinatal_timeline_the_axis_counts_weeks_since_the_first(client):
    user = UserFactory()
    client.force_login(user)
    ScreeningResponseFactory(user=user, perinatal_stage="other", perinatal_week=None)
    ScreeningResponseFactory(
        user=user, perinatal_stage="other", perinatal_week=None, taken_at=timezone.now() + datetime.timedelta(weeks=3)
    )
    html = client.get(reverse("accounts:screening_timeline")).content.decode()
    assert "Weeks since your first" in html and "Add your due date or your baby" in html


# --- Staff --------------------------------------------------------------------------------------


def test_staff_see_scores_but_answers_only_when_shared_and_each_read_is_audited(client):
    staff = StaffUserFactory(is_superuser=True)
    private = ScreeningResponseFactory(answers=json.dumps({**{str(n): 3 for n in range(1, 11)}}), total=9)
    shared = ScreeningResponseFactory(shared_with_clinician=True, total=0)
    client.force_login(staff)

    listing = client.get(reverse("admin:accounts_screeningresponse_changelist")).content.decode()
    assert "Hardly" not in listing and "Not at all" not in listing

    html = client.get(reverse("admin:accounts_screeningresponse_change", args=[private.pk])).content.decode()
    assert "Not shared: the member keeps her answers to each question private." in html
    assert "Not at all" not in html  # item 1, position 3
    assert not AdminActivityLog.objects.filter(action=AdminAction.VIEW_HEALTH).exists()

    html = client.get(reverse("admin:accounts_screeningresponse_change", args=[shared.pk])).content.decode()
    assert "10. The thought of harming myself has occurred to me: <strong>Never</strong> (0 point(s))" in html
    (audit,) = AdminActivityLog.objects.filter(action=AdminAction.VIEW_HEALTH)
    assert (audit.user, audit.object_type, audit.object_id) == (staff, "accounts.screeningresponse", str(shared.pk))


# --- Reminders, dashboard, export, deletion, demo ------------------------------------------------


def test_a_reached_point_is_offered_once_by_a_gentle_notice(member):
    pregnant = UserFactory()
    pregnant.profile.stage = "pregnant"
    pregnant.profile.due_date = timezone.localdate() + datetime.timedelta(weeks=29)  # week 11
    pregnant.profile.save()
    skipped = _postpartum(UserFactory(), weeks=6)
    MemberScreeningPoint.objects.create(
        user=skipped, point=_six_weeks(), anchor_date=skipped.profile.baby_birth_date, status="skipped"
    )

    assert screening_reminders_send() == 2
    assert screening_reminders_send() == 0  # idempotent

    notices = UserNotification.objects.filter(type="screening_offered").order_by("title")
    assert sorted(n.user_id for n in notices) == sorted([member.pk, pregnant.pk])
    for notice in notices:
        assert notice.title == SCREENING_REMINDER_TITLE
        text = f"{notice.title} {notice.message}".lower()
        assert "missed" not in text and "don't lose" not in text and "skip" in text
    assert {n.message.split(":")[0] for n in notices} == {"Six weeks after birth", "First trimester"}


def test_the_dashboard_panel_offers_what_is_due(client, member):
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert 'id="panel-screening"' in html
    assert "<strong>Six weeks after birth</strong>: a short questionnaire is here when you're ready." in html


def test_her_export_holds_her_screenings_and_deletion_erases_them(member):
    screening_submit(member=member, instrument="epds", answers={**EPDS_ZERO, 10: 2})
    exported = member_data_export(member=member)["screening_responses"]
    assert exported[0]["answers"]["10"] == 2 and exported[0]["total"] == 1

    member_anonymize(member=member)

    assert not ScreeningResponse.objects.filter(user=member).exists()
    assert not MemberScreeningPoint.objects.filter(user=member).exists()
    assert RiskAlert.objects.filter(user=member).count() == 1  # the care team's record stays


def test_the_demo_member_has_a_birth_date_and_two_screenings_on_her_timeline(client):
    from accounts import demo

    demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())  # idempotent
    maya = User.objects.get(email="member@bloom.test")
    assert maya.profile.stage == "postpartum" and maya.profile.baby_birth_date is not None
    results = list(maya.screening_responses.order_by("taken_at"))
    assert [(r.instrument, r.total, r.perinatal_week, r.urgent) for r in results] == [
        ("epds", 11, 2, False),
        ("epds", 7, 6, False),
    ]
    # Her screenings raise nothing; the one demo alert is Ruth's, for the admin home's card.
    assert not RiskAlert.objects.filter(user=maya).exists()
    assert list(RiskAlert.objects.values_list("user__email", flat=True)) == ["ruth@bloom.test"]
    client.force_login(maya)
    html = client.get(reverse("accounts:screening_timeline")).content.decode()
    assert html.count("<circle") == 2 and "4 points lower than last time (11 on" in html
