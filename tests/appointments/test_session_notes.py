"""Session notes over HTTP and through their services: templates, sign and lock (confirmed first),
addenda with their own author and time, every version kept and encrypted, and the superbill codes."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.forms.models import model_to_dict
from django.urls import reverse

from accounts.models import AdminActivityLog
from appointments import notes
from appointments.admin import AppointmentCodesForm
from appointments.models import SessionNote, SessionNoteVersion
from bloom.exceptions import ApplicationError
from tests.appointments.support_workspace import Practice, practice_for, staff_login
from tests.factories.appointments import AppointmentDataFactory, SessionNoteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False


@pytest.fixture
def ada(db) -> Practice:
    return practice_for("Ada")


def _url(name: str, note) -> str:
    return reverse(f"admin:appointments_sessionnote_{name}", args=[note.pk])


def _sign(practice: Practice) -> None:
    assert practice.client.post(_url("sign", practice.note)).status_code == 302
    practice.note.refresh_from_db()


# --- Templates and drafts ---------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "heading"), [("soap", "Subjective:"), ("dap", "Data:")])
def test_a_new_note_starts_from_its_template(ada, template, heading):
    appointment = AppointmentDataFactory(therapist=ada.therapist, user=ada.member)
    add = reverse("admin:appointments_sessionnote_add")
    response = ada.client.get(add, {"appointment": appointment.pk, "template": template})
    form = response.context["adminform"].form
    assert form.initial["template"] == template
    assert form.initial["body"].startswith(heading)


def test_adding_a_note_in_the_admin_audits_the_real_note_id(ada):
    appointment = AppointmentDataFactory(therapist=ada.therapist, user=ada.member)
    response = ada.client.post(
        reverse("admin:appointments_sessionnote_add"),
        {"appointment": str(appointment.pk), "template": "dap", "body": "Data: slept four hours."},
    )
    assert response.status_code == 302
    note = SessionNote.objects.get(appointment=appointment)
    assert note.template == "dap" and note.status == "draft"
    entry = LogEntry.objects.get(object_repr=str(note))
    assert entry.object_id == str(note.pk)
    audit = AdminActivityLog.objects.get(action="add", object_type="appointments.sessionnote")
    assert audit.object_id == str(note.pk)  # the id of a row that exists


def test_an_empty_draft_is_refused_and_keeps_the_rest_of_what_was_typed(ada):
    appointment = AppointmentDataFactory(therapist=ada.therapist, user=ada.member)
    response = ada.client.post(
        reverse("admin:appointments_sessionnote_add"),
        {"appointment": str(appointment.pk), "template": "soap", "body": "   "},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["body"]
    assert response.context["adminform"].form.data["template"] == "soap"
    assert not SessionNote.objects.filter(appointment=appointment).exists()


# --- Sign and lock ---------------------------------------------------------------------------------


def test_signing_asks_first_then_locks_and_records_a_signed_version(ada):
    confirm = ada.client.get(_url("sign", ada.note))
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    ada.note.refresh_from_db()
    assert ada.note.status == "draft"

    _sign(ada)
    assert ada.note.status == "signed" and ada.note.signed_by == ada.client.user and ada.note.signed_at
    assert [(v.number, v.kind) for v in ada.note.versions.order_by("number")] == [(1, "draft"), (2, "signed")]
    assert LogEntry.objects.filter(object_id=str(ada.note.pk), action_flag=2).count() == 1
    assert AdminActivityLog.objects.filter(action="change", object_id=str(ada.note.pk)).count() == 1


def test_a_signed_note_cannot_be_edited_in_place(ada):
    _sign(ada)
    original = ada.note.body
    page = ada.client.get(_url("change", ada.note))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="body"' not in html  # read-only
    assert "Add an addendum" in html and "Sign and lock</a>" not in html

    response = ada.client.post(_url("change", ada.note), {"body": "Rewritten after signing."})
    assert response.status_code == 403
    ada.note.refresh_from_db()
    assert ada.note.body == original
    with pytest.raises(ApplicationError, match="signed and locked"):
        notes.session_note_draft_save(appointment=ada.appointment, author=ada.client.user, body="again")
    with pytest.raises(ApplicationError, match="already signed"):
        notes.session_note_sign(note=ada.note, signer=ada.client.user)
    assert ada.note.versions.count() == 2


def test_only_the_sessions_clinician_signs(ada):
    owner = staff_login("owner")
    with pytest.raises(ApplicationError, match="Only the session's clinician"):
        notes.session_note_sign(note=ada.note, signer=owner.user)
    ada.note.refresh_from_db()
    assert ada.note.status == "draft"


# --- Addenda and versions --------------------------------------------------------------------------


def test_an_addendum_is_kept_with_its_own_author_and_time_and_the_signed_text_stays(ada):
    _sign(ada)
    signed_body = ada.note.body
    colleague = staff_login("owner", first_name="Olive")
    response = colleague.post(_url("addendum", ada.note), {"body": "Called on Friday: the plan is working."})
    assert response.status_code == 302
    addendum = SessionNoteVersion.objects.get(note=ada.note, kind="addendum")
    assert addendum.author == colleague.user
    assert addendum.number == 3
    assert addendum.created_at is not None
    ada.note.refresh_from_db()
    assert ada.note.body == signed_body
    page = ada.client.get(_url("change", ada.note)).content.decode()
    assert "Called on Friday: the plan is working." in page
    assert "Addendum by Olive" in page


def test_an_empty_addendum_is_refused_and_adds_nothing(ada):
    _sign(ada)
    response = ada.client.post(_url("addendum", ada.note), {"body": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not SessionNoteVersion.objects.filter(kind="addendum").exists()


def test_an_addendum_on_a_draft_is_refused(ada):
    response = ada.client.post(_url("addendum", ada.note), {"body": "too early"})
    assert response.status_code == 302
    assert not SessionNoteVersion.objects.filter(kind="addendum").exists()
    with pytest.raises(ApplicationError, match="still a draft"):
        notes.session_note_addendum_add(note=ada.note, author=ada.client.user, body="too early")


def test_every_version_is_kept_encrypted_and_shown_on_the_note(ada):
    for body in ("Second draft.", "Third draft."):
        response = ada.client.post(_url("change", ada.note), {"template": "free", "body": body})
        assert response.status_code == 302
    _sign(ada)
    notes.session_note_addendum_add(note=ada.note, author=ada.client.user, body="An addendum.")
    versions = list(ada.note.versions.order_by("number"))
    assert [(v.kind, v.body) for v in versions] == [
        ("draft", "Ada's private note on the session."),
        ("draft", "Second draft."),
        ("draft", "Third draft."),
        ("signed", "Third draft."),
        ("addendum", "An addendum."),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM session_note_versions WHERE note_id = %s", [ada.note.pk])
        raw = [row[0] for row in cursor.fetchall()]
    assert not any("draft" in value or "addendum" in value for value in raw)
    page = ada.client.get(_url("change", ada.note)).content.decode()
    assert page.count("Draft saved by") == 3


def test_the_versions_list_shows_no_text(client):
    owner = staff_login("owner")
    SessionNoteFactory(body="Secret words in a note.", signed=True)
    page = owner.get(reverse("admin:appointments_sessionnoteversion_changelist")).content.decode()
    assert "Secret words" not in page
    assert not AdminActivityLog.objects.filter(action="view_health").exists()


# --- Superbill codes --------------------------------------------------------------------------------


def test_diagnosis_codes_are_normalised_and_wrong_ones_named():
    assert notes.diagnosis_codes_clean(codes="f530, O99.345 ,F53.0") == ["F53.0", "O99.345"]
    assert notes.diagnosis_codes_clean(codes=["U07.1", "z3A.20"]) == ["U07.1", "Z3A.20"]
    with pytest.raises(ApplicationError, match=r"Not an ICD-10 code: 12345, F5, F41.12345"):
        notes.diagnosis_codes_clean(codes=["12345", "F5", "F41.1", "F41.12345"])
    assert notes.service_code_clean(code=" 90837 ") == "90837"
    with pytest.raises(ApplicationError, match="not a service code"):
        notes.service_code_clean(code="99213")


def test_codes_service_writes_both_columns():
    appointment = AppointmentDataFactory()
    notes.appointment_codes_set(appointment=appointment, diagnosis_codes=["f530"], service_code="90834")
    appointment.refresh_from_db()
    assert (appointment.diagnosis_codes, appointment.service_code) == (["F53.0"], "90834")
    with pytest.raises(ApplicationError):
        notes.appointment_codes_set(appointment=appointment, diagnosis_codes=["nope"], service_code="90834")
    appointment.refresh_from_db()
    assert appointment.diagnosis_codes == ["F53.0"]


def test_the_appointment_form_checks_codes_and_keeps_what_was_typed():
    appointment = AppointmentDataFactory()
    data = {k: v for k, v in model_to_dict(appointment).items() if v is not None}
    data.update({"diagnosis_codes": "F53.0,XYZ", "service_code": "90837"})
    data["starts_at"], data["ends_at"] = appointment.starts_at, appointment.ends_at
    form = AppointmentCodesForm(data=data, instance=appointment)
    assert not form.is_valid()
    assert "Not an ICD-10 code: XYZ" in form.errors["diagnosis_codes"][0]
    assert form.data["diagnosis_codes"] == "F53.0,XYZ"
    data["diagnosis_codes"] = "f530"
    form = AppointmentCodesForm(data=data, instance=appointment)
    form.is_valid()
    assert form.cleaned_data["diagnosis_codes"] == ["F53.0"]
    assert form.cleaned_data["service_code"] == "90837"


def _change_form_data(response) -> dict:
    """The admin change page's form as the browser would post it back unchanged."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        data[name] = field.widget.format_value(value) if isinstance(value, list) else value
    for formset in response.context["inline_admin_formsets"]:
        for key, value in formset.formset.management_form.initial.items():
            data[f"{formset.formset.prefix}-{key}"] = value
    return data


def test_the_clinician_enters_codes_on_the_appointment_page_and_a_wrong_one_is_named(ada):
    url = reverse("admin:appointments_appointmentdata_change", args=[ada.appointment.pk])
    data = _change_form_data(ada.client.get(url))
    data.update({"diagnosis_codes": "F53.0, O99.34567", "service_code": "90837"})
    data = {k: (v.strftime("%Y-%m-%d %H:%M:%S") if hasattr(v, "strftime") else v) for k, v in data.items()}
    data["starts_at_0"], data["starts_at_1"] = data.pop("starts_at").split(" ")
    data["ends_at_0"], data["ends_at_1"] = data.pop("ends_at").split(" ")
    refused = ada.client.post(url, data)
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "Not an ICD-10 code: O99.34567" in html
    assert 'value="F53.0, O99.34567"' in html  # what she typed stays
    ada.appointment.refresh_from_db()
    assert ada.appointment.diagnosis_codes == []

    data["diagnosis_codes"] = "f530,O99.345"
    assert ada.client.post(url, data).status_code == 302
    ada.appointment.refresh_from_db()
    assert (ada.appointment.diagnosis_codes, ada.appointment.service_code) == (["F53.0", "O99.345"], "90837")
    assert AdminActivityLog.objects.filter(action="change", object_id=str(ada.appointment.pk)).exists()


# --- Concurrency (row locks, not hopes) --------------------------------------------------------------


def _race(workers: int, fn) -> list:
    """Run `fn(i)` in `workers` threads released together; each thread's result or exception."""
    import threading

    from django.db import connections

    barrier, results = threading.Barrier(workers), [None] * workers

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001  (the race's outcome is what the test reads)
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_signatures_at_once_sign_once_and_concurrent_addenda_number_without_gaps(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    practice = practice_for("Ada")
    signer = practice.client.user
    results = _race(2, lambda i: notes.session_note_sign(note=practice.note, signer=signer))
    assert sum(isinstance(r, SessionNote) for r in results) == 1
    assert [str(r) for r in results if isinstance(r, Exception)] == ["This note is already signed."]
    assert practice.note.versions.filter(kind="signed").count() == 1

    _race(4, lambda i: notes.session_note_addendum_add(note=practice.note, author=signer, body=f"Addendum {i}"))
    numbers = list(practice.note.versions.order_by("number").values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6]
