"""Django's form renderer, keeping what a widget's template made for the same context (issue 18 point 2).

A form page renders each widget, label and option through a template of its own; on the
profile, check-in and screening pages that was most of the page's time. A widget's HTML is
a function of its template and its context only (the name, value, attributes and options,
already formatted for the request's language and zone), so the HTML made for one context
is kept in this process and given again for the same context:

- the key is the template's name, the active language and the context written out in full
  (types included), so two contexts that could render differently never share a key;
- any other context (an error list, a label), and a widget's holding anything but plain data
  (a model instance, a datetime, a file), is rendered every time;
- free text a member typed (a name, a phone number, a date) is never kept: a text input
  with a value is rendered every time. What is kept (an empty input, a checkbox, the
  options of a choice and which one is selected) names no one.

The kept HTML lives in this process's memory, at most MAX_KEPT entries, oldest out first.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import json
import uuid

from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.translation import get_language

MAX_KEPT = 4096

_kept: dict[str, str] = {}


_PLAIN = (str, int, float, bool, type(None))
_TAGGED = (decimal.Decimal, datetime.date, uuid.UUID)


class _NotKept(Exception):
    pass


def _written(value):
    """`value` as plain JSON data, each type exactly as it is (a subclass of list or dict, such as
    an ErrorList, is refused: json would write what it holds wrongly), or _NotKept."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list or kind is tuple:
        return [kind.__name__, [_written(item) for item in value]]
    if kind is dict:
        if not all(type(name) is str for name in value):
            raise _NotKept
        return {name: _written(item) for name, item in value.items()}
    if kind in _TAGGED:  # a date, not a datetime (that renders in the request's zone)
        return [kind.__name__, str(value)]
    if isinstance(value, Promise):
        return ["lazy", str(value)]
    raise _NotKept


def _names_someone(widget: dict) -> bool:
    """Whether a widget's context holds free text: a value that is not one of its choices."""
    if "optgroups" in widget or "selected" in widget:  # a choice, or one of its options
        return False
    value = widget.get("value")
    if isinstance(value, str | Promise) and str(value) != "":
        return True
    return any(_names_someone(sub) for sub in widget.get("subwidgets", ()) if type(sub) is dict)


def _key(template_name: str, context: dict) -> str | None:
    """The kept HTML's key, or None when this context is rendered every time: only a widget's
    own context (`{"widget": {...}}`), holding plain data and no free text, is kept."""
    if type(context) is not dict or list(context) != ["widget"] or type(context["widget"]) is not dict:
        return None
    if _names_someone(context["widget"]):
        return None
    try:
        written = json.dumps(_written(context), sort_keys=True)
    except _NotKept:
        return None
    return f"{template_name}|{get_language()}|{written}"


def _forget_oldest() -> None:
    with contextlib.suppress(RuntimeError, StopIteration):  # another thread (runserver) changed it meanwhile
        _kept.pop(next(iter(_kept)), None)


class KeepingRenderer(DjangoTemplates):
    """`FORM_RENDERER`: Django's, with each widget's HTML kept for its context (module docstring)."""

    def render(self, template_name, context, request=None):
        key = _key(template_name, context) if request is None else None
        if key is None:
            return super().render(template_name, context, request=request)
        html = _kept.get(key)
        if html is None:
            html = super().render(template_name, context)
            if len(_kept) >= MAX_KEPT:
                _forget_oldest()
            _kept[key] = html
        return html
