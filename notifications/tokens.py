"""Signed tokens in tracking pixels, click links and unsubscribe links (docs/adr/0022).

Each kind has its own salt, so a token of one kind never verifies as another. The payload
names the queued email (and the link index for clicks); nothing else is trusted from the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.core import signing

OPEN_SALT = "notifications.open"
CLICK_SALT = "notifications.click"
UNSUBSCRIBE_SALT = "notifications.unsubscribe"


class InvalidToken(Exception):
    pass


def _dumps(value, salt: str) -> str:
    return signing.dumps(value, salt=salt, compress=False)


def _loads(token: str, salt: str):
    try:
        return signing.loads(token, salt=salt)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def open_token(email_id) -> str:
    return _dumps(str(email_id), OPEN_SALT)


def open_token_read(token: str) -> str:
    value = _loads(token, OPEN_SALT)
    if not isinstance(value, str):
        raise InvalidToken("malformed open token")
    return value


def click_token(email_id, index: int) -> str:
    return _dumps([str(email_id), index], CLICK_SALT)


def click_token_read(token: str) -> tuple[str, int]:
    value = _loads(token, CLICK_SALT)
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)):
        raise InvalidToken("malformed click token")
    return value[0], value[1]


def unsubscribe_token(*, email: str, email_id=None) -> str:
    return _dumps({"e": email, "q": str(email_id) if email_id else None}, UNSUBSCRIBE_SALT)


def unsubscribe_token_read(token: str) -> tuple[str, str | None]:
    value = _loads(token, UNSUBSCRIBE_SALT)
    if not (isinstance(value, dict) and isinstance(value.get("e"), str) and value["e"]):
        raise InvalidToken("malformed unsubscribe token")
    return value["e"], value.get("q")


class TokenMinter:
    """Signs many tokens of one kind quickly, each exactly what `signing.dumps(value, salt=salt,
    compress=False)` gives at that second (the bulk outbox makes several per email).

    The salted HMAC key is derived once instead of per token; verification is Django's own.
    """

    def __init__(self, salt: str):
        key = hashlib.sha256(f"{salt}signer".encode() + settings.SECRET_KEY.encode()).digest()
        self._hmac = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, value) -> str:
        data = json.dumps(value, separators=(",", ":")).encode("latin-1")
        signed = f"{signing.b64_encode(data).decode()}:{signing.b62_encode(int(time.time()))}"
        mac = self._hmac.copy()
        mac.update(signed.encode())
        return f"{signed}:{signing.b64_encode(mac.digest()).decode()}"


class BatchTokens:
    """Open, click and unsubscribe tokens for many emails, as `open_token`, `click_token` and
    `unsubscribe_token` make them one at a time."""

    def __init__(self):
        self._open = TokenMinter(OPEN_SALT)
        self._click = TokenMinter(CLICK_SALT)
        self._unsubscribe = TokenMinter(UNSUBSCRIBE_SALT)

    def open(self, email_id) -> str:
        return self._open(str(email_id))

    def click(self, email_id, index: int) -> str:
        return self._click([str(email_id), index])

    def unsubscribe(self, *, email: str, email_id=None) -> str:
        return self._unsubscribe({"e": email, "q": str(email_id) if email_id else None})
