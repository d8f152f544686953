"""Authentication backends that load a member's profile with her user row (issue 18 point 2).

Every member request reads her profile (the time-zone middleware, the policy check, most
pages), so `get_user` fetches both in one query: `request.user.profile` is then already
there, and `selectors.profile_get_for_member` reads it without a query of its own.
Both backends are Django's and allauth's with only `get_user` changed (docs/adr/0420).
"""

from __future__ import annotations

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend


class _ProfileWithUser:
    def get_user(self, user_id):
        user = get_user_model()._default_manager.select_related("profile").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_ProfileWithUser, DjangoModelBackend):
    """Django's ModelBackend (staff created with createsuperuser sign in with it)."""


class AuthenticationBackend(_ProfileWithUser, AllauthBackend):
    """allauth's backend (sign-in by email), which allauth finds by isinstance."""
