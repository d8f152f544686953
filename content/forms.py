"""Forms of the public site (newsletter, contact, careers) and of the back office."""

from django import forms

from .models import ContactSubmission, SubscriberSegment
from .validators import validate_cv


class HoneypotMixin(forms.Form):
    """A field people never see; bots that fill every input fill it too."""

    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class NewsletterSignupForm(HoneypotMixin):
    email = forms.EmailField(label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    first_name = forms.CharField(
        label="First name (optional)",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    source = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class ContactForm(HoneypotMixin, forms.ModelForm):
    class Meta:
        model = ContactSubmission
        fields = ["name", "email", "phone", "subject", "message"]
        labels = {
            "name": "Your name",
            "email": "Email address",
            "phone": "Phone (optional)",
            "subject": "Subject (optional)",
        }
        widgets = {
            "message": forms.Textarea(attrs={"rows": 6}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel"}),
        }
        help_texts = {"message": "Please do not include urgent clinical information: we reply within two working days."}


class CareerApplicationForm(HoneypotMixin):
    full_name = forms.CharField(
        label="Full name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label="Phone (optional)", required=False, max_length=32)
    cover_letter = forms.CharField(
        label="Cover letter (optional)", required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    cv = forms.FileField(
        label="CV",
        help_text="PDF or Word (.docx), smaller than 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx,application/pdf"}),
    )
    keep_on_file = forms.BooleanField(
        label="Keep my application on file for future roles",
        required=False,
        help_text="We keep it for two years, then delete it and your CV. Otherwise both are "
        "deleted six months after this role closes.",
    )

    def clean_cv(self):
        upload = self.cleaned_data["cv"]
        validate_cv(upload)
        return upload


class SegmentAdminForm(forms.ModelForm):
    class Meta:
        model = SubscriberSegment
        fields = ["name", "slug", "description", "kind", "rule"]

    def clean_rule(self):
        from .services import segment_rule_validate

        return segment_rule_validate(self.cleaned_data.get("rule") or {})


class SegmentChoiceForm(forms.Form):
    """Admin intermediate page: which manual segment to add subscribers to / remove them from."""

    segment = forms.ModelChoiceField(queryset=SubscriberSegment.objects.filter(kind="manual"), label="Segment")
