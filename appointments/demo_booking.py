"""Demo data for finding a therapist and booking: who each demo therapist helps, fees and
policy, and for the demo member (who has billing's demo card) an accepted policy with
Dr. Rundle and the Good Faith Estimate it issued. Idempotent; never overwrites an edit."""

from decimal import Decimal

from accounts.models import User

from . import booking
from .models import TherapistProfile

DEMO_BOOKING_TERMS = {
    "https://api.calendly.com/users/DEMO-THERAPIST-1": {
        "who_i_help": (
            "Parents who are pregnant or in the first year after birth and feel low, anxious or not like "
            "themselves, and anyone whose birth did not go the way they hoped."
        ),
        "session_fee": Decimal("200.00"),
        "no_show_fee": Decimal("100.00"),
        "late_cancel_fee": Decimal("75.00"),
        "npi": "1093817465",
        "license_number": "PSY 31337",
    },
    "https://api.calendly.com/users/DEMO-THERAPIST-2": {
        "who_i_help": (
            "Couples and individuals after a pregnancy loss or a NICU stay, and partners finding their "
            "footing as a family changes."
        ),
        "session_fee": Decimal("160.00"),
        "no_show_fee": Decimal("80.00"),
        "npi": "1245319598",
        "license_number": "LMFT 120045",
    },
    "https://api.calendly.com/users/DEMO-THERAPIST-3": {
        "who_i_help": "People going through fertility treatment, and anyone pregnant after a loss.",
        "session_fee": Decimal("180.00"),
        "npi": "1386742201",
        "license_number": "LCSW 88210",
    },
}


def seed_booking(*, stdout) -> None:
    for uri, terms in DEMO_BOOKING_TERMS.items():
        therapist = TherapistProfile.all_objects.filter(calendly_user_uri=uri).first()
        if therapist is None:
            continue
        changed = [name for name, value in terms.items() if getattr(therapist, name) in ("", None)]
        for name in changed:
            setattr(therapist, name, terms[name])
        if changed:
            therapist.save(update_fields=[*changed, "updated_at"])
    member = User.objects.filter(email="member@bloom.test").first()
    therapist = TherapistProfile.objects.filter(
        calendly_user_uri="https://api.calendly.com/users/DEMO-THERAPIST-1"
    ).first()
    if member is None or therapist is None or not booking.member_has_saved_card(member=member):
        stdout.write("appointments: no demo member with a card, no accepted booking policy")
        return
    booking.booking_policy_accept(
        member=member, therapist=therapist, terms_seen=booking.policy_terms(therapist=therapist).fingerprint
    )
    stdout.write(f"appointments: {member.email} accepted {therapist}'s policy and has a Good Faith Estimate")
