"""Staff with and without the publish permission, and a media root per test."""

import pytest
from django.contrib.auth.models import Permission

from accounts.models import User
from tests.factories.content import AdminUserFactory, StaffUserFactory

EDITOR_PERMS = ["view_blogpost", "add_blogpost", "change_blogpost", "delete_blogpost", "view_blogpostversion"]


def _staff_with(codenames: list[str]) -> User:
    user = StaffUserFactory()
    AdminUserFactory(user=user)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="content", codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def editor(db) -> User:
    """Staff who write posts but may not approve or publish them."""
    return _staff_with(EDITOR_PERMS)


@pytest.fixture
def publisher(db) -> User:
    """Staff who may also approve and publish."""
    return _staff_with([*EDITOR_PERMS, "publish_blogpost"])


@pytest.fixture
def superuser(db) -> User:
    user = User.objects.create_superuser("owner@example.com", "a-Long-test-passphrase-2026")
    AdminUserFactory(user=user)
    return user


@pytest.fixture
def admin_client(client, superuser, settings):
    """The back office as a superuser (the MFA requirement is covered by accounts' tests)."""
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    client.force_login(superuser)
    return client


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def rate_window_held(monkeypatch):
    """Hold django-ratelimit's clock still, so a burst never straddles the start of a new window.

    Its fixed windows start at an offset per key, at any second; a test that sends one
    request past a limit must see all of them counted in the same window.
    """
    import time as real_time

    import django_ratelimit.core

    now = real_time.time()

    class HeldClock:
        @staticmethod
        def time() -> float:
            return now

    monkeypatch.setattr(django_ratelimit.core, "time", HeldClock)
