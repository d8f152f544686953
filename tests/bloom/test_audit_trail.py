"""The audit trail (bloom/audit.py, docs/adr/0310): written by PostgreSQL for every change to
an audited table, by anyone, append-only, with who / from where and digested identifiers."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from bloom import audit
from bloom.models import AuditEntry
from tests.conftest import BASE_DIR, database_url_for_subprocess
from tests.factories.accounts import StaffUserFactory, UserFactory
from tests.factories.content import AdminUserFactory, CareerApplicationFactory, ContactSubmissionFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def _entries(table: str, pk) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(table_name=table, row_pk=str(pk)).order_by("id"))


def _staff_client(settings, *, codenames=(), superuser=False) -> tuple[Client, User]:
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    if superuser:
        user = User.objects.create_superuser(f"owner-{uuid.uuid4().hex[:6]}@example.com", "a-Long-test-passphrase-2026")
        AdminUserFactory(user=user)
    else:
        user = StaffUserFactory(mfa=False)
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
        user = User.objects.get(pk=user.pk)
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.force_login(user)
    return client, user


# --- The trigger ------------------------------------------------------------------------------------


def test_insert_update_delete_by_the_orm_record_before_and_after():
    user = UserFactory(email="ada@example.com", first_name="Ada")
    (insert, *_rest) = _entries("users", user.pk)
    assert insert.operation == "INSERT"
    assert insert.subject_user_id == user.pk
    assert insert.after["is_staff"] is False  # booleans plain
    assert insert.after["id"] == str(user.pk)  # ids plain

    User.objects.filter(pk=user.pk).update(is_active=False, first_name="Adele")
    update = _entries("users", user.pk)[-1]
    assert update.operation == "UPDATE"
    assert update.changed_columns == ["first_name", "is_active"]
    assert update.before["is_active"] is True and update.after["is_active"] is False
    assert set(update.after) == {"first_name", "is_active"}  # only what changed

    pk = user.pk
    with connection.cursor() as cursor:  # the raw SQL path is audited as well
        cursor.execute("DELETE FROM account_emailaddress WHERE user_id = %s", [pk])
    deleted = AuditEntry.objects.filter(table_name="account_emailaddress", operation="DELETE").latest("id")
    assert deleted.subject_user_id == pk
    assert deleted.before["verified"] is True


def test_identifiers_are_digested_and_choices_kept_plain():
    user = UserFactory(email="grace.hopper@example.com", first_name="Grace", last_name="Hopper")
    submission = ContactSubmissionFactory(name="Grace Hopper", email="grace.hopper@example.com", phone="555-0100")
    insert = _entries("users", user.pk)[0]
    assert insert.after["email"] == audit.audit_digest("grace.hopper@example.com")
    assert insert.after["email"].startswith("sha256:") and len(insert.after["email"]) == 31
    contact = _entries("contact_submissions", submission.pk)[0]
    assert contact.after["status"] == submission.status  # a choice value stays readable
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM audit_trail WHERE before::text ~* %s OR after::text ~* %s "
            "OR actor_label ~* %s OR source ~* %s",
            ["grace|hopper|555-0100"] * 4,
        )
        assert cursor.fetchone()[0] == 0


def test_updates_touching_only_bookkeeping_columns_write_nothing():
    user = UserFactory()
    before = AuditEntry.objects.count()
    User.objects.filter(pk=user.pk).update(first_name=user.first_name)  # nothing changed
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_trail SET actor_label = 'me'",
        "DELETE FROM audit_trail",
        "UPDATE audit_trail SET id = id WHERE false",
    ],
)
def test_the_trail_refuses_update_and_delete_in_postgresql(statement):
    UserFactory()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_the_trail_refuses_truncate_while_audited_tables_hold_rows():
    UserFactory()
    with pytest.raises(DatabaseError, match="TRUNCATE refused"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_trail")


def test_every_table_of_the_audited_apps_carries_the_trigger_or_is_excluded_with_a_reason():
    assert audit.audit_triggers_missing() == []
    tables = {spec.table for spec in audit.audited_tables()}
    for config in apps.get_app_configs():
        if config.label not in audit.AUDITED_APPS:
            continue
        for model in config.get_models(include_auto_created=True):
            table = model._meta.db_table
            if model._meta.proxy or not model._meta.managed:
                continue
            assert table in tables or audit.EXCLUDED_TABLES.get(table), f"{table} has no audit trigger"
    assert all(reason.strip() for reason in audit.EXCLUDED_TABLES.values())
    assert {"users", "contact_submissions", "career_applications", "session_notes", "payment_intents"} <= tables


def test_install_is_idempotent_and_repairs_a_dropped_trigger():
    assert audit.audit_triggers_install() == 0  # migrate already attached every one
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER audit_trail_update ON contact_submissions")
    assert audit.audit_triggers_missing() == ["contact_submissions"]
    assert audit.audit_triggers_install() == 1
    assert audit.audit_triggers_missing() == []


# --- Who and from where ----------------------------------------------------------------------------


def test_a_staff_request_records_the_staff_member_and_her_ip(settings):
    client, staff = _staff_client(settings, codenames=["view_contactsubmission", "change_contactsubmission"])
    submission = ContactSubmissionFactory()
    url = reverse("admin:content_contactsubmission_change", args=[submission.pk])
    response = client.post(url, {"status": "closed"})
    assert response.status_code == 302
    change = _entries("contact_submissions", submission.pk)[-1]
    assert change.operation == "UPDATE" and "status" in change.changed_columns
    assert (change.actor_kind, change.actor_user_id, change.source) == ("staff", staff.pk, "203.0.113.7")
    assert change.request_id  # joins the request's log lines


def test_a_members_change_records_kind_member_with_her_ip_digested():
    from notifications.models import UserNotification
    from notifications.services import notification_create

    member = UserFactory()
    notice = notification_create(member=member, type="general", title="Hi")
    client = Client(REMOTE_ADDR="198.51.100.4")
    client.force_login(member)
    response = client.post(reverse("notifications:notification_mark_read", args=[notice.pk]))
    assert response.status_code == 302
    read = _entries(UserNotification._meta.db_table, notice.pk)[-1]
    assert read.operation == "UPDATE"
    assert (read.actor_kind, read.actor_user_id, read.subject_user_id) == ("member", member.pk, member.pk)
    assert read.source == audit.audit_digest("198.51.100.4")  # her IP is not kept in clear


def test_a_pooled_connection_does_not_credit_the_next_request_to_the_previous_user(settings):
    client, staff = _staff_client(settings, codenames=["view_contactsubmission", "change_contactsubmission"])
    submission = ContactSubmissionFactory()
    client.post(reverse("admin:content_contactsubmission_change", args=[submission.pk]), {"status": "closed"})
    assert _entries("contact_submissions", submission.pk)[-1].actor_user_id == staff.pk
    # The request is over: the session's setting is cleared, so the next write (no request,
    # same connection) is not hers.
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting('bloom.audit', true), '')")
        assert cursor.fetchone()[0] == ""
    other = ContactSubmissionFactory()
    row = _entries("contact_submissions", other.pk)[0]
    assert row.actor_user_id is None and row.actor_kind == "system"
    # And a visitor's request on the same connection is a visitor's, not hers.
    response = Client(REMOTE_ADDR="192.0.2.9").post(
        reverse("content:contact"),
        {"name": "Someone", "email": "someone@example.com", "subject": "Hello", "message": "A question"},
    )
    assert response.status_code in (200, 302)
    newest = AuditEntry.objects.filter(table_name="contact_submissions", operation="INSERT").latest("id")
    assert newest.actor_user_id is None and newest.actor_kind == "visitor"


def test_a_session_value_left_on_a_connection_is_overwritten_before_the_next_write():
    """A connection handed back by the pool carrying someone's setting: the first write resets it."""
    stale = json.dumps({"k": "staff", "u": str(uuid.uuid4())})
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('bloom.audit', %s, false)", [stale])
    audit._on_connection_created(None, connection)  # what a pooled checkout does
    submission = ContactSubmissionFactory()
    row = _entries("contact_submissions", submission.pk)[0]
    assert (row.actor_kind, row.actor_user_id) == ("system", None)


def test_a_rolled_back_setting_is_written_again():
    with audit.audit_context({"k": "task", "l": "first"}):
        with pytest.raises(RuntimeError), transaction.atomic():
            ContactSubmissionFactory()
            raise RuntimeError
        submission = ContactSubmissionFactory()  # the rollback undid set_config; it must be set again
    assert _entries("contact_submissions", submission.pk)[0].actor_label == "first"


@pytest.mark.django_db(transaction=True)
def test_a_change_from_manage_py_shell_is_recorded_as_shell():
    email = f"shell-{uuid.uuid4().hex[:8]}@example.com"
    code = (
        "from accounts.models import User; "
        f"User.objects.create_user(email='{email}', password='a-Long-test-passphrase-2026')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bloom.settings.test", "DATABASE_URL": database_url_for_subprocess()}
    env.pop("PGAPPNAME", None)
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=BASE_DIR, env=env, check=True, timeout=120)
    user = User.objects.get(email=email)
    insert = _entries("users", user.pk)[0]
    assert (insert.actor_kind, insert.source) == ("shell", "bloom:shell")


@pytest.mark.django_db(transaction=True)
def test_a_management_command_is_recorded_as_the_command():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bloom.settings.test", "DATABASE_URL": database_url_for_subprocess()}
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--email", "cmd@example.com"],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SUPERUSER_PASSWORD": "a-Long-test-passphrase-2026"},
        check=True,
        timeout=120,
    )
    user = User.objects.get(email="cmd@example.com")
    insert = _entries("users", user.pk)[0]
    assert (insert.actor_kind, insert.actor_label) == ("command", "createsuperuser")


def test_a_task_records_kind_task():
    from bloom.celery import app

    @app.task(name="tests.audit_write_submission")
    def write_submission():
        return str(ContactSubmissionFactory().pk)

    result = write_submission.apply()  # runs the task with its prerun / postrun signals
    row = _entries("contact_submissions", result.get())[0]
    assert (row.actor_kind, row.actor_label, row.source) == ("task", "tests.audit_write_submission", result.id)


@pytest.mark.worker
def test_a_real_workers_task_records_kind_task(celery_worker_process):
    from content import services
    from content.models import CampaignStatus
    from tests.factories.content import NewsletterCampaignFactory, SubscriberFactory

    SubscriberFactory()
    campaign = NewsletterCampaignFactory()
    services.campaign_send_start(campaign=campaign)

    def sent_row():
        return AuditEntry.objects.filter(
            table_name="newsletter_campaigns", row_pk=str(campaign.pk), after__status=CampaignStatus.SENT
        ).first()

    wait_until(sent_row, timeout=30, what="the worker to send the campaign")
    row = sent_row()
    assert row.actor_kind == "task" and row.actor_label.startswith("content.")
    assert row.request_id  # the task id


# --- Staff reads ---------------------------------------------------------------------------------------


def test_a_staff_read_of_a_contact_message_is_recorded(settings):
    client, staff = _staff_client(settings, codenames=["view_contactsubmission"])
    submission = ContactSubmissionFactory()
    response = client.get(reverse("admin:content_contactsubmission_change", args=[submission.pk]))
    assert response.status_code == 200
    read = AuditEntry.objects.get(table_name="contact_submissions", row_pk=str(submission.pk), operation="READ")
    assert (read.actor_kind, read.actor_user_id, read.source) == ("staff", staff.pk, "203.0.113.7")


def test_the_owners_reads_of_a_cv_a_chat_and_a_contact_message_are_recorded(settings, tmp_path):
    from tests.factories.content import ChatConversationFactory

    settings.MEDIA_ROOT = str(tmp_path)
    client, owner = _staff_client(settings, superuser=True)
    application = CareerApplicationFactory()
    assert client.get(reverse("admin:content_careerapplication_change", args=[application.pk])).status_code == 200
    assert client.get(reverse("admin:content_careerapplication_cv", args=[application.pk])).status_code == 200
    conversation = ChatConversationFactory()
    assert client.get(reverse("admin:content_chatconversation_change", args=[conversation.pk])).status_code == 200
    message = ContactSubmissionFactory(message="Since the birth I cannot sleep and I feel numb.")
    assert client.get(reverse("admin:content_contactsubmission_change", args=[message.pk])).status_code == 200
    reads = AuditEntry.objects.filter(operation="READ", actor_user_id=owner.pk)
    tables = set(reads.values_list("table_name", flat=True))
    assert {"career_applications", "chat_conversations", "contact_submissions"} <= tables
    download = reads.filter(table_name="career_applications", after__read="cv").get()
    assert download.row_pk == str(application.pk) and download.actor_kind == "staff"


# --- The admin -----------------------------------------------------------------------------------------


def test_the_trail_admin_is_read_only_and_searchable_by_person_and_record(settings):
    client, owner = _staff_client(settings, superuser=True)
    member = UserFactory(email="searched@example.com")
    submission = ContactSubmissionFactory()
    changelist = reverse("admin:bloom_auditentry_changelist")
    by_person = client.get(changelist, {"q": "searched@example.com"})
    assert by_person.status_code == 200
    assert set(by_person.context["cl"].queryset.values_list("subject_user_id", flat=True)) == {member.pk}
    # The list names people by their email (whose data; who did it), not by bare ids.
    assert '<td class="field-subject">searched@example.com</td>' in by_person.content.decode()
    by_record = client.get(changelist, {"q": f"contact_submissions:{submission.pk}"})
    assert [e.row_pk for e in by_record.context["cl"].queryset] == [str(submission.pk)]
    entry = AuditEntry.objects.filter(table_name="users").first()
    assert client.get(reverse("admin:bloom_auditentry_change", args=[entry.pk])).status_code == 200
    assert client.get(reverse("admin:bloom_auditentry_add")).status_code == 403
    assert client.post(reverse("admin:bloom_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    client.get(reverse("admin:content_contactsubmission_change", args=[submission.pk]))  # an audited read
    owners_rows = client.get(changelist, {"q": owner.email})
    assert f'<td class="field-actor">{owner.email}</td>' in owners_rows.content.decode()


def test_the_owner_exports_the_trail_as_csv_and_others_cannot(settings):
    client, owner = _staff_client(settings, superuser=True)
    UserFactory()
    ids = list(AuditEntry.objects.values_list("pk", flat=True)[:5])
    response = client.post(
        reverse("admin:bloom_auditentry_changelist"), {"action": "export_csv", "_selected_action": ids}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(rows[0]) == audit.CSV_COLUMNS
    assert len(rows) == 1 + len(ids)

    viewer, _ = _staff_client(settings, codenames=["view_auditentry"])
    refused = viewer.post(
        reverse("admin:bloom_auditentry_changelist"), {"action": "export_csv", "_selected_action": ids}
    )
    assert not refused.get("Content-Type", "").startswith("text/csv")


def test_a_trail_row_cannot_be_changed_or_deleted_through_the_orm():
    entry = AuditEntry.objects.filter(table_name="users").first() or AuditEntry.objects.create(
        table_name="factory_examples", row_pk="1", operation="READ"
    )
    with pytest.raises(ValueError, match="never updated"):
        entry.save()
    with pytest.raises(ValueError, match="never deleted"):
        entry.delete()
