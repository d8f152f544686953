"""The questionnaire form: one radio group per question, built from the instrument."""

from django import forms

from .screening import Instrument


class ScreeningForm(forms.Form):
    """Answers as option positions ("0" = the first option shown), plus her sharing choice.

    A posted form that misses a question keeps every other answer (the page re-renders the
    bound form) and names the question left out.
    """

    share_with_clinician = forms.BooleanField(
        label="Share my answers with my clinician",
        required=False,
        help_text="Your care team can see your score and what it means. Your answers to each question are "
        "shown to your clinician only if you tick this; you can change it later.",
    )

    def __init__(self, *args, instrument: Instrument, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        questions = {}
        for item in instrument.items:
            questions[self.field_name(item.number)] = forms.ChoiceField(
                label=item.text,
                choices=item.choices(),
                widget=forms.RadioSelect,
                error_messages={"required": f"Please choose an answer to question {item.number}."},
            )
        self.fields = {**questions, "share_with_clinician": self.fields["share_with_clinician"]}

    @staticmethod
    def field_name(number: int) -> str:
        return f"q{number}"

    def questions(self):
        """(item, bound field) for each question, in order (the template's fieldsets)."""
        return [(item, self[self.field_name(item.number)]) for item in self.instrument.items]

    def answers(self) -> dict[int, int]:
        return {item.number: int(self.cleaned_data[self.field_name(item.number)]) for item in self.instrument.items}
