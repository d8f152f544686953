"""Content-Security-Policy: one strict policy for every page, the admin's one allowance (docs/adr/0140).

The policy itself is `CONTENT_SECURITY_POLICY` in bloom/settings/base.py. The portal loads
scripts and styles only from its own static files (and Stripe.js from js.stripe.com); no
inline script, no inline style, no eval. This module adds the two exceptions the ADR names:

- the Django admin (and the admin pages Bloom adds under it) may use inline *styles*, never
  inline scripts: Django's own change list writes a `<style>` block, and the email preview
  shows email HTML whose styles are inline by design (docs/adr/0020);
- the 500 page, which may use no static file (whatever broke the request may still be
  broken), allows its one `<style>` block by its SHA-256 hash.
"""

from __future__ import annotations

import base64
import hashlib
import re

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase
from django.urls import NoReverseMatch, reverse

ADMIN_POLICY_UPDATE = {"style-src": [UNSAFE_INLINE]}

_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def _admin_prefix() -> str | None:
    try:
        return reverse("admin:index")
    except NoReverseMatch:
        return None


class BloomCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with inline styles (only) allowed under the admin's URL prefix."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request=request, response=response, report_only=report_only)
        prefix = _admin_prefix()
        if prefix and request.path_info.startswith(prefix) and parts.update is None and parts.replace is None:
            parts.update = ADMIN_POLICY_UPDATE
        return parts


def allow_style_blocks(response: HttpResponseBase, html: str) -> HttpResponseBase:
    """Allow exactly the `<style>` blocks in `html` on this response, by hash (for the 500 page)."""
    hashes = [
        f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
        for block in _STYLE_BLOCK.findall(html)
    ]
    if hashes:
        response._csp_update = {"style-src": hashes}
    return response
