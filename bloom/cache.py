"""Django's Redis cache, answering like an empty cache while Redis is unreachable (docs/adr/0008).

The cache holds nothing that must survive: rate-limit counters and allauth's locks around
them, the Stripe drain's wake-up flag, allauth's TOTP replay guard. While Redis is down it
behaves like an empty cache that keeps nothing, so a request still answers:

- reads (`get`, `get_many`, `has_key`) find nothing;
- `add` succeeds (True), as it would for a missing key: allauth's rate-limit lock is taken
  and the request is let through, where False made allauth wait a second and answer 429;
  the TOTP replay guard cannot remember a used code until Redis returns;
- other writes and deletes report that they did not happen;
- `incr`/`decr` raise ValueError, as for a missing key.

Errors other than a lost connection or a timeout are raised as before.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bloom.outage import OutageGate

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)

gate = OutageGate("Redis cache")


class _Unavailable(Exception):
    pass


class RedisCache(django_redis.RedisCache):
    def _call(self, method, *args, **kwargs):
        if not gate.open():
            raise _Unavailable
        try:
            result = method(*args, **kwargs)
        except REDIS_DOWN as exc:
            gate.failed(exc)
            raise _Unavailable from exc
        gate.succeeded()
        return result

    def _or(self, fallback, method, *args):
        """`method(*args)`, or `fallback` while Redis is unavailable."""
        try:
            return self._call(method, *args)
        except _Unavailable:
            return fallback

    def get(self, key, default=None, version=None):
        return self._or(default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._or({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._or(False, super().has_key, key, version)

    def add(self, key, value, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        return self._or(True, super().add, key, value, timeout, version)

    def set(self, key, value, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        self._or(None, super().set, key, value, timeout, version)

    def set_many(self, data, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        return self._or(list(data), super().set_many, data, timeout, version)

    def touch(self, key, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        return self._or(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._or(False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        self._or(None, super().delete_many, keys, version)

    def incr(self, key, delta=1, version=None):
        try:
            return self._call(super().incr, key, delta, version)
        except _Unavailable:
            raise ValueError(f"Key '{key}' not found: the cache is unavailable") from None

    def clear(self):
        return self._or(False, super().clear)


_MISSING = object()


def kept(key: str, compute, seconds: int):
    """`compute()`, kept in the cache under `key` for `seconds` (issue 18 point 2).

    For reads that many pages repeat and that change rarely: the owner of the rows drops the
    key when they change (a `post_save`/`post_delete` receiver), and `seconds` bounds how long
    a change made while Redis was away can go unseen. With Redis away every call computes.
    """
    from django.core.cache import cache

    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, seconds)
    return value
