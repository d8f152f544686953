"""Forms for messages with the care team."""

from django import forms

from .forms import HoneypotMixin
from .services.chat import MAX_BODY


class ChatMessageForm(HoneypotMixin):
    body = forms.CharField(
        label="Your message",
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class ChatVisitorStartForm(ChatMessageForm):
    visitor_name = forms.CharField(
        label="Your name (optional)",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    visitor_email = forms.EmailField(
        label="Your email address",
        help_text="We will email you a private link to read our answer. We never put your message in an email.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    field_order = ["visitor_name", "visitor_email", "body", "website"]
