from io import StringIO

import pytest
from django.core.management import call_command

from accounts.demo import DEMO_LOGINS
from appointments.models import TherapistProfile

pytestmark = pytest.mark.django_db


def test_the_demo_clinician_is_dr_rundle_with_the_clinician_role_and_is_printed():
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    therapist = TherapistProfile.objects.get(display_name="Dr. Jana Rundle")
    assert therapist.user is not None and therapist.user.email == "clinician@bloom.test"
    assert therapist.user.is_staff and not therapist.user.is_superuser
    assert therapist.user.admin_user.role.slug == "clinician"
    assert therapist.user.check_password({email: pw for _role, email, pw in DEMO_LOGINS}["clinician@bloom.test"])
    assert "clinician@bloom.test" in out.getvalue()
    assert TherapistProfile.objects.filter(user=therapist.user).count() == 1


def test_the_demo_workspace_has_sessions_this_week_a_signed_note_with_an_addendum_and_a_draft(client, settings):
    from django.urls import reverse

    from appointments.models import SessionNote

    settings.BLOOM_STAFF_MFA_REQUIRED = False
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    jana = TherapistProfile.objects.get(display_name="Dr. Jana Rundle")
    notes = SessionNote.objects.filter(therapist=jana)
    assert sorted(notes.values_list("status", flat=True)) == ["draft", "signed"]
    signed = notes.get(status="signed")
    assert [v.kind for v in signed.versions.order_by("number")] == ["draft", "signed", "addendum"]
    client.force_login(jana.user)
    workspace = client.get(reverse("admin:appointments_therapistprofile_workspace")).context["workspace"]
    assert len(workspace.today_rows) == 2
    manager_login = {email: pw for _role, email, pw in DEMO_LOGINS}["manager@bloom.test"]
    manager = jana.user.__class__.objects.get(email="manager@bloom.test")
    assert manager.check_password(manager_login) and manager.admin_user.role.slug == "practice_manager"
    client.force_login(manager)
    assert client.get(reverse("admin:appointments_therapistprofile_calendar")).status_code == 200
    assert client.get(reverse("admin:appointments_sessionnote_change", args=[signed.pk])).status_code == 403
