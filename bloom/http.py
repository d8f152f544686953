"""Who sent a request: the one client-address helper behind rate limits, lockouts and audit rows.

Behind a reverse proxy REMOTE_ADDR is the proxy, and X-Forwarded-For is a list anyone can
prepend to. Each proxy we run appends the address it received the request from, so with
`BLOOM_TRUSTED_PROXY_COUNT = N` the Nth entry from the right is the address the outermost of
our proxies saw: the client. Entries further left were written by the client and are never
read (docs/adr/0016).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _clean(value: str) -> str | None:
    """A normalised IP address from one header entry ("[v6]:port" and "v4:port" accepted)."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's IP address for `request`, or None when there is no request or address.

    With no trusted proxy (the default) only REMOTE_ADDR counts. With N trusted proxies the
    Nth address from the right of X-Forwarded-For is used; when the header is missing, too
    short or malformed there, the request did not come through our proxies as configured,
    and REMOTE_ADDR is used (never an address the client could have chosen).
    """
    if request is None:
        return None
    meta = request.META
    remote = _clean(meta.get("REMOTE_ADDR") or "")
    trusted = settings.BLOOM_TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = [entry for entry in (meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if entry.strip()]
    if len(forwarded) < trusted:
        return remote
    return _clean(forwarded[-trusted]) or remote
