"""The one way to declare a Celery task in Bloom (docs/adr/0145).

    from bloom.taskdef import BACKOFF, task

    @task(retry=BACKOFF)
    def campaign_send_task(campaign_id: str) -> int: ...

Every task is named `<app>.<function name>` (so a name in a beat entry, a log line or Flower
says where the code is) and takes one of the named retry policies below, never its own mix of
`autoretry_for`/`retry_backoff`/`max_retries`. Other Celery options (`acks_late`,
`ignore_result`) pass through.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from celery import shared_task

# How often a failing task runs before it stops retrying, and the first wait in seconds.
MAX_ATTEMPTS = 8
RETRY_FIRST_SECONDS = 5


@dataclass(frozen=True)
class RetryPolicy:
    name: str
    options: Mapping = field(default_factory=dict)


# Periodic sweeps and drains: the next beat is the retry, so a failure is not retried in place.
NO_RETRY = RetryPolicy("no retry", MappingProxyType({}))

# Work from a durable row (a stored webhook event, a campaign, a notice): retried with
# exponential backoff and jitter, 5 s doubling to at most 10 minutes, 8 attempts in all.
BACKOFF = RetryPolicy(
    "backoff",
    MappingProxyType(
        {
            "autoretry_for": (Exception,),
            "retry_backoff": RETRY_FIRST_SECONDS,
            "retry_backoff_max": 600,
            "retry_jitter": True,
            "max_retries": MAX_ATTEMPTS,
        }
    ),
)

POLICIES = (NO_RETRY, BACKOFF)


def task_name(function: Callable) -> str:
    return f"{function.__module__.split('.', 1)[0]}.{function.__name__}"


def task(*, retry: RetryPolicy = NO_RETRY, **options) -> Callable:
    """Register `function` as a shared task named `<app>.<function name>` with a named retry policy."""
    if retry not in POLICIES:
        raise ValueError(f"unknown retry policy {retry!r}: use one of bloom.taskdef.POLICIES")
    if {"name", "autoretry_for", "retry_backoff", "max_retries"} & options.keys():
        raise TypeError("task names and retry settings come from bloom.taskdef, not from each task")

    def decorate(function: Callable):
        return shared_task(name=task_name(function), **retry.options, **options)(function)

    return decorate
