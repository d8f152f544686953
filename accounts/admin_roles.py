"""`RoleFieldsMixin`: an admin that keeps a role's hidden fields (accounts/roles.py) out of sight.

A role may view a model but not some of its fields (a clinician sees who registered for a
workshop, not what they paid). The mixin drops those fields from the list columns, filters,
searches, the form and its read-only fields, for staff whose role hides them; everyone else sees
the admin as declared.
"""

from __future__ import annotations

from .roles import staff_hidden_fields


def _without(names, hidden: frozenset[str]) -> list:
    return [name for name in names if not (isinstance(name, str) and name.split("__")[0] in hidden)]


class RoleFieldsMixin:
    def role_hidden_fields(self, request) -> frozenset[str]:
        return staff_hidden_fields(staff_user=request.user, model=self.model)

    def get_list_display(self, request):
        return _without(super().get_list_display(request), self.role_hidden_fields(request))

    def get_list_filter(self, request):
        return _without(super().get_list_filter(request), self.role_hidden_fields(request))

    def get_search_fields(self, request):
        return _without(super().get_search_fields(request), self.role_hidden_fields(request))

    def get_fields(self, request, obj=None):
        return _without(super().get_fields(request, obj), self.role_hidden_fields(request))

    def get_readonly_fields(self, request, obj=None):
        return _without(super().get_readonly_fields(request, obj), self.role_hidden_fields(request))

    def get_exclude(self, request, obj=None):
        hidden = self.role_hidden_fields(request)
        return (
            [*(super().get_exclude(request, obj) or ()), *sorted(hidden)]
            if hidden
            else super().get_exclude(request, obj)
        )
