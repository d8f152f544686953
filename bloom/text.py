"""Small text helpers shared by every app."""

from __future__ import annotations


def normalize_email(address: str | None) -> str:
    """The form every Bloom table stores and compares an address in: trimmed, lower-case.

    The whole address is lower-cased, local part included (unlike Django's
    `BaseUserManager.normalize_email`, which lowers only the domain), so `Ada@Example.org`
    and `ada@example.org` are one subscriber, one suppression and one recipient. None and
    blank give "".
    """
    return (address or "").strip().lower()
