from django import forms


class EnrollForm(forms.Form):
    discount_code = forms.CharField(
        label="Discount code (optional)",
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class LessonProgressForm(forms.Form):
    completed = forms.BooleanField(required=False)
    time_spent_seconds = forms.IntegerField(required=False, min_value=0, max_value=24 * 60 * 60)
    slides_seen = forms.CharField(required=False, max_length=2000)
    slide_index = forms.IntegerField(required=False, min_value=0, max_value=10_000)

    def clean_slides_seen(self) -> list[int]:
        raw = self.cleaned_data.get("slides_seen") or ""
        seen = []
        for part in raw.split(","):
            part = part.strip()
            if part.isdigit() and int(part) < 10_000:
                seen.append(int(part))
        return seen


class CertificateNameForm(forms.Form):
    certificate_name = forms.CharField(
        label="Your name as it should appear on the certificate",
        max_length=200,
        help_text="Check the spelling: once confirmed, the name is printed on the certificate and its public "
        "verification page.",
    )
