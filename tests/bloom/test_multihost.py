"""bench/multihost.py: three worker hosts (network namespaces) on one queue (issue 15.3, docs/operations.md).

The end-to-end test runs a small version (300 emails, 100 Stripe events, host 1 SIGKILLed,
host 2's network cut for 5 s) wherever `ip netns` works, and is skipped with the reason
elsewhere. The counting that decides the run's verdict is tested on its own, with the
failures it must catch.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "multihost.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_multihost", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


multihost = _module()
UNAVAILABLE = multihost.netns_unavailable()


def _env() -> dict[str, str]:
    env = {**os.environ}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the script sets its own (bench.settings_multihost)
    return env


# --- the counting ------------------------------------------------------------------------------

KILL_AT, CUT = 100.0, (200.0, 230.0)


def _tally(deliveries, queued=None):
    queued = queued if queued is not None else {"<a@x>": "sent", "<b@x>": "sent", "<c@x>": "sent"}
    return multihost.email_tally(queued=queued, deliveries=deliveries, kill_at=KILL_AT, cut=CUT, email_timeout=10)


def test_every_email_once_passes():
    mail = _tally([(1.0, 1, "<a@x>"), (2.0, 2, "<b@x>"), (3.0, 3, "<c@x>")])
    assert (mail.once, mail.duplicates, mail.lost, mail.unexplained) == (3, 0, 0, 0)
    assert mail.per_host == Counter({1: 1, 2: 1, 3: 1})
    events = multihost.event_tally(
        event_ids=["e1"], applied=[("e1", "paid")], payment_statuses={"p1": "succeeded"}, paid_moves=["p1"]
    )
    assert multihost.verdict(mail=mail, events=events, expected_events=1, drained=True) == []


def test_a_mail_that_never_reached_the_sink_is_lost_and_fails_the_run():
    mail = _tally([(1.0, 1, "<a@x>"), (3.0, 3, "<c@x>")])
    assert (mail.once, mail.lost) == (2, 1)
    events = multihost.event_tally(event_ids=[], applied=[], payment_statuses={}, paid_moves=[])
    assert multihost.verdict(mail=mail, events=events, expected_events=0, drained=True) == ["1 emails lost"]


def test_duplicates_are_put_down_to_the_host_that_had_them_in_flight():
    mail = _tally(
        [
            (95.0, 1, "<a@x>"),  # host 1, just before its SIGKILL: in flight there
            (140.0, 3, "<a@x>"),
            (199.0, 2, "<b@x>"),  # host 2, within EMAIL_TIMEOUT of the cut: in flight there
            (235.0, 2, "<b@x>"),
            (50.0, 3, "<c@x>"),  # host 3 was never disrupted: unexplained
            (51.0, 1, "<c@x>"),
        ]
    )
    assert (mail.duplicates, mail.on_killed, mail.on_cut, mail.unexplained, mail.lost) == (3, 1, 1, 1, 0)
    events = multihost.event_tally(event_ids=[], applied=[], payment_statuses={}, paid_moves=[])
    problems = multihost.verdict(mail=mail, events=events, expected_events=0, drained=True)
    assert problems == ["1 duplicate emails not explained by a disrupted host"]


def test_a_message_delivered_three_times_is_unexplained_even_from_a_disrupted_host():
    mail = _tally([(95.0, 1, "<a@x>"), (140.0, 3, "<a@x>"), (141.0, 2, "<a@x>"), (2.0, 2, "<b@x>"), (3.0, 3, "<c@x>")])
    assert (mail.duplicates, mail.on_killed, mail.unexplained) == (1, 0, 1)


def test_a_host_1_copy_long_before_the_kill_is_not_in_flight():
    mail = _tally([(10.0, 1, "<a@x>"), (120.0, 3, "<a@x>"), (2.0, 2, "<b@x>"), (3.0, 3, "<c@x>")])
    assert (mail.on_killed, mail.unexplained) == (0, 1)


def test_mail_the_outbox_never_had_is_counted_apart():
    mail = _tally([(1.0, 1, "<a@x>"), (2.0, 2, "<b@x>"), (3.0, 3, "<c@x>"), (4.0, 3, "<stranger@x>")])
    assert (mail.once, mail.unknown) == (3, 1)


def test_events_applied_twice_or_not_at_all_fail_the_run():
    events = multihost.event_tally(
        event_ids=["e1", "e2", "e3", "e4"],
        # e1 processed twice (reset and applied again); e3 never; e4 applied with another outcome
        applied=[("e1", "paid"), ("e1", "paid"), ("e2", "paid"), ("e4", "unmatched")],
        payment_statuses={"p1": "succeeded", "p2": "succeeded", "p3": "requires_payment", "p4": "succeeded"},
        paid_moves=["p1", "p2", "p2", "p4"],  # p2's on_paid ran twice
    )
    assert (events.once, events.twice, events.not_applied, events.other_outcome) == (1, 2, 2, 1)
    assert events.payments_paid_once == 2
    mail = _tally([(1.0, 1, "<a@x>"), (2.0, 2, "<b@x>"), (3.0, 3, "<c@x>")])
    problems = multihost.verdict(mail=mail, events=events, expected_events=5, drained=False)
    assert problems == [
        "not drained before the deadline",
        "2 events applied twice",
        "3 events not applied",
        "4 of 5 events stored",
    ]


# --- skipping and cleaning up ------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv to drop it")
def test_without_root_it_skips_with_the_reason_and_exit_status_0():
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SKIP: network namespaces need root"), result.stdout


@pytest.mark.skipif(UNAVAILABLE is not None, reason=f"ip netns unavailable: {UNAVAILABLE}")
def test_cleanup_removes_what_a_killed_run_left():
    name = f"bmh-t{uuid.uuid4().hex[:6]}"
    bridge = f"bmh{name[5:9]}br"
    subprocess.run(["ip", "netns", "add", f"{name}-1"], check=True)
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    sleeper = subprocess.Popen(["ip", "netns", "exec", f"{name}-1", "sleep", "600"])
    try:
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "--cleanup"], capture_output=True, text=True, timeout=60, env=_env()
        )
        assert result.returncode == 0, result.stderr
        assert sleeper.wait(timeout=10) == -9  # the namespace's processes were SIGKILLed
        assert f"{name}-1" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode != 0
    finally:
        sleeper.kill()
        subprocess.run(["ip", "netns", "del", f"{name}-1"], capture_output=True)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


# --- the run itself ----------------------------------------------------------------------------


def _figure(output: str, label: str) -> int:
    match = re.search(rf"^{re.escape(label)}\s+(\d+)", output, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{output}"
    return int(match.group(1))


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.skipif(UNAVAILABLE is not None, reason=f"ip netns unavailable: {UNAVAILABLE}")
@pytest.mark.timeout(280)
def test_three_hosts_drain_mail_and_events_through_a_kill_and_a_cut():
    import psycopg

    args = ["--emails", "300", "--events", "100", "--event-rate", "20", "--cut-seconds", "5"]
    args += ["--smtp-latency-ms", "100", "--lease-seconds", "15", "--batch-size", "20", "--sweep-seconds", "2"]
    args += ["--deadline", "120"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=270, env=_env(), cwd=ROOT
    )
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    assert "RESULT: OK" in output
    assert re.search(r"host 1: SIGKILL to its [1-9]\d* worker processes", output), output
    assert "host 2: network cut for 5.0 s" in output and "host 2: network back" in output
    assert _figure(output, "emails queued") == 300
    assert _figure(output, "emails lost (never reached the SMTP server)") == 0
    duplicates = _figure(output, "emails sent more than once")
    assert _figure(output, "emails sent once") + duplicates == 300
    # At most the message each killed or cut worker process had in flight (2 processes per host).
    assert duplicates <= 4, output
    assert _figure(output, "events stored") == 100
    assert _figure(output, "events applied once") == 100
    assert _figure(output, "events applied twice") == 0
    assert _figure(output, "events not applied") == 0
    per_host = re.search(r"^mails at the sink by host 1, 2, 3\s+(\d+), (\d+), (\d+)", output, re.MULTILINE)
    assert per_host and all(int(n) > 0 for n in per_host.groups()), output  # every host took a share

    # Torn down: no namespace, bridge, database or state file of the run is left.
    tag = re.search(r"queue bloom-multihost-(\w+)", output).group(1)
    assert f"bmh-{tag}-" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert subprocess.run(["ip", "link", "show", f"bmh{tag}br"], capture_output=True).returncode != 0
    assert not (ROOT / ".services" / f"multihost-{tag}.json").exists()
    admin_url = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [f"bloom_multihost_{tag}"]).fetchone() is None
        )
