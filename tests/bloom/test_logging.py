"""Structured logs (docs/adr/0152): request ids, user pseudonyms, task ids, JSON lines."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from django.urls import reverse
from structlog.contextvars import bind_contextvars, clear_contextvars

from bloom.logging import _task_postrun, _task_prerun, console_formatter, json_formatter, user_pseudonym
from tests.factories.accounts import UserFactory


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.setLevel(logging.DEBUG)
    watched = [logging.getLogger(name) for name in ("bloom.request", "bloom.task", "canary.test")]
    saved = [(logger, logger.level) for logger in watched]
    for logger in watched:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    for logger, level in saved:
        logger.setLevel(level)
        logger.removeHandler(handler)
    clear_contextvars()


@pytest.mark.django_db
def test_each_request_gets_an_id_echoed_in_the_response_and_logged_with_route_status_and_time(client, json_lines):
    response = client.get(reverse("account_login"))
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert client.get(reverse("account_login"))["X-Request-ID"] != request_id
    line = json_lines()[0]
    assert line["event"] == "request" and line["logger"] == "bloom.request" and line["level"] == "info"
    assert line["request_id"] == request_id
    assert (line["method"], line["route"], line["status"]) == ("GET", "/accounts/login/", 200)
    assert isinstance(line["duration_ms"], float)
    assert "user" not in line
    assert line["timestamp"].endswith("Z")


@pytest.mark.django_db
def test_a_signed_in_member_is_logged_by_pseudonym_and_the_route_is_the_pattern_not_the_path(
    client, json_lines, settings
):
    member = UserFactory(email="pseudonym.check@example.org")
    client.force_login(member)
    client.get("/no-such-page/pseudonym.check@example.org/")
    client.get(reverse("accounts:dashboard"))
    not_found, dashboard = [line for line in json_lines() if line["event"] == "request"]
    assert not_found["status"] == 404 and not_found["route"] is None
    assert dashboard["user"] == user_pseudonym(member.pk)
    assert re.fullmatch(r"u_[0-9a-f]{16}", dashboard["user"])
    assert str(member.pk) not in dashboard["user"]
    text = json.dumps(json_lines())
    assert "pseudonym.check" not in text
    # The pseudonym follows the key: another key, another pseudonym; the same key, the same one.
    settings.BLOOM_LOG_HMAC_KEY = "another-key-for-logs"
    assert user_pseudonym(member.pk) != dashboard["user"]
    assert user_pseudonym(member.pk) == user_pseudonym(str(member.pk))


@pytest.mark.django_db
def test_the_proxys_request_id_is_used_only_when_trusted_and_well_formed(client, settings, json_lines):
    upstream = "3f2a9c0e4b5d6a7f8e9d0c1b2a3f4e5d"
    settings.BLOOM_TRUST_REQUEST_ID = False
    assert client.get(reverse("account_login"), HTTP_X_REQUEST_ID=upstream)["X-Request-ID"] != upstream
    settings.BLOOM_TRUST_REQUEST_ID = True
    assert client.get(reverse("account_login"), HTTP_X_REQUEST_ID=upstream)["X-Request-ID"] == upstream
    forged = 'abc" injected=1 \n next'
    assert client.get(reverse("account_login"), HTTP_X_REQUEST_ID=forged)["X-Request-ID"] != forged
    assert [line["request_id"] for line in json_lines()][1] == upstream


def test_a_task_logs_its_id_name_and_duration_on_every_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    logger = logging.getLogger("bloom.task")
    inner = logging.getLogger("canary.test")
    for each in (logger, inner):
        each.addHandler(handler)
        each.setLevel(logging.INFO)

    class Task:
        name = "notifications.email_queue_drain_task"

    try:
        _task_prerun(task_id="6f1c-task", task=Task())
        inner.info("inside the task")
        _task_postrun(task_id="6f1c-task", task=Task(), state="SUCCESS")
        inner.info("after the task")
    finally:
        for each in (logger, inner):
            each.removeHandler(handler)
    inside, finished, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (inside["task_id"], inside["task"]) == ("6f1c-task", "notifications.email_queue_drain_task")
    assert finished["event"] == "task finished" and finished["state"] == "SUCCESS"
    assert finished["task_id"] == "6f1c-task" and isinstance(finished["duration_ms"], float)
    assert "task_id" not in after  # the context ends with the task


def test_email_addresses_are_scrubbed_from_every_rendered_line_and_exceptions():
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "delivery to %s failed", ("a.person@example.org",), None
    )
    try:
        raise ValueError("duplicate key (email)=(a.person@example.org)")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    for formatter in (json_formatter(), console_formatter()):
        text = formatter.format(record)
        assert "a.person" not in text and "[email]" in text
        assert "ValueError" in text


def test_the_console_format_is_a_readable_line_with_the_bound_context():
    bind_contextvars(request_id="r-123456789")
    try:
        record = logging.LogRecord("bloom.x", logging.WARNING, __file__, 1, "something %s", ("happened",), None)
        text = console_formatter().format(record)
    finally:
        clear_contextvars()
    assert "something happened" in text and "[bloom.x]" in text and "request_id=r-123456789" in text
    assert not text.startswith("{")


def test_development_logs_a_console_line_and_the_request_id_middleware_comes_first():
    from bloom.settings import base

    assert base.LOGGING["handlers"]["console"]["formatter"] == "console"
    assert base.MIDDLEWARE[0] == "bloom.logging.RequestIdMiddleware"
