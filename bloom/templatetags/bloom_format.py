"""Display helpers every app's templates share: money, places, and a small membership test.

    {% load bloom_format %}
    {{ payment.amount|money:payment.currency }}   -> "$149.00 USD"
    {{ appointment.location|location_label }}     -> "Zoom"

One way to write an amount everywhere (billing, courses, workshops): the currency's symbol, two
decimals with thousands separators, and the ISO code after it, so "Paid 149.00" and "$79.00 USD"
never sit side by side again. Nothing here imports an app (bloom is the bottom layer).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

# Symbols for the currencies the practice can be paid in; any other code shows as the code alone.
CURRENCY_SYMBOLS = {"usd": "$", "cad": "$", "aud": "$", "nzd": "$", "eur": "€", "gbp": "£"}

# Places written in data as codes; anything else is shown as typed, with a capital first letter.
LOCATION_LABELS = {
    "zoom": "Zoom",
    "video": "Video call",
    "online": "Online",
    "telehealth": "Video call",
    "phone": "Phone call",
    "in_person": "In person",
    "in-person": "In person",
    "office": "At the office",
}


def format_money(amount, currency: str = "usd") -> str:
    """Return `amount` as "$149.00 USD": symbol, two decimals (half up), thousands separators, code.

    Guarantees: never raises for display; None or an unparseable amount gives "" so a template
    shows nothing rather than "None"; a negative amount keeps its sign before the symbol.
    """
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ""
    code = (currency or "usd").strip().lower()
    symbol = CURRENCY_SYMBOLS.get(code, "")
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f} {code.upper()}"


@register.filter(name="money")
def money(amount, currency: str = "usd") -> str:
    """`{{ amount|money:currency }}`: see format_money."""
    return format_money(amount, currency)


@register.filter(name="location_label")
def location_label(value) -> str:
    """`{{ location|location_label }}`: "zoom" -> "Zoom", "in_person" -> "In person"; free text
    (an address, "Room 2") is kept as written apart from a capital first letter. Empty gives ""."""
    text = str(value or "").strip()
    if not text:
        return ""
    known = LOCATION_LABELS.get(text.lower())
    if known:
        return known
    return text[0].upper() + text[1:]


@register.filter(name="one_of")
def one_of(value, choices: str) -> bool:
    """`{{ x|one_of:"a b c" }}`: True when `value` equals one of the space-separated words
    (whole words, unlike `in` on a string)."""
    return str(value) in choices.split()


@register.filter(name="local_url")
def local_url(value) -> str:
    """`{{ notification.data.url|local_url }}`: the value when it is a path on this site ("/courses/…"),
    else "" — so stored data can never turn into a link to another site or a javascript: URL."""
    text = str(value or "").strip()
    if not text.startswith("/") or text.startswith("//") or text.startswith("/\\"):
        return ""
    if any(ch in text for ch in "\r\n\t") or "://" in text.split("?", 1)[0]:
        return ""
    return text


@register.filter(name="time_spent")
def time_spent(seconds) -> str:
    """`{{ stats.time_spent_seconds|time_spent }}`: "Under a minute", "1 minute", "1 hour 5 minutes".
    0 or nothing gives "Not recorded yet" (time is counted only while a lesson page is open), never
    a discouraging "0 minutes" after a finished course."""
    try:
        total = int(seconds or 0)
    except (TypeError, ValueError):
        total = 0
    if total <= 0:
        return "Not recorded yet"
    minutes = round(total / 60)
    if minutes < 1:
        return "Under a minute"
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)
