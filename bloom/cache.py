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

    def get(self, key, default=None, version=None):
        try:
            return self._call(super().get, key, default, version)
        except _Unavailable:
            return default

    def get_many(self, keys, version=None):
        try:
            return self._call(super().get_many, keys, version)
        except _Unavailable:
            return {}

    def has_key(self, key, version=None):
        try:
            return self._call(super().has_key, key, version)
        except _Unavailable:
            return False

    def add(self, key, value, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        try:
            return self._call(super().add, key, value, timeout, version)
        except _Unavailable:
            return True

    def set(self, key, value, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        try:
            self._call(super().set, key, value, timeout, version)
        except _Unavailable:
            return

    def set_many(self, data, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        try:
            return self._call(super().set_many, data, timeout, version)
        except _Unavailable:
            return list(data)

    def touch(self, key, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        try:
            return self._call(super().touch, key, timeout, version)
        except _Unavailable:
            return False

    def delete(self, key, version=None):
        try:
            return self._call(super().delete, key, version)
        except _Unavailable:
            return False

    def delete_many(self, keys, version=None):
        try:
            self._call(super().delete_many, keys, version)
        except _Unavailable:
            return

    def incr(self, key, delta=1, version=None):
        try:
            return self._call(super().incr, key, delta, version)
        except _Unavailable:
            raise ValueError(f"Key '{key}' not found: the cache is unavailable") from None

    def clear(self):
        try:
            return self._call(super().clear)
        except _Unavailable:
            return False
