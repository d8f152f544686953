from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms


class SignupForm(AllauthSignupForm):
    referral_source = forms.CharField(label="How did you hear about us? (optional)", required=False, max_length=200)
    marketing_consent = forms.BooleanField(
        label="Yes, send me Bloom's newsletter and occasional news about courses and workshops.",
        required=False,
        initial=False,
    )
