"""bloom/form_renderer.py: widgets' HTML kept per context, identical to Django's, never free text."""

import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.urls import reverse

from bloom import form_renderer
from bloom.form_renderer import KeepingRenderer

RATINGS = [(i, str(i)) for i in range(1, 6)]


class _Everything(forms.Form):
    name = forms.CharField(label="Name", required=False, help_text="As you like to be called.")
    phone = forms.CharField(label="Phone", max_length=32)
    due = forms.DateField(label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    hours = forms.DecimalField(label="Hours", required=False)
    stage = forms.ChoiceField(
        label="Stage", choices=[("", "—"), ("pregnant", "Pregnant"), ("postpartum", "Postpartum")]
    )
    mood = forms.TypedChoiceField(label="Mood", choices=RATINGS, coerce=int, widget=forms.RadioSelect)
    topics = forms.MultipleChoiceField(
        label="Topics",
        required=False,
        choices=[("sleep", "Sleep"), ("anxiety", "Anxiety")],
        widget=forms.CheckboxSelectMultiple,
    )
    newsletter = forms.BooleanField(label="Newsletter", required=False)
    secret = forms.CharField(widget=forms.HiddenInput, required=False)


STATES = [
    {},  # unbound, empty
    {"initial": {"name": "Ada", "stage": "pregnant", "mood": 3, "newsletter": True, "due": datetime.date(2027, 1, 5)}},
    {"data": {"name": "Grace", "phone": "555-0100", "stage": "postpartum", "mood": "5", "topics": ["sleep"]}},
    {"data": {"stage": "nonsense", "mood": "9", "hours": "x"}},  # errors, one quoting what she typed
    {"data": {"phone": "555-0199", "secret": "hidden text", "newsletter": "on"}, "prefix": "p"},
]


@pytest.fixture(autouse=True)
def _nothing_kept():
    form_renderer._kept.clear()
    yield
    form_renderer._kept.clear()


@pytest.mark.parametrize("state", STATES)
def test_a_form_renders_exactly_as_with_djangos_renderer_the_first_time_and_from_what_is_kept(state):
    expected = str(_Everything(renderer=DjangoTemplates(), **state))
    keeping = KeepingRenderer()
    assert str(_Everything(renderer=keeping, **state)) == expected
    assert form_renderer._kept, "nothing was kept"
    assert str(_Everything(renderer=keeping, **state)) == expected  # from what is kept


def test_every_state_after_another_still_renders_its_own_html():
    keeping = KeepingRenderer()
    for _ in range(2):
        for state in STATES:
            assert str(_Everything(renderer=keeping, **state)) == str(_Everything(renderer=DjangoTemplates(), **state))


def test_free_text_she_typed_is_never_kept():
    keeping = KeepingRenderer()
    str(_Everything(renderer=keeping, data={"name": "Grace Hopper", "phone": "555-0100", "secret": "hidden text"}))
    str(_Everything(renderer=keeping, initial={"due": datetime.date(2027, 1, 5), "hours": "7.5"}))
    kept = " ".join([*form_renderer._kept, *form_renderer._kept.values()])
    for typed in ("Grace Hopper", "555-0100", "hidden text", "2027-01-05", "7.5"):
        assert typed not in kept


def test_only_a_widgets_own_context_is_kept():
    form = _Everything(renderer=KeepingRenderer(), data={"stage": "nonsense"})
    str(form)
    assert all(key.startswith("django/forms/widgets/") for key in form_renderer._kept)
    assert "nonsense" not in " ".join(form_renderer._kept.values())  # the error quoting it is rendered each time


def test_at_most_max_kept_entries_oldest_out_first(monkeypatch):
    monkeypatch.setattr(form_renderer, "MAX_KEPT", 3)
    keeping = KeepingRenderer()
    for n in range(5):
        keeping.render("django/forms/widgets/checkbox.html", {"widget": _checkbox(f"box{n}")})
    assert [key.split('"name": ')[1][:6] for key in form_renderer._kept] == ['"box2"', '"box3"', '"box4"']


def _checkbox(name: str) -> dict:
    return forms.CheckboxInput().get_context(name, False, {"id": f"id_{name}"})


@pytest.mark.django_db
def test_each_member_sees_her_own_profile_and_her_change_at_once(client):
    from accounts.services import preferences_update
    from accounts.views import _member_preferences
    from tests.factories.accounts import UserFactory

    ada, grace = UserFactory(first_name="Adalinda"), UserFactory(first_name="Gracielle")
    client.force_login(ada)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'value="Adalinda"' in page and "Gracielle" not in page
    newsletter = _member_preferences(ada).newsletter
    assert _newsletter_box_checked(page) is newsletter
    preferences_update(member=ada, data={"newsletter": not newsletter})
    assert _newsletter_box_checked(client.get(reverse("accounts:profile")).content.decode()) is (not newsletter)
    client.force_login(grace)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'value="Gracielle"' in page and "Adalinda" not in page


def _newsletter_box_checked(page: str) -> bool:
    at = page.index('name="prefs-newsletter"')
    tag = page[page.rindex("<input", 0, at) : page.index(">", at)]
    return " checked" in tag
