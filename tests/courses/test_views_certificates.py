"""Certificates: name before download, PDF with QR code, public verification, revocation, fencing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from courses.models import CourseCertificate
from courses.services import certificate_revoke, course_progress_update
from tests.courses.conftest import build_course, lessons_of
from tests.factories.accounts import UserFactory
from tests.factories.courses import CourseCertificateFactory, CourseEnrollmentFactory

pytestmark = pytest.mark.django_db


def _earn(member):
    course = build_course(lessons=2, modules=1, title="Calm in pregnancy and after birth")
    CourseEnrollmentFactory(user=member, course=course)
    for lesson in lessons_of(course):
        course_progress_update(member=member, lesson=lesson, completed=True)
    return CourseCertificate.objects.get(user=member, course=course)


def test_member_confirms_name_then_downloads_pdf(client):
    member = UserFactory()
    certificate = _earn(member)
    client.force_login(member)
    detail = reverse("courses:certificate_detail", args=[certificate.pk])
    pdf_url = reverse("courses:certificate_pdf", args=[certificate.pk])

    response = client.get(pdf_url, follow=True)
    assert "confirm the name" in response.content.decode()
    assert CourseCertificate.objects.get(pk=certificate.pk).download_count == 0

    response = client.post(detail, {"certificate_name": "  Maya   Q. Example "})
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.certificate_name == "Maya Q. Example"
    assert certificate.name_confirmed_at is not None

    # Once confirmed, the name no longer changes.
    client.post(detail, {"certificate_name": "Someone Else"})
    certificate.refresh_from_db()
    assert certificate.certificate_name == "Maya Q. Example"

    response = client.get(pdf_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert b"Maya Q. Example" in response.content
    assert CourseCertificate.objects.get(pk=certificate.pk).download_count == 1


def test_qr_code_encodes_the_verification_url():
    import qrcode

    from courses.certificates import certificate_verify_url

    certificate = CourseCertificateFactory()
    url = certificate_verify_url(certificate)
    assert url.endswith(reverse("courses:certificate_verify", args=[certificate.verification_code]))
    code = qrcode.QRCode()
    code.add_data(url)
    assert code.data_list[0].data == url.encode()


def test_another_members_certificate_is_404(client):
    owner = UserFactory()
    certificate = _earn(owner)
    client.force_login(UserFactory())
    assert client.get(reverse("courses:certificate_detail", args=[certificate.pk])).status_code == 404
    assert client.get(reverse("courses:certificate_pdf", args=[certificate.pk])).status_code == 404


def test_public_verification_page(client):
    certificate = CourseCertificateFactory(certificate_name="Ana Ruiz")
    response = client.get(reverse("courses:certificate_verify", args=[certificate.verification_code]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Valid certificate" in body
    assert "Ana Ruiz" in body and certificate.course.title in body
    assert client.get(reverse("courses:certificate_verify", args=["not-a-real-code"])).status_code == 404


def test_revoked_certificate_says_so_and_cannot_be_downloaded(client):
    certificate = CourseCertificateFactory(certificate_name="Ana Ruiz")
    certificate_revoke(certificate=certificate, reason="Issued in error")
    body = client.get(reverse("courses:certificate_verify", args=[certificate.verification_code])).content.decode()
    assert "This certificate was revoked" in body
    assert "Issued in error" in body
    assert "Valid certificate" not in body

    client.force_login(certificate.user)
    response = client.get(reverse("courses:certificate_pdf", args=[certificate.pk]), follow=True)
    assert "was revoked" in response.content.decode()
    assert CourseCertificate.objects.get(pk=certificate.pk).download_count == 0


def test_verification_codes_are_unique_and_unguessable():
    codes = {_earn(UserFactory()).verification_code for _ in range(3)}
    assert len(codes) == 3
    assert all(len(code) >= 24 for code in codes)


def test_pdf_prints_the_verification_link_and_draws_its_qr_code():
    import qrcode

    from courses.certificates import certificate_pdf, certificate_verify_url

    certificate = CourseCertificateFactory(certificate_name="Ana Ruiz")
    pdf = certificate_pdf(certificate=certificate)
    url = certificate_verify_url(certificate)
    assert url.encode() in pdf
    assert certificate.verification_code.encode() in pdf
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    dark = sum(cell for row in code.get_matrix() for cell in row)
    # One filled square per dark module of the QR code for exactly this URL.
    assert pdf.count(b" re f") >= dark


def test_revoking_requires_a_reason_and_is_idempotent():
    from bloom.exceptions import ApplicationError

    certificate = CourseCertificateFactory()
    with pytest.raises(ApplicationError):
        certificate_revoke(certificate=certificate, reason="  ")
    first = certificate_revoke(certificate=certificate, reason="Issued in error").revoked_at
    assert certificate_revoke(certificate=certificate, reason="Again").revoked_at == first
    certificate.refresh_from_db()
    assert certificate.revoked_reason == "Issued in error"
