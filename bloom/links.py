"""Absolute links to this site, for mail, PDFs, calendar files and redirects made outside a request.

Every absolute link Bloom writes comes from `absolute_url`, built on `settings.SITE_URL`
(`BLOOM_SITE_URL`; `make run` sets it from `PORT`), so a link opens the site actually served.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def absolute_url(path: str) -> str:
    """`path` ("/courses/x/") joined to the configured site URL."""
    if not path.startswith("/"):
        path = "/" + path
    return settings.SITE_URL.rstrip("/") + path


def absolute_reverse(viewname: str, *args, **kwargs) -> str:
    """`reverse(viewname, args=args, kwargs=kwargs)` as an absolute link to this site."""
    return absolute_url(reverse(viewname, args=args or None, kwargs=kwargs or None))
