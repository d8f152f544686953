import datetime
import zoneinfo
from functools import lru_cache

from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.account.internal.flows.manage_email import email_already_exists
from allauth.account.internal.flows.signup import prevent_enumeration
from allauth.core import context as allauth_context
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from django import forms
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .models import PREFERENCE_FIELDS, PROFILE_FIELDS, TOPICS, DataRequestKind, Stage, User, UserPreferences
from .services import sign_in_failure_record

# "About ten months" ahead for a due date, "about three years" back for a birth date.
DUE_DATE_MAX_DAYS = 305
BIRTH_DATE_MAX_DAYS = 3 * 365 + 1


@lru_cache(maxsize=1)
def timezone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


class SignupForm(AllauthSignupForm):
    referral_source = forms.CharField(label="How did you hear about us? (optional)", required=False, max_length=200)
    marketing_consent = forms.BooleanField(
        label="Yes, send me Bloom's newsletter and occasional news about courses and workshops.",
        required=False,
        initial=False,
    )

    agree_terms = forms.BooleanField(
        required=True,
        error_messages={
            "required": "Please tick this box to create your account: we need your agreement to the terms."
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agree_terms"].label = format_html(
            'I agree to the <a href="{}" target="_blank" rel="noopener">terms of use</a> and have read the '
            '<a href="{}" target="_blank" rel="noopener">privacy notice</a>.',
            reverse("accounts:terms"),
            reverse("accounts:privacy"),
        )
        self.order_fields(["email", "password1", "password2", "referral_source", "agree_terms", "marketing_consent"])

    def validate_unique_email(self, value) -> str:
        """An address that already has an account is refused on the page (docs/adr/0013),
        with links to sign in or reset the password; everything typed stays in the form."""
        email, exists = email_already_exists(value)
        if exists:
            raise forms.ValidationError(duplicate_email_message(), code="email_taken")
        return email

    def try_save(self, request):
        """Save the new member; a sign-up sent twice at once (a double click) creates one account.

        Both requests can pass the uniqueness check before either commits; the second then
        hits the unique key on `users.email`. It is answered like allauth's enumeration-safe
        duplicate (the "check your email" page the first request also shows), never a 500.
        """
        email = self.cleaned_data.get("email")
        try:
            with transaction.atomic():
                return super().try_save(request)
        except IntegrityError:
            if not email or not User.objects.filter(email__iexact=email).exists():
                raise  # some other constraint: a bug to see, not a duplicate to hide
            return None, prevent_enumeration(request, email=email)


def duplicate_email_message():
    return format_html(
        'An account with this email address already exists. <a href="{}">Log in</a> instead, or '
        '<a href="{}">reset your password</a> if you have forgotten it.',
        reverse("account_login"),
        reverse("account_reset_password"),
    )


class NamesForm(forms.Form):
    """Onboarding step 1 (and the top of the profile page)."""

    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    preferred_name = forms.CharField(
        label="What would you like us to call you? (optional)", max_length=150, required=False
    )


class StageForm(forms.Form):
    """Onboarding step 2: where the member is on the perinatal path."""

    stage = forms.ChoiceField(label="Where are you right now?", choices=Stage.choices, widget=forms.RadioSelect)
    due_date = forms.DateField(
        label="Due date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Only if you are pregnant.",
    )
    baby_birth_date = forms.DateField(
        label="Baby's birth date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Only if your baby has been born.",
    )

    def clean(self):
        data = super().clean()
        stage = data.get("stage")
        today = timezone.localdate()
        if stage == Stage.PREGNANT:
            due = data.get("due_date")
            if due is None:
                self.add_error("due_date", "Please enter your due date.")
            elif due <= today:
                self.add_error("due_date", "Your due date should be in the future.")
            elif due > today + datetime.timedelta(days=DUE_DATE_MAX_DAYS):
                self.add_error("due_date", "Your due date should be within the next 10 months.")
            data["baby_birth_date"] = None
        elif stage == Stage.POSTPARTUM:
            born = data.get("baby_birth_date")
            if born is None:
                self.add_error("baby_birth_date", "Please enter your baby's birth date.")
            elif born > today:
                self.add_error("baby_birth_date", "Your baby's birth date cannot be in the future.")
            elif born < today - datetime.timedelta(days=BIRTH_DATE_MAX_DAYS):
                self.add_error("baby_birth_date", "Bloom supports parents in the first three years after birth.")
            data["due_date"] = None
        elif stage:
            data["due_date"] = None
            data["baby_birth_date"] = None
        return data


class TopicsForm(forms.Form):
    """Onboarding step 3: interests and time zone."""

    topics = forms.MultipleChoiceField(
        label="Which topics matter most to you? (optional)",
        choices=TOPICS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    timezone = forms.CharField(
        label="Your time zone",
        max_length=64,
        help_text="For example America/Los_Angeles or Europe/London. We show times in this zone.",
        widget=forms.TextInput(attrs={"list": "timezone-names", "autocomplete": "off"}),
    )

    def clean_timezone(self):
        value = self.cleaned_data["timezone"].strip()
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                f"We don't recognise the time zone “{value}”. Pick one from the list, such as America/New_York."
            )
        return value


class PreferencesForm(forms.ModelForm):
    """Onboarding step 4 and the preferences half of the profile page."""

    class Meta:
        model = UserPreferences
        fields = list(PREFERENCE_FIELDS)
        labels = {
            "notification_channel": "How should we tell you about things?",
            "appointment_reminders": "Appointment reminders",
            "workshop_reminders": "Workshop reminders",
            "course_updates": "Course updates",
            "wellness_reminders": "Gentle reminders to check in on your wellness",
            "newsletter": "Bloom's newsletter and news about courses and workshops",
            "quiet_hours": "Quiet hours: hold newsletters and gentle reminders overnight",
            "quiet_hours_start": "Quiet from",
            "quiet_hours_end": "Until",
        }
        help_texts = {
            "quiet_hours": (
                "In your own time zone. Anything about your safety, your sessions or your account "
                "still reaches you straight away."
            ),
        }
        widgets = {
            "notification_channel": forms.RadioSelect,
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The times matter only with quiet hours on; left empty they keep what was saved (21:00-08:00).
        for name in ("quiet_hours_start", "quiet_hours_end"):
            self.fields[name].required = False

    def clean(self):
        cleaned = super().clean()
        for name in ("quiet_hours_start", "quiet_hours_end"):
            if cleaned.get(name) is None and name not in self.errors:
                cleaned[name] = getattr(self.instance, name)
        start, end = cleaned.get("quiet_hours_start"), cleaned.get("quiet_hours_end")
        if cleaned.get("quiet_hours") and start is not None and start == end:
            self.add_error("quiet_hours_end", "Choose an end time different from the start, such as 08:00.")
        return cleaned


ONBOARDING_FORMS = {1: NamesForm, 2: StageForm, 3: TopicsForm, 4: PreferencesForm}
ONBOARDING_TITLES = {
    1: "About you",
    2: "Where you are",
    3: "What you'd like help with",
    4: "How we keep in touch",
}


class ProfileForm(NamesForm, StageForm, TopicsForm):
    """Everything on the profile page except notification preferences."""

    phone = forms.CharField(label="Phone (optional)", max_length=32, required=False)

    field_order = list(PROFILE_FIELDS)


RATING_CHOICES = [(i, str(i)) for i in range(1, 6)]


def _optional_rating(label: str) -> forms.TypedChoiceField:
    """A 1-5 rating that may be left empty (None)."""
    return forms.TypedChoiceField(
        label=label, choices=[("", "—"), *RATING_CHOICES], coerce=int, empty_value=None, required=False
    )


class WellnessEntryForm(forms.Form):
    """One day's check-in; the day is today (also when left empty) unless she picks another
    of the last 7 days (the service checks the range; the view shows its message on this field)."""

    entry_date = forms.DateField(
        label="Day",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Today, or any of the 7 days before it.",
    )
    mood = forms.TypedChoiceField(
        label="Mood (1 very low, 5 very good)", choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    sleep_hours = forms.DecimalField(
        label="Hours of sleep the night before (optional)",
        required=False,
        min_value=0,
        max_value=24,
        max_digits=3,
        decimal_places=1,
    )
    anxiety = _optional_rating("Anxiety (1 calm, 5 very anxious; optional)")
    energy = _optional_rating("Energy (1 exhausted, 5 energetic; optional)")
    support = _optional_rating("How supported you felt (1 alone, 5 well supported; optional)")
    notes = forms.CharField(
        label="Notes (optional, private)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Stored encrypted. Your care team sees them only if you share them, and every staff read is logged.",
    )

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        if today is not None:
            attrs = self.fields["entry_date"].widget.attrs
            attrs["max"] = today.isoformat()
            attrs["min"] = (today - datetime.timedelta(days=7)).isoformat()


class WellnessSummaryForm(forms.Form):
    """The PDF summary she downloads: how many weeks, and whether her notes go in it."""

    weeks = forms.TypedChoiceField(
        label="Weeks to include",
        choices=[(2, "Last 2 weeks"), (4, "Last 4 weeks"), (8, "Last 8 weeks"), (12, "Last 12 weeks")],
        coerce=int,
        initial=4,
    )
    notes = forms.BooleanField(label="Include my notes", required=False)


class DataRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=DataRequestKind.choices, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label="I understand that my account and the personal information in it will be deleted.", required=False
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") == DataRequestKind.DELETE and not data.get("confirm"):
            raise forms.ValidationError(
                "Please tick the box to confirm that you want your account deleted.", code="confirm"
            )
        return data


class _RecordsMFALockout:
    """allauth's MFA forms, except that a code the sign-in lockout refuses is a Security event.

    allauth keys the lockout per user and raises the same "too many attempts" error for it
    that the password lockout uses; a wrong code is recorded by the `authentication_failed`
    receiver (accounts.receivers).
    """

    def clean_code(self):
        try:
            return super().clean_code()
        except forms.ValidationError as exc:
            if exc.code == "too_many_login_attempts":
                sign_in_failure_record(
                    event_type="mfa_locked_out",
                    request=allauth_context.request,
                    login=self.user.email,
                    user=self.user,
                    details={"reauthentication": isinstance(self, ReauthenticateForm)},
                )
            raise


class MFAAuthenticateForm(_RecordsMFALockout, AuthenticateForm):
    pass


class MFAReauthenticateForm(_RecordsMFALockout, ReauthenticateForm):
    pass


PAUSE_REASONS = [
    ("", "I'd rather not say"),
    ("A birth", "A birth"),
    ("A hospital stay", "A hospital stay"),
    ("A loss", "A loss"),
    ("Something else", "Something else"),
]


class PauseForm(forms.Form):
    """Take a break: how long, and (optionally, kept encrypted) why."""

    weeks = forms.TypedChoiceField(
        label="For how long?",
        coerce=int,
        choices=[(w, f"{w} week" if w == 1 else f"{w} weeks") for w in (1, 2, 3, 4, 6, 8, 12)],
        initial=3,
        widget=forms.RadioSelect,
    )
    reason = forms.ChoiceField(
        label="What's happening? (optional, only your care team can see it)",
        choices=PAUSE_REASONS,
        required=False,
    )
