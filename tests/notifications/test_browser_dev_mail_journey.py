"""`make run`'s mail, as a newcomer meets it: the dev stack's own console backend, in a real browser.

The Procfile's web and worker run under `bloom.settings.dev` through honcho, as `make run`
starts them (PORT and BLOOM_SITE_URL set the way the Makefile sets them), on this test's
database and a queue of its own, with no DJANGO_EMAIL_BACKEND: mail goes to the console. A
new member signs up, finds the verification link in the worker's output, checks it points at
the port being served, confirms and reaches onboarding; then she forgets her password, follows
the reset link from the output the same way, sets a new one and signs in with it.

The port is BLOOM_TEST_DEV_PORT when set (8101 for helper h1), else a free one; either way not
the default 8000, so a link built from the wrong site URL shows.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from notifications.models import EmailQueue, EmailStatus
from tests.browser import BROWSER, DESKTOP_CHROME, launch
from tests.conftest import BASE_DIR, database_url_for_subprocess
from tests.notifications.conftest import free_port
from tests.waiting import wait_until

pytestmark = [*BROWSER, pytest.mark.worker, pytest.mark.slow, pytest.mark.timeout(600)]

EMAIL = "new.mother@example.com"
FIRST_PASSWORD = "Quiet-harbour-morning-27"
NEW_PASSWORD = "Warm-kettle-garden-58"


class DevStack:
    """`honcho start -f Procfile web worker` under bloom.settings.dev; its whole output in one log."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        queue = f"bloom-test-devmail-{uuid.uuid4().hex[:8]}"
        self.env = {
            **{
                name: value
                for name, value in os.environ.items()
                if name not in ("DJANGO_EMAIL_BACKEND", "PYTEST_CURRENT_TEST")
            },
            "DJANGO_SETTINGS_MODULE": "bloom.settings.dev",
            "DATABASE_URL": database_url_for_subprocess(),
            "PORT": str(port),
            "BLOOM_SITE_URL": self.url,
            "BLOOM_CELERY_QUEUE": queue,
            "BLOOM_CACHE_PREFIX": queue,
            "PATH": f"{BASE_DIR / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            ["honcho", "start", "--no-colour", "-f", "Procfile", "web", "worker"],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stopping it stops web and worker
        )
        self.wait_until(lambda: " ready." in self.worker_output(), what="the worker")
        self.wait_until(self._web_answers, what="the web server")

    def _web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=5):  # noqa: S310 - our own loopback server
                return True
        except urllib.error.HTTPError:
            return True  # it answered
        except OSError:
            return False

    def wait_until(self, condition, *, what: str, timeout: float = 120) -> None:
        """`tests.waiting.wait_until`, stopping if the stack exits; either failure shows its output's tail."""

        def still_running() -> None:
            if self.process.poll() is not None:
                raise RuntimeError(f"the dev stack exited early:\n{self.output()[-4000:]}")

        wait_until(
            condition,
            timeout=timeout,
            interval=0.3,
            what=lambda: f"{what}:\n{self.output()[-4000:]}",
            check=still_running,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_output(self) -> str:
        """What the worker printed, without honcho's "12:00:00 worker.1 | " prefix."""
        lines = []
        for line in self.output().splitlines():
            prefix, separator, rest = line.partition(" | ")
            if separator and prefix.split()[-1:] == ["worker.1"]:
                lines.append(rest)
        return "\n".join(lines)

    def link_in_mail(self, path_pattern: str, *, seen: int = 0) -> str:
        """The first link matching `path_pattern` that the worker printed (after `seen` earlier ones)."""
        pattern = re.compile(r"https?://[^/\s\"'<>]+" + path_pattern)
        found: list[str] = []

        def printed() -> bool:
            found[:] = pattern.findall(self.worker_output())
            return len(found) > seen

        self.wait_until(printed, what=f"a mail with a link to {path_pattern}", timeout=60)
        return found[seen]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C sends to `make run`
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def dev_stack(transactional_db, tmp_path):
    stack = DevStack(int(os.environ.get("BLOOM_TEST_DEV_PORT") or free_port()), tmp_path / "make-run.log")
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def page():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(user_agent=DESKTOP_CHROME)
        yield context.new_page()
        context.close()
        browser.close()


def test_a_new_member_verifies_and_resets_her_password_from_the_dev_consoles_mail(dev_stack, page, settings):
    from playwright.sync_api import expect

    site = dev_stack.url
    assert dev_stack.port != 8000
    main = page.locator("main")

    page.goto(f"{site}/accounts/signup/")
    main.get_by_label("Email").fill(EMAIL)
    main.get_by_label("Password", exact=True).fill(FIRST_PASSWORD)
    main.get_by_label("Password (again)").fill(FIRST_PASSWORD)
    main.get_by_label("I agree to the terms of use and have read the privacy notice.").check()
    main.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/accounts/confirm-email/")

    # The worker printed the verification mail; its link opens the site being served.
    confirm = dev_stack.link_in_mail(r"/accounts/confirm-email/[^/\s\"'<>]+/")
    assert confirm.startswith(f"{site}/accounts/confirm-email/"), confirm
    printed = dev_stack.worker_output()
    assert f"To: {EMAIL}" in printed and "Subject: [Bloom] Please Confirm Your Email Address" in printed
    assert "AttributeError" not in dev_stack.output()

    page.goto(confirm)
    main.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/welcome/**")  # confirming signs her in; the dashboard sends her to onboarding
    expect(main.get_by_role("heading", name="Welcome to Bloom")).to_be_visible()
    expect(main).to_contain_text("Step 1 of 4")
    page.goto(f"{site}/dashboard/")
    page.wait_for_url("**/welcome/**")

    # She signs out, forgets her password and asks for a reset.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{site}/")
    page.goto(f"{site}/accounts/password/reset/")
    main.get_by_label("Email").fill(EMAIL)
    main.get_by_role("button", name="Reset My Password").click()
    page.wait_for_url("**/accounts/password/reset/done/")

    reset = dev_stack.link_in_mail(r"/accounts/password/reset/key/[^/\s\"'<>]+/")
    assert reset.startswith(f"{site}/accounts/password/reset/key/"), reset
    page.goto(reset)
    main.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    main.get_by_label("New Password (again)").fill(NEW_PASSWORD)
    main.get_by_role("button", name="Change Password").click()
    expect(main).to_contain_text("Your password is now changed.")

    page.goto(f"{site}/accounts/login/")
    main.get_by_label("Email").fill(EMAIL)
    main.get_by_label("Password").fill(NEW_PASSWORD)
    main.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/welcome/**")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # the dev server's
    member = get_user_model().objects.get(email=EMAIL)
    assert member.check_password(NEW_PASSWORD) and not member.check_password(FIRST_PASSWORD)
    assert EmailAddress.objects.get(email=EMAIL).verified
    to_her = EmailQueue.objects.filter(to_email=EMAIL)
    dev_stack.wait_until(lambda: not to_her.exclude(status=EmailStatus.SENT).exists(), what="all her mail sent")
    mail = list(to_her.values_list("status", "retry_count", "last_error"))
    # Verification, reset, and allauth's "your password was changed" notice: each sent first time.
    assert len(mail) >= 2 and set(mail) == {(EmailStatus.SENT, 0, "")}
