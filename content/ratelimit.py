"""Per-IP limits on the public forms and the analytics endpoint (django-ratelimit, docs/adr/0073).

Counters live in the shared Redis cache, so every web process sees the same count. "ip" is the
client address from `bloom.http.client_ip` (RATELIMIT_IP_META_KEY), which honours only the
proxies we run (BLOOM_TRUSTED_PROXY_COUNT): a forged X-Forwarded-For never starts a new count.
"""

from django_ratelimit.core import is_ratelimited


def rate_limit_exceeded(request, *, scope: str, rate: str) -> bool:
    """Count this request against `scope` for its client IP; True once `rate` (e.g. "10/h") is spent."""
    return is_ratelimited(request, group=f"content.{scope}", key="ip", rate=rate, increment=True)
