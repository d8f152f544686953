import re

CONFIRM_URL = re.compile(r"(?:https?://[^/\s]+)?(/accounts/confirm-email/[^/\s]+/)")


def confirmation_path(mail: list[dict], to: str) -> str:
    """The verification link from the last mail queued to `to`."""
    bodies = [m["text_body"] for m in mail if m["to"] == to]
    assert bodies, f"no mail queued to {to}"
    match = CONFIRM_URL.search(bodies[-1])
    assert match, bodies[-1]
    return match.group(1)


def signup_data(email: str, **extra) -> dict:
    data = {
        "email": email,
        "password1": "Soft-morning-light-42",
        "password2": "Soft-morning-light-42",
        "referral_source": "A friend from my prenatal class",
        "agree_terms": "on",
        "marketing_consent": "on",
    }
    data.update(extra)
    return data
