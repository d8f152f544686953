"""Post an admin change form as a browser would: every field as the page shows it, then the changes."""

from __future__ import annotations

from django import forms
from django.db import models


def _field_data(form: forms.BaseForm, prefix_name, data: dict) -> None:
    for name, field in form.fields.items():
        key = prefix_name(name)
        value = form[name].value()
        widget = field.widget
        if isinstance(widget, forms.MultiWidget):
            parts = widget.decompress(value) if not isinstance(value, list) else value
            for suffix, sub, part in zip(widget.widgets_names, widget.widgets, parts, strict=False):
                data[f"{key}{suffix}"] = sub.format_value(part) or ""
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(item.pk if isinstance(item, models.Model) else item) for item in value]
        elif value is None:
            data[key] = ""
        else:
            data[key] = str(value.pk if isinstance(value, models.Model) else value)


def admin_form_data(response, **changes) -> dict:
    """The POST data of the admin change (or add) page in `response`, with `changes` applied.

    Inline formsets are sent with their existing rows only (no extra blank rows).
    """
    data: dict = {}
    form = response.context["adminform"].form
    _field_data(form, lambda name: name, data)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        rows = formset.initial_forms
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{formset.prefix}-INITIAL_FORMS"] = str(len(rows))
        data[f"{formset.prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{formset.prefix}-MAX_NUM_FORMS"] = "1000"
        for row in rows:
            _field_data(row, row.add_prefix, data)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data
