"""Issue 10 point 8: Redis may vanish.

The test starts a Redis of its own, and a web server, a worker and beat as `make run` does
(`bloom.settings.dev`, console email), all pointed at it. It stops Redis, and during the
outage a visitor signs up, a member signs in and books a free workshop, and a visitor asks
for the newsletter: every request answers within a second, and the work is in PostgreSQL.
Then Redis starts again, empty, on the same port, and everything completes by itself: the
mail is sent by the worker (woken by beat's sweeper) and the booking's confirmation reaches
the member, with no process restarted.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.models import User
from bloom.devservices import redis_server_start
from notifications.models import EmailQueue, EmailStatus, UserNotification
from tests.accounts.helpers import signup_data
from tests.conftest import BASE_DIR, database_url_for_subprocess
from tests.factories.accounts import DEFAULT_PASSWORD, UserFactory
from tests.factories.workshops import WorkshopFactory
from tests.waiting import wait_until
from workshops.models import RegistrationStatus, WorkshopRegistration

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ANSWER_WITHIN_SECONDS = 1.0
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """A visitor's browser over plain HTTP: cookies kept, redirects not followed, each request timed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.timings: list[tuple[str, float]] = []

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        self.timings.append((f"{method} {path}", time.monotonic() - started))
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        location = response.getheader("Location", "")
        conn.close()
        return response.status, location, text

    def submit(self, form_path: str, data: dict, *, action: str | None = None) -> tuple[int, str, str]:
        """GET the page with the form, then POST the form with its CSRF token."""
        status, _location, page = self.request("GET", form_path)
        assert status == 200, (form_path, status, page[:500])
        token = CSRF_FIELD.search(page)
        assert token, f"no CSRF token on {form_path}"
        return self.request("POST", action or form_path, {**data, "csrfmiddlewaretoken": token.group(1)})


class Process:
    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name, self.command, self.env = name, command, env
        self.log_path = BASE_DIR / ".services" / f"outage-{name}-{uuid.uuid4().hex[:6]}.log"

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=BASE_DIR, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def stack(tmp_path):
    """Redis of this test's own, and web (runserver), worker and beat under bloom.settings.dev."""
    redis_port, web_port = _free_port(), _free_port()
    redis_dir = tmp_path / "redis"
    queue = f"bloom-test-outage-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bloom.settings.dev",
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "BLOOM_CELERY_QUEUE": queue,
        "BLOOM_CACHE_PREFIX": queue,
        "BLOOM_SITE_URL": f"http://127.0.0.1:{web_port}",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "PYTHONUNBUFFERED": "1",
    }
    redis = {"process": redis_server_start(port=redis_port, data_dir=redis_dir)}
    web = Process("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{web_port}", "--noreload"], env)
    worker = Process(
        "worker",
        [sys.executable, "-m", "celery", "-A", "bloom", "worker", "--concurrency", "1"]
        + ["--loglevel", "INFO", "--without-gossip", "--without-mingle", "-n", f"{queue}@%h"],
        env,
    )
    beat = Process("beat", [sys.executable, "-m", "celery", "-A", "bloom", "beat", "--loglevel", "INFO"], env)
    processes = [web.start(), worker.start(), beat.start()]

    def redis_stop() -> None:
        redis["process"].terminate()
        redis["process"].wait(timeout=10)

    def redis_start() -> None:
        redis["process"] = redis_server_start(port=redis_port, data_dir=redis_dir)

    try:
        wait_until(lambda: "ready." in worker.log(), timeout=120, what=f"the worker\n{worker.log()[-2000:]}")
        wait_until(lambda: "beat: Starting" in beat.log(), timeout=120, what=f"beat\n{beat.log()[-2000:]}")

        def web_answers() -> bool:
            try:
                return Browser(web_port).request("GET", "/healthz")[0] == 200
            except OSError:
                return False

        wait_until(web_answers, timeout=120, what=f"the web server\n{web.log()[-2000:]}")
        yield {
            "port": web_port,
            "web": web,
            "worker": worker,
            "beat": beat,
            "redis_stop": redis_stop,
            "redis_start": redis_start,
        }
    finally:
        for process in processes:
            process.stop()
        if redis["process"].poll() is None:
            redis["process"].terminate()
            redis["process"].wait(timeout=10)


def _member_who_can_sign_in(email: str) -> User:
    member = UserFactory(email=email)
    # The suite hashes with MD5, which the dev server does not accept.
    member.password = PBKDF2PasswordHasher().encode(DEFAULT_PASSWORD, get_random_string(12))
    member.save(update_fields=["password"])
    return member


def _journey(port: int, *, visitor_email: str, member: User, workshop, reader_email: str) -> list[tuple[str, float]]:
    """Sign up, sign in and book a free workshop, ask for the newsletter; returns each request's time."""
    visitor = Browser(port)
    status, location, _ = visitor.submit("/accounts/signup/", signup_data(visitor_email))
    assert status == 302, location
    booker = Browser(port)
    status, location, _ = booker.submit("/accounts/login/", {"login": member.email, "password": DEFAULT_PASSWORD})
    assert status == 302, location
    detail = f"/workshops/{workshop.slug}/"
    status, location, _ = booker.submit(detail, {}, action=f"{detail}register/")
    assert (status, location) == (302, detail)
    reader = Browser(port)
    status, location, _ = reader.submit("/newsletter/", {"email": reader_email, "first_name": "Jo", "source": "footer"})
    assert status == 302, location
    return visitor.timings + booker.timings + reader.timings


def test_requests_answer_during_a_redis_outage_and_the_work_completes_when_it_returns(stack):
    """Each request during the outage answers within a second of the same request with Redis up.

    The bound is taken against a run with Redis up because sign-up and sign-in hash a password
    (PBKDF2, most of a second on a busy two-core machine): what this test holds Redis to is the
    time it may add, which the 20-second stall of issue 10 broke. Requests that hash nothing
    must answer within a second outright.
    """
    port = stack["port"]
    for path in ("/accounts/signup/", "/accounts/login/", "/newsletter/"):  # first-request imports
        Browser(port).request("GET", path)
    baseline = _journey(
        port,
        visitor_email=f"calm.parent.{uuid.uuid4().hex[:6]}@example.org",
        member=_member_who_can_sign_in("first.member@example.org"),
        workshop=WorkshopFactory(),
        reader_email=f"calm.reader.{uuid.uuid4().hex[:6]}@example.org",
    )

    workshop = WorkshopFactory()
    member = _member_who_can_sign_in("booked.member@example.org")
    visitor_email = f"new.parent.{uuid.uuid4().hex[:6]}@example.org"
    newsletter_email = f"reader.{uuid.uuid4().hex[:6]}@example.org"
    outage_started = timezone.now()

    stack["redis_stop"]()

    during = _journey(
        port, visitor_email=visitor_email, member=member, workshop=workshop, reader_email=newsletter_email
    )
    health = Browser(port)
    status, _location, body = health.request("GET", "/healthz")
    assert status == 200 and '"broker": {"status": "down"' in body, body

    timings = [
        (what, round(with_redis, 2), round(without, 2))
        for (what, without), (_same, with_redis) in zip(during, baseline, strict=True)
    ]
    print("request, seconds with Redis, seconds without:", timings, "healthz", round(health.timings[0][1], 2))
    assert all(without < with_redis + ANSWER_WITHIN_SECONDS for _what, with_redis, without in timings), timings
    hashing = ("POST /accounts/signup/", "POST /accounts/login/")
    assert all(without < ANSWER_WITHIN_SECONDS for what, _with, without in timings if what not in hashing), timings
    assert health.timings[0][1] < ANSWER_WITHIN_SECONDS

    # The work is in PostgreSQL while Redis is gone.
    new_user = User.objects.get(email=visitor_email)
    registration = WorkshopRegistration.objects.get(user=member, workshop=workshop)
    assert registration.status == RegistrationStatus.REGISTERED
    due = EmailQueue.objects.filter(created_at__gte=outage_started, scheduled_at__lte=timezone.now())
    assert due.filter(to_email=visitor_email).exists()
    assert due.filter(to_email=newsletter_email).exists()
    assert all(process.alive() for process in (stack["web"], stack["worker"], stack["beat"]))

    stack["redis_start"]()

    # Nothing is restarted: beat's sweeper wakes the drain, and the worker sends everything due.
    def booking_confirmed() -> bool:
        return UserNotification.objects.filter(
            user=member, type="workshop_registered", data__registration_id=str(registration.pk)
        ).exists()

    wait_until(booking_confirmed, timeout=420, interval=1, what="the booking's confirmation notice")
    member_mail = EmailQueue.objects.filter(to_email=member.email, created_at__gte=outage_started)

    def all_sent() -> bool:
        pending = EmailQueue.objects.filter(created_at__gte=outage_started, scheduled_at__lte=timezone.now()).exclude(
            status=EmailStatus.SENT
        )
        return member_mail.exists() and not pending.exists()

    wait_until(all_sent, timeout=420, interval=1, what=f"every due email to be sent\n{stack['worker'].log()[-3000:]}")

    worker_log = stack["worker"].log()
    assert visitor_email in worker_log and newsletter_email in worker_log and member.email in worker_log
    assert new_user.emailaddress_set.filter(email=visitor_email, verified=False).exists()
    # The web process tried Redis again by itself and found it: no "must be restarted" state.
    web_log = stack["web"].log()
    assert "must be restarted" not in web_log + worker_log
    status, _location, _ = Browser(port).request("GET", "/healthz")
    assert status == 200
    assert all(process.alive() for process in (stack["web"], stack["worker"], stack["beat"]))
