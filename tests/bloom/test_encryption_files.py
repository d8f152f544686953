"""Uploaded CVs encrypted in their files (bloom.crypto.EncryptedFileSystemStorage, docs/adr/0330)."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from bloom import crypto
from content.models import CareerApplication
from tests.factories.content import CareerApplicationFactory, cv_upload

pytestmark = pytest.mark.django_db

CV = b"%PDF-1.4\nJane Doe. Career break 2024-2025 for postnatal depression treatment.\n%%EOF"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def test_the_file_on_disk_is_ciphertext_and_the_model_reads_the_cv(media_root):
    application = CareerApplicationFactory(cv=cv_upload(content=CV))
    on_disk = Path(media_root, application.cv.name).read_bytes()
    assert b"postnatal" not in on_disk and not on_disk.startswith(b"%PDF")
    assert Fernet(settings.BLOOM_FIELD_ENCRYPTION_KEYS[0].encode()).decrypt(on_disk) == CV
    with CareerApplication.objects.get(pk=application.pk).cv.open("rb") as handle:
        assert handle.read() == CV


def test_staff_download_serves_the_decrypted_cv(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    application = CareerApplicationFactory(cv=cv_upload(content=CV), cv_original_name="jane.pdf")
    client = Client()
    client.force_login(User.objects.create_superuser("owner@example.com", "pw-not-used-123"))
    response = client.get(reverse("admin:content_careerapplication_cv", args=[application.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CV
    assert 'filename="jane.pdf"' in response["Content-Disposition"]


def test_old_plain_files_are_converted_and_back(media_root):
    application = CareerApplicationFactory(cv=cv_upload(content=CV))
    path = Path(media_root, application.cv.name)
    path.write_bytes(CV)  # as stored before migration content 0040

    assert crypto.files_encrypt(model=CareerApplication, field_name="cv") == 1
    assert path.read_bytes() != CV
    assert crypto.files_encrypt(model=CareerApplication, field_name="cv") == 0  # idempotent
    with CareerApplication.objects.get(pk=application.pk).cv.open("rb") as handle:
        assert handle.read() == CV

    assert crypto.files_encrypt(model=CareerApplication, field_name="cv", reverse=True) == 1
    assert path.read_bytes() == CV


def test_a_cv_written_under_an_unknown_key_fails_loudly(settings):
    application = CareerApplicationFactory(cv=cv_upload(content=CV))
    settings.BLOOM_FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.EncryptionKeyError):
        CareerApplication.objects.get(pk=application.pk).cv.open("rb")
