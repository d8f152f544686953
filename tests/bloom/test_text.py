import pytest

from bloom.text import normalize_email


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("  Ada.Lovelace@Example.ORG \n", "ada.lovelace@example.org"),
        ("ada@example.org", "ada@example.org"),
        ("", ""),
        (None, ""),
        ("   ", ""),
    ],
)
def test_normalize_email_trims_and_lowers_the_whole_address(given, stored):
    assert normalize_email(given) == stored


def test_content_and_notifications_store_addresses_the_same_way():
    """The two copies content and notifications once had are one function now."""
    from content.services import enquiries, newsletter
    from notifications.services import outbox, sequences, suppression, tracking

    users = {enquiries, newsletter, outbox, sequences, suppression, tracking}
    assert {module.normalize_email for module in users} == {normalize_email}
