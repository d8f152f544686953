"""The superbill's date range form (the documents page)."""

from __future__ import annotations

import datetime

from django import forms

from .documents import SUPERBILL_MAX_DAYS


def _date_field(label: str, missing: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": missing, "invalid": "Please enter a date like 2026-01-31."},
    )


class SuperbillForm(forms.Form):
    """From and to (her local dates, both included); at most a year, not starting after today."""

    start = _date_field("From", "Please enter the first day to include.")
    end = _date_field("To", "Please enter the last day to include.")

    def __init__(self, *args, today: datetime.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and start > self.today:
            self.add_error("start", "The first day is after today, so there are no sessions to include yet.")
        if start and end and end < start:
            self.add_error("end", "The last day is before the first day. Please swap them or pick another day.")
        elif start and end and (end - start).days >= SUPERBILL_MAX_DAYS:
            self.add_error("end", "A superbill covers at most one year. Please pick a shorter range.")
        return data
