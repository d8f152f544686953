import pytest
from django.core.exceptions import ValidationError

from content.validators import CV_MAX_BYTES, validate_cv
from tests.factories.content import cv_upload, docx_bytes

pytestmark = pytest.mark.django_db


def test_pdf_and_docx_pass_validation():
    assert validate_cv(cv_upload("resume.pdf")) == "pdf"
    assert validate_cv(cv_upload("resume.docx", docx_bytes())) == "docx"


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("cv.exe", b"MZ\x90\x00", "cv_type"),
        ("cv.doc", b"\xd0\xcf\x11\xe0", "cv_type"),
        ("cv.pdf", b"<html><script>alert(1)</script></html>", "cv_content"),
        ("cv.docx", b"%PDF-1.4 pretending", "cv_content"),
        ("cv.pdf", b"%PDF-" + b"0" * CV_MAX_BYTES, "cv_size"),
        ("cv.pdf", b"", "cv_empty"),
    ],
)
def test_bad_cvs_are_refused(name, content, code):
    with pytest.raises(ValidationError) as info:
        validate_cv(cv_upload(name, content))
    assert info.value.code == code
