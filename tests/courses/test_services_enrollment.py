"""Enrollment: free courses, paid checkout through billing, discount codes, refunds, legacy purchases."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing import services as billing_services
from billing.models import PaymentIntent
from courses.models import CourseActivityLog, CourseDiscountCode, CourseEnrollment
from courses.services import (
    DiscountCodeError,
    course_users_link,
    discount_code_check,
    discount_code_redeem,
    enrollment_payment_refunded,
    enrollment_start,
)
from notifications.models import EmailSequenceEnrollment
from tests.billing.stripe_fakes import FakeStripeServer
from tests.courses.conftest import build_course, emails_to, notice_types
from tests.factories.accounts import UserFactory
from tests.factories.courses import CourseDiscountCodeFactory, CourseFactory, CourseUserFactory
from tests.factories.notifications import EmailSequenceFactory

PRICE = Decimal("80.00")


@pytest.fixture
def fake_stripe(settings):
    with FakeStripeServer() as fake:
        settings.STRIPE_API_BASE = fake.url
        yield fake


def _start(member, course, code=""):
    return enrollment_start(
        member=member,
        course=course,
        discount_code=code,
        affiliate_id="partner-7",
        success_url=f"/courses/{course.slug}/",
        cancel_url=f"http://testserver/courses/{course.slug}/",
    )


# --- Free courses ---------------------------------------------------------------------


@pytest.mark.django_db
def test_free_course_enrolls_at_once_and_notifies(client, member):
    course = build_course()
    sequence = EmailSequenceFactory(trigger="course_enrolled")
    client.force_login(member)
    response = client.post(reverse("courses:course_enroll", args=[course.slug]))
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:course_detail", args=[course.slug])
    enrollment = CourseEnrollment.objects.get(user=member, course=course)
    assert enrollment.payment_status == "free"
    assert enrollment.has_access
    assert enrollment.enrolled_at is not None
    assert not PaymentIntent.objects.filter(user=member).exists()
    assert notice_types(member) == ["course_enrolled"]
    assert EmailSequenceEnrollment.objects.filter(sequence=sequence, email=member.email).count() == 1
    [email] = emails_to(member.email)
    assert email.subject.endswith(f"You are enrolled in {course.title}")
    assert f"/courses/{course.slug}/" in email.text_body


@pytest.mark.django_db
def test_enrolling_twice_keeps_one_row_and_one_notice(client, member):
    course = build_course()
    client.force_login(member)
    client.post(reverse("courses:course_enroll", args=[course.slug]))
    client.post(reverse("courses:course_enroll", args=[course.slug]))
    assert CourseEnrollment.objects.filter(user=member, course=course).count() == 1
    assert notice_types(member) == ["course_enrolled"]


@pytest.mark.django_db
def test_draft_course_cannot_be_enrolled(member):
    course = build_course(status="draft")
    with pytest.raises(Exception) as info:
        _start(member, course)
    assert "not open" in str(info.value)
    assert not CourseEnrollment.objects.exists()


# --- Paid courses ---------------------------------------------------------------------


@pytest.mark.django_db
def test_paid_flow_grants_access_only_when_payment_succeeds(member, fake_stripe):
    course = build_course(price=PRICE)
    CourseDiscountCodeFactory(code="SPRING25", discount_type="percentage", discount_value=Decimal("25.00"))
    start = _start(member, course, code="spring25")

    enrollment = CourseEnrollment.objects.get(user=member, course=course)
    assert enrollment.payment_status == "pending"
    assert not enrollment.has_access
    assert start.redirect_url.startswith("https://") or start.redirect_url.startswith("http")
    payment = PaymentIntent.objects.get(kind="course_enrollment", object_id=str(enrollment.pk))
    assert payment.amount == Decimal("60.00")
    assert payment.discount_amount == Decimal("20.00")
    assert CourseDiscountCode.objects.get(code="SPRING25").uses_count == 0
    assert notice_types(member) == []

    billing_services.payment_mark_succeeded(payment=payment)

    enrollment.refresh_from_db()
    assert enrollment.payment_status == "paid"
    assert enrollment.has_access
    assert enrollment.amount_paid == Decimal("60.00")
    assert enrollment.discount_code_used == "SPRING25"
    assert enrollment.discount_amount == Decimal("20.00")
    assert enrollment.affiliate_id == "partner-7"
    assert enrollment.payment_id == payment.pk
    assert CourseDiscountCode.objects.get(code="SPRING25").uses_count == 1
    assert notice_types(member) == ["course_enrolled"]

    # The webhook delivered twice: nothing more happens.
    billing_services.payment_mark_succeeded(payment=payment)
    assert CourseDiscountCode.objects.get(code="SPRING25").uses_count == 1
    assert notice_types(member) == ["course_enrolled"]


@pytest.mark.django_db
def test_full_discount_completes_without_stripe(member, fake_stripe):
    course = build_course(price=PRICE)
    CourseDiscountCodeFactory(code="GIFT", discount_type="fixed", discount_value=Decimal("100.00"), max_uses=1)
    start = _start(member, course, code="GIFT")
    assert start.access_granted
    assert fake_stripe.calls == []
    enrollment = CourseEnrollment.objects.get(user=member)
    assert enrollment.payment_status == "paid"
    assert enrollment.amount_paid == Decimal("0.00")
    assert enrollment.discount_amount == PRICE
    assert CourseDiscountCode.objects.get(code="GIFT").uses_count == 1


@pytest.mark.django_db
def test_full_refund_revokes_partial_keeps_and_repurchase_works(member, fake_stripe):
    course = build_course(price=PRICE)
    _start(member, course)
    enrollment = CourseEnrollment.objects.get(user=member)
    payment = PaymentIntent.objects.get(object_id=str(enrollment.pk))
    billing_services.payment_mark_succeeded(payment=payment)

    billing_services.payment_refund_apply(payment=payment, total_refunded=Decimal("20.00"))
    enrollment.refresh_from_db()
    assert enrollment.has_access
    assert enrollment.amount_refunded == Decimal("20.00")
    assert CourseActivityLog.objects.filter(enrollment=enrollment, activity_type="partial_refund").count() == 1

    billing_services.payment_refund_apply(payment=payment, total_refunded=PRICE)
    enrollment.refresh_from_db()
    assert not enrollment.has_access
    assert enrollment.payment_status == "refunded"
    assert enrollment.access_revoked_at is not None
    assert "course_access_revoked" in notice_types(member)

    _start(member, course)
    enrollment.refresh_from_db()
    assert enrollment.payment_status == "pending"
    assert not enrollment.has_access
    second = PaymentIntent.objects.filter(object_id=str(enrollment.pk)).exclude(pk=payment.pk).get()
    billing_services.payment_mark_succeeded(payment=second)
    enrollment.refresh_from_db()
    assert enrollment.has_access
    assert enrollment.access_revoked_at is None
    assert enrollment.payment_id == second.pk
    assert CourseEnrollment.objects.filter(user=member).count() == 1

    # A late refund event for the first payment does not take the new access away.
    enrollment_payment_refunded(payment=payment, refund_amount=Decimal("0"), fully_refunded=True)
    enrollment.refresh_from_db()
    assert enrollment.has_access


@pytest.mark.django_db
def test_enroll_view_redirects_to_stripe_checkout(client, member, fake_stripe):
    course = build_course(price=PRICE)
    client.force_login(member)
    response = client.post(reverse("courses:course_enroll", args=[course.slug]))
    assert response.status_code == 302
    payment = PaymentIntent.objects.get(kind="course_enrollment")
    assert response["Location"] == payment.checkout_url
    assert payment.amount == PRICE


@pytest.mark.django_db
def test_affiliate_ref_is_kept_in_a_cookie_and_recorded(client, member, fake_stripe):
    course = build_course(price=PRICE)
    response = client.get(reverse("courses:course_detail", args=[course.slug]) + "?ref=podcast_42")
    assert response.cookies["bloom_ref"].value == "podcast_42"
    client.force_login(member)
    client.post(reverse("courses:course_enroll", args=[course.slug]))
    assert CourseEnrollment.objects.get(user=member).affiliate_id == "podcast_42"
    assert PaymentIntent.objects.get(kind="course_enrollment").metadata["affiliate_id"] == "podcast_42"


@pytest.mark.django_db
def test_bad_ref_is_ignored(client):
    course = build_course()
    response = client.get(reverse("courses:course_detail", args=[course.slug]) + "?ref=<script>")
    assert "bloom_ref" not in response.cookies


# --- Discount codes -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda course: None, "don't recognise"),
        (
            lambda course: CourseDiscountCodeFactory(code="X", valid_from=timezone.now() + timezone.timedelta(days=3)),
            "not valid yet",
        ),
        (
            lambda course: CourseDiscountCodeFactory(code="X", valid_until=timezone.now() - timezone.timedelta(days=1)),
            "expired",
        ),
        (lambda course: CourseDiscountCodeFactory(code="X", max_uses=2, uses_count=2), "used up"),
        (lambda course: CourseDiscountCodeFactory(code="X", course=CourseFactory()), "different course"),
        (lambda course: CourseDiscountCodeFactory(code="X", is_active=False), "no longer active"),
    ],
    ids=["unknown", "not-yet-valid", "expired", "used-up", "wrong-course", "inactive"],
)
def test_each_bad_code_has_its_own_message(client, member, make, message):
    course = build_course(price=PRICE)
    make(course)
    with pytest.raises(DiscountCodeError) as info:
        discount_code_check(code="x", course=course)
    assert message in info.value.message

    client.force_login(member)
    response = client.post(reverse("courses:course_enroll", args=[course.slug]), {"discount_code": "x"})
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert 'value="x"' in response.content.decode()
    assert not PaymentIntent.objects.exists()


@pytest.mark.django_db
def test_code_for_this_course_and_all_courses_work():
    course = build_course(price=PRICE)
    CourseDiscountCodeFactory(code="THIS", course=course, discount_type="fixed", discount_value=Decimal("15.00"))
    CourseDiscountCodeFactory(code="ALL", course=None)
    assert discount_code_check(code=" this ", course=course).discount_for(PRICE) == Decimal("15.00")
    assert discount_code_check(code="all", course=course).discount_for(PRICE) == Decimal("16.00")


@pytest.mark.django_db(transaction=True)
def test_two_members_cannot_take_the_last_use():
    CourseDiscountCodeFactory(code="LAST", max_uses=3, uses_count=2)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def redeem():
        try:
            barrier.wait(timeout=10)
            discount_code_redeem(code="LAST")
            results.append("ok")
        except DiscountCodeError:
            results.append("used up")
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["ok", "used up"]
    assert CourseDiscountCode.objects.get(code="LAST").uses_count == 3


@pytest.mark.django_db(transaction=True)
def test_two_payments_racing_for_the_last_use(fake_stripe):
    """Both members were quoted the discount; only one payment takes the use, the other keeps access."""
    course = build_course(price=PRICE)
    CourseDiscountCodeFactory(code="DUO", max_uses=1)
    members = [UserFactory(), UserFactory()]
    payments = []
    for member in members:
        _start(member, course, code="DUO")
        payments.append(PaymentIntent.objects.get(user=member))
    barrier = threading.Barrier(2)

    def pay(payment):
        try:
            barrier.wait(timeout=10)
            billing_services.payment_mark_succeeded(payment=payment)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(p,)) for p in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert CourseDiscountCode.objects.get(code="DUO").uses_count == 1
    assert CourseEnrollment.objects.with_access().filter(course=course).count() == 2
    assert CourseActivityLog.objects.filter(activity_type="discount_overrun").count() == 1


# --- Legacy purchases (course_users) --------------------------------------------------


@pytest.mark.django_db
def test_verifying_an_email_links_legacy_purchases(rf):
    from allauth.account.models import EmailAddress
    from allauth.account.signals import email_confirmed

    legacy = CourseUserFactory(email="Maya@Example.com")
    other = CourseUserFactory(email="someone@example.com")
    user = UserFactory(email="maya@example.com")
    address = EmailAddress.objects.get(user=user)

    email_confirmed.send(sender=EmailAddress, request=rf.get("/"), email_address=address)

    legacy.refresh_from_db()
    other.refresh_from_db()
    assert legacy.auth_user_id == user.pk
    assert legacy.linked_at is not None
    assert other.auth_user_id is None
    enrollment = CourseEnrollment.objects.get(user=user, course=legacy.course)
    assert enrollment.has_access
    assert enrollment.payment_status == "paid"
    assert enrollment.amount_paid == Decimal("49.00")

    assert course_users_link(user=user, email=user.email) == 0
    assert CourseEnrollment.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_signing_up_and_verifying_links_earlier_purchases(client):
    """The real allauth flow: sign up with the address a legacy purchase used, confirm it from the email."""
    from tests.accounts.helpers import CONFIRM_URL, signup_data

    legacy = CourseUserFactory(email="New.Parent@Example.com", amount_paid=Decimal("39.00"))
    client.post(reverse("account_signup"), signup_data("new.parent@example.com"))
    user = UserFactory._meta.model.objects.get(email="new.parent@example.com")
    legacy.refresh_from_db()
    assert legacy.auth_user_id is None  # signing up alone does not claim the purchase
    assert not CourseEnrollment.objects.filter(user=user).exists()

    [mail] = [m for m in emails_to("new.parent@example.com") if "/accounts/confirm-email/" in m.text_body]
    assert client.post(CONFIRM_URL.search(mail.text_body).group(1)).status_code == 302

    legacy.refresh_from_db()
    assert legacy.auth_user_id == user.pk
    enrollment = CourseEnrollment.objects.get(user=user, course=legacy.course)
    assert enrollment.has_access
    assert (enrollment.payment_status, enrollment.amount_paid) == ("paid", Decimal("39.00"))
    assert "course_enrolled" in notice_types(user)


@pytest.mark.django_db
def test_linking_keeps_a_revoked_enrollment_revoked():
    legacy = CourseUserFactory(email="maya@example.com")
    user = UserFactory(email="maya@example.com")
    CourseEnrollment.objects.create(
        user=user, course=legacy.course, payment_status="refunded", access_revoked_at=timezone.now()
    )
    assert course_users_link(user=user, email=user.email) == 1
    assert not CourseEnrollment.objects.get(user=user, course=legacy.course).has_access


@pytest.mark.django_db
def test_a_failed_payment_takes_no_use_and_the_member_can_try_again(client, member, fake_stripe):
    course = build_course(price=PRICE)
    CourseDiscountCodeFactory(code="HALF", discount_type="percentage", discount_value=Decimal("50.00"))
    _start(member, course, code="HALF")
    payment = PaymentIntent.objects.get(user=member)
    assert payment.amount == Decimal("40.00")
    assert payment.metadata["discount_code"] == "HALF"
    enrollment = CourseEnrollment.objects.get(user=member)
    # Before payment the code is recorded as chosen but no use is taken.
    assert (enrollment.discount_code_used, enrollment.discount_amount) == ("HALF", Decimal("40.00"))
    assert CourseDiscountCode.objects.get(code="HALF").uses_count == 0
    # A failed payment takes no use either and leaves the member free to try again.
    billing_services.payment_status_apply(payment=payment, status="failed", at=timezone.now())
    enrollment.refresh_from_db()
    assert enrollment.payment_status == "failed"
    assert CourseDiscountCode.objects.get(code="HALF").uses_count == 0
    _start(member, course, code="HALF")
    assert CourseEnrollment.objects.get(user=member).payment_status == "pending"
