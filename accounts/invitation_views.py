"""The invitee's side of staff onboarding: follow the link, choose a name and password."""

from __future__ import annotations

from django import forms
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from .services import InvitationRefused, staff_invitation_accept, staff_invitation_for_token


class StaffInvitationAcceptForm(forms.Form):
    first_name = forms.CharField(max_length=150, label="First name")
    last_name = forms.CharField(max_length=150, label="Last name", required=False)
    password1 = forms.CharField(
        label="Choose a password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Type it again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        self.fields["password1"].help_text = password_validators_help_text_html()

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords are not the same.")
        elif first:
            try:
                validate_password(first, user=None)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


@login_not_required  # the one-time link is the key; she has no account yet
@never_cache
@sensitive_post_parameters("password1", "password2")
def staff_invitation_accept_view(request, token: str):
    try:
        invitation = staff_invitation_for_token(token=token)
    except InvitationRefused as refusal:
        return render(request, "accounts/staff_invitation.html", {"refusal": refusal.message}, status=410)
    form = StaffInvitationAcceptForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_invitation_accept(
                token=token,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except InvitationRefused as refusal:
            return render(request, "accounts/staff_invitation.html", {"refusal": refusal.message}, status=410)
        login(request, user, backend="accounts.backends.ModelBackend")
        return redirect(f"{reverse('mfa_activate_totp')}?next={reverse('admin:index')}")
    return render(request, "accounts/staff_invitation.html", {"form": form, "invitation": invitation})
