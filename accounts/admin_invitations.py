"""Back office: the owner invites colleagues by email with a role (staff onboarding).

Adding an invitation sends the email; the list shows each one's state, and "Send again" or
"Revoke" act on pending ones. Nobody ticks "email verified" by hand: allauth's address admin is
read-only for that column, and accepting an invitation is what verifies a colleague's address.
"""

from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from bloom.admin import Confirm, row_action

from .models import AdminRole, StaffInvitation
from .services import InvitationRefused, staff_invitation_create, staff_invitation_resend, staff_invitation_revoke


class StaffInvitationForm(forms.ModelForm):
    class Meta:
        model = StaffInvitation
        fields = ["email", "role"]
        help_texts = {
            "email": "Her work address. The invitation link goes there and works once.",
            "role": "What she may see and do in the back office. You can change it later on her staff page.",
        }

    def __init__(self, *args, inviter=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.inviter = inviter
        if "role" in self.fields:  # absent on an existing invitation's read-only page
            self.fields["role"].queryset = AdminRole.objects.order_by("name")

    def save(self, commit=True):
        # The service makes the row and queues the email; the admin saves nothing itself.
        return self.instance

    def save_m2m(self):
        """Nothing many-to-many to save."""

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.instance = staff_invitation_create(email=data["email"], role=data["role"], invited_by=self.inviter)
        except InvitationRefused as refusal:
            raise ValidationError({"email": refusal.message}) from refusal
        return data


_PENDING = {
    "rows": lambda queryset: queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True),
    "permissions": ["add"],
}


@admin.register(StaffInvitation)
class StaffInvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "role", "state_label", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter), ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["email"]
    list_select_related = ["role", "invited_by"]
    actions = ["send_again", "revoke"]
    things = ("invitation", "invitations")

    @admin.display(description="State")
    def state_label(self, obj) -> str:
        return obj.state.capitalize()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, form=StaffInvitationForm, **kwargs)

        class WithInviter(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, inviter=request.user, **kw)

        return WithInviter

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f.name for f in StaffInvitation._meta.fields if f.name != "token_hash"]

    def get_exclude(self, request, obj=None):
        return ["token_hash"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Open to read; the row changes only through the actions below.
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        """The form's clean() already made the invitation through the service."""

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, f"Invitation sent to {obj.email}. The link works for {self._days()} days.")
        return self.response_post_save_add(request, obj)

    @staticmethod
    def _days() -> int:
        from django.conf import settings

        return settings.BLOOM_STAFF_INVITATION_DAYS

    @row_action(description="Send the selected invitations again (new link)", done="{things} sent again.", **_PENDING)
    def send_again(self, request, invitation):
        staff_invitation_resend(invitation=invitation)

    @row_action(
        description="Revoke the selected invitations…",
        done="{things} revoked.",
        confirm=Confirm(
            title="Revoke these invitations?",
            button="Yes, revoke them",
            intro="Their links stop working at once. You can invite the same address again afterwards.",
            columns=(("Address", lambda i: i.email), ("Role", lambda i: i.role.name)),
            related=("role",),
        ),
        **_PENDING,
    )
    def revoke(self, request, invitation):
        staff_invitation_revoke(invitation=invitation)


admin.site.unregister(EmailAddress)


@admin.register(EmailAddress)
class VerifiedByProofEmailAddressAdmin(EmailAddressAdmin):
    """allauth's address list, with "verified" shown but never set by hand (no field, no action):
    an address is verified by its owner's confirmation link or a staff invitation's link."""

    readonly_fields = ["verified"]
    actions = []
