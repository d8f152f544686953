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
