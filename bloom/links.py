"""Absolute links to this site, for mail, PDFs, calendar files and redirects made outside a request.

Every absolute link Bloom writes comes from `absolute_url`, built on `settings.SITE_URL`
(`BLOOM_SITE_URL`; `make run` sets it from `PORT`), so a link opens the site actually served.
`signed_link_read` reads the signed token such a link carries (a visitor's chat, a newsletter
confirmation).
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from bloom.exceptions import ApplicationError


def absolute_url(path: str) -> str:
    """`path` ("/courses/x/") joined to the configured site URL."""
    if not path.startswith("/"):
        path = "/" + path
    return settings.SITE_URL.rstrip("/") + path


def absolute_reverse(viewname: str, *args, **kwargs) -> str:
    """`reverse(viewname, args=args, kwargs=kwargs)` as an absolute link to this site."""
    return absolute_url(reverse(viewname, args=args or None, kwargs=kwargs or None))


def signed_link_read(token: str, *, salt: str, max_age: int, expired: str, invalid: str):
    """The value `signing.dumps(value, salt=salt)` put in a link's token. Raises ApplicationError
    with `expired` when the token is older than `max_age` seconds, with `invalid` when it does not
    verify (the messages are the member's words)."""
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ApplicationError(expired) from exc
    except signing.BadSignature as exc:
        raise ApplicationError(invalid) from exc
