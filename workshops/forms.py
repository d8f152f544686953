from django import forms


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        label="How helpful was this workshop?",
        choices=[(n, f"{n} of 5") for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comments = forms.CharField(
        label="Anything you'd like to tell the facilitator?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
    )
    would_recommend = forms.TypedChoiceField(
        label="Would you recommend it to a friend?",
        choices=[("", "Not sure"), ("yes", "Yes"), ("no", "No")],
        coerce=lambda value: {"yes": True, "no": False}.get(value),
        empty_value=None,
        required=False,
    )
