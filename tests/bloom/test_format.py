"""The shared display helpers (bloom/templatetags/bloom_format.py): one way to write money and places."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from bloom.templatetags.bloom_format import format_money, location_label, one_of


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("149"), "usd", "$149.00 USD"),
        (Decimal("79.5"), "USD", "$79.50 USD"),
        (Decimal("1234.5"), "eur", "€1,234.50 EUR"),
        (Decimal("0.005"), "gbp", "£0.01 GBP"),
        (Decimal("-20"), "usd", "-$20.00 USD"),
        (Decimal("10"), "chf", "10.00 CHF"),
        ("12", None, "$12.00 USD"),
        (None, "usd", ""),
        ("not money", "usd", ""),
    ],
)
def test_money_is_symbol_two_decimals_and_code(amount, currency, expected):
    assert format_money(amount, currency) == expected


def test_money_filter_in_a_template():
    html = Template("{% load bloom_format %}Paid {{ amount|money:currency }}").render(
        Context({"amount": Decimal("149.00"), "currency": "usd"})
    )
    assert html == "Paid $149.00 USD"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zoom", "Zoom"),
        ("ZOOM", "Zoom"),
        ("in_person", "In person"),
        ("room 2, 5 Elm St", "Room 2, 5 Elm St"),
        ("", ""),
        (None, ""),
    ],
)
def test_location_label(raw, expected):
    assert location_label(raw) == expected


def test_one_of_matches_whole_words_only():
    assert one_of("content:blog_list", "home content:blog_list")
    assert not one_of("blog", "home content:blog_list")
    assert not one_of(None, "home")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/courses/calm/", "/courses/calm/"),
        ("/a/?next=/b/", "/a/?next=/b/"),
        ("//evil.example/", ""),
        ("/\\evil.example", ""),
        ("https://evil.example/", ""),
        ("javascript:alert(1)", ""),
        ("/x\nSet-Cookie", ""),
        (None, ""),
    ],
)
def test_local_url_keeps_only_paths_on_this_site(raw, expected):
    from bloom.templatetags.bloom_format import local_url

    assert local_url(raw) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "Not recorded yet"),
        (None, "Not recorded yet"),
        (20, "Under a minute"),
        (30, "Under a minute"),
        (31, "1 minute"),
        (600, "10 minutes"),
        (3600, "1 hour"),
        (3900, "1 hour 5 minutes"),
        (7500, "2 hours 5 minutes"),
    ],
)
def test_time_spent_words(seconds, expected):
    from bloom.templatetags.bloom_format import time_spent

    assert time_spent(seconds) == expected
