"""The outbox drain: claim due rows, send them over one connection, record each outcome at once.

Claiming is one statement (`UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING ...`) that moves a batch to `sending` with a lease, so parallel drains never take
the same row and a dead worker's rows come back when the lease expires (email_queue_sweep).
Every later write of a claimed row matches the lease it was claimed with, so a drain that
stalled past its lease changes nothing another drain has claimed since (docs/adr/0159).
Each row's outcome is committed as soon as it is known: a worker killed mid-batch re-sends
at most the message it was sending (docs/adr/0021). Mail goes through whichever Django email
backend is configured; only Django's own SMTP backend is handed the bytes built at queue
time, every other backend a real message (docs/adr/0024).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from psycopg import pq

from . import rendering
from .models import EmailCampaignMetric, EmailQueue, EmailStatus, EmailSuppression
from .services import automation_log_record_sent, suppression_add

logger = logging.getLogger(__name__)

_CLAIM_SQL = """
UPDATE email_queue SET status = 'sending', lease_expires_at = %s, updated_at = %s
WHERE id IN (
    SELECT id FROM email_queue
    WHERE status = 'pending' AND scheduled_at <= %s
    ORDER BY priority, scheduled_at
    LIMIT %s
    FOR UPDATE SKIP LOCKED
)
RETURNING id, to_email, from_email, subject, text_body, html_body, headers, mime_message, category,
          priority, scheduled_at, retry_count, message_id, campaign_id, sequence_step_id, lease_expires_at
"""


def _setting(name: str, default):
    return getattr(settings, name, default)


def backoff_delay(retry_count: int) -> timedelta:
    """How long a temporarily failed email waits before its next attempt: doubling from
    BLOOM_EMAIL_RETRY_BASE_SECONDS, capped at 6 hours."""
    base = _setting("BLOOM_EMAIL_RETRY_BASE_SECONDS", 60)
    return timedelta(seconds=min(base * 2 ** max(retry_count - 1, 0), 6 * 3600))


def outbox_message(row: EmailQueue) -> EmailMultiAlternatives:
    """The row as an ordinary Django message (same headers, subject and bodies as its stored MIME).

    What every backend but the SMTP fast path is handed: console and file backends write its
    `message()`, locmem keeps it, anymail reads its fields. Attachments come from the stored MIME
    (`rendering.mime_attachments`), the row's only copy of them.
    """
    return rendering.email_message(
        subject=row.subject,
        text_body=row.text_body,
        html_body=row.html_body,
        from_email=row.from_email or settings.DEFAULT_FROM_EMAIL,
        to=row.to_email,
        headers=row.headers,
        attachments=rendering.mime_attachments(row.mime_message),
    )


# An address sanitize_address() would return unchanged (ASCII, no display name, nothing to encode).
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\Z")


@functools.lru_cache(maxsize=64)
def _sanitized(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


def _envelope_address(address: str) -> str:
    """What Django's SMTP backend puts in MAIL FROM / RCPT TO, without re-parsing plain addresses."""
    if _PLAIN_ADDRESS.match(address):
        return address
    return _sanitized(address, settings.DEFAULT_CHARSET)


class NothingSent(Exception):
    """The backend returned without raising but says it sent nothing (e.g. a connection it could not open)."""


class _Transport:
    """The drain's one open connection to the configured email backend, and how a row goes through it.

    Django's own SMTP backend (exactly that class, not a subclass that may change what is sent)
    takes the fast path: the MIME bytes stored at queue time plus a fresh Date header go to
    `sendmail` on the backend's smtplib connection, with the envelope its `send_messages()`
    would use, minus its per-call lock and re-parsing of the same From address (docs/adr/0021,
    0024). It carries the same envelope, headers and bodies the backend would send for
    `outbox_message(row)`; only the header order and the random multipart boundary differ.
    Every other backend (console, file, locmem, anymail's ESP backends, any subclass) is handed
    that real message through `send_messages()`.
    """

    def __init__(self) -> None:
        self.backend = get_connection(fail_silently=False)
        self.fast_smtp = type(self.backend) is SMTPBackend
        self.opened = False

    def open(self) -> None:
        if not self.opened:
            self.backend.open()
            self.opened = True

    def send(self, row: EmailQueue) -> str:
        """Deliver one row; returns the Message-ID to record (the provider's id when it gives one)."""
        if self.fast_smtp and row.mime_message and self.backend.connection is not None:
            self.backend.connection.sendmail(
                _envelope_address(row.from_email or settings.DEFAULT_FROM_EMAIL),
                [_envelope_address(row.to_email)],
                _stamped(row.mime_message),
            )
            return row.message_id
        message = outbox_message(row)
        if self.backend.send_messages([message]) == 0:
            raise NothingSent(f"{type(self.backend).__module__} sent nothing and gave no reason")
        status = getattr(message, "anymail_status", None)
        return str((status.message_id if status is not None else None) or row.message_id)

    def drop(self) -> None:
        """Forget a connection that broke, without waiting on it again.

        Django's SMTP close() says QUIT and waits for the answer: on a server that stopped
        answering that is another full EMAIL_TIMEOUT spent before the next row.
        """
        smtp = getattr(self.backend, "connection", None) if isinstance(self.backend, SMTPBackend) else None
        if smtp is None:
            self.close()
            return
        self.opened = False
        with contextlib.suppress(OSError):
            smtp.close()
        self.backend.connection = None

    def close(self) -> None:
        if not self.opened:
            return
        self.opened = False
        try:
            self.backend.close()
        except Exception:  # every outcome is already recorded; a failed goodbye changes none
            logger.warning("closing the email backend failed", exc_info=True)


def _stamped(mime: str) -> bytes:
    """The stored message with the Date header Django's message() would have added now."""
    return f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}\r\n{mime}".encode()


@dataclass
class Failure:
    permanent: bool
    reason: str
    hard_bounce: bool = False
    connection_broken: bool = False


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {message}"


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {_smtp_reply(exc)}"
    return f"{type(exc).__name__}: {exc}"


def classify(exc: Exception, *, connecting: bool = False) -> Failure:
    """Temporary (4xx, connection trouble) or permanent (5xx) failure, and whether it is a hard bounce.

    Only an answer about this message can fail it for good: a 5xx to its recipient (a hard
    bounce) or to its content. Whatever goes wrong while connecting (refused, timed out, a
    4xx or 5xx greeting, a failed login) and a refused sender say the same for every message,
    so they are temporary, and like a 421 ("closing connection"), a dropped socket or an ESP
    that gives no answer, 5xx or 429, they break the connection: two in a row hand the rest
    of the batch back.
    """
    from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused

    if connecting:
        return Failure(permanent=False, connection_broken=True, reason=f"could not connect: {_describe(exc)}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        detail = "; ".join(
            f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for code, msg in exc.recipients.values()
        )
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return Failure(
            permanent=permanent,
            hard_bounce=permanent,
            connection_broken=421 in codes,
            reason=f"recipient refused: {detail}",
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return Failure(
            permanent=False, connection_broken=exc.smtp_code == 421, reason=f"sender refused: {_smtp_reply(exc)}"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(permanent=exc.smtp_code >= 500, connection_broken=exc.smtp_code == 421, reason=_describe(exc))
    if isinstance(exc, AnymailRecipientsRefused):
        return Failure(permanent=True, hard_bounce=True, reason=f"recipient refused: {exc}")
    if isinstance(exc, AnymailAPIError):
        status = exc.status_code
        unanswered = status is None or status >= 500 or status == 429
        return Failure(permanent=False, connection_broken=unanswered, reason=f"provider error: {exc}")
    if isinstance(exc, AnymailError):  # raised before any call (an address or feature it cannot send)
        return Failure(permanent=False, reason=f"provider error: {exc}")
    if isinstance(exc, OSError):  # smtplib.SMTPException, ConnectionError, timeouts
        return Failure(permanent=False, connection_broken=True, reason=_describe(exc))
    return Failure(permanent=False, reason=_describe(exc))


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    batches: int = 0
    stopped_early: bool = False
    # Two connection failures in a row: the rest went back untouched, for the sweeper's next wake-up.
    transport_down: bool = False

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


def _claim(batch_size: int) -> list[EmailQueue]:
    now = timezone.now()
    lease = now + timedelta(seconds=_setting("BLOOM_EMAIL_LEASE_SECONDS", 300))
    rows = list(EmailQueue.objects.raw(_CLAIM_SQL, [lease, now, now, batch_size]))
    rows.sort(key=lambda row: (row.priority, row.scheduled_at))
    return rows


def _release(rows: list[EmailQueue]) -> None:
    """Hand claimed-but-unsent rows back without counting an attempt.

    Only rows still under this drain's claim (the lease it set): a drain that stalled past
    its lease must not hand back rows the sweep returned and another drain has claimed since.
    """
    if rows:
        EmailQueue.objects.filter(
            pk__in=[row.pk for row in rows], status=EmailStatus.SENDING, lease_expires_at=rows[0].lease_expires_at
        ).update(status=EmailStatus.PENDING, lease_expires_at=None, updated_at=timezone.now())


_MARK_SENT_SQL = (
    b"UPDATE email_queue SET status = 'sent', sent_at = $1, updated_at = $1, lease_expires_at = NULL, "
    b"message_id = $2 WHERE id = $3 AND status = 'sending' AND lease_expires_at = $4"
)


class _SentMarker:
    """Writes a row's `sent` mark without waiting for the answer while the next message goes out.

    The UPDATE is fully handed to PostgreSQL (libpq blocking send) before the next SMTP
    transaction starts, and runs as its own autocommit statement, so a worker killed during
    the next send has still recorded this one: at most the message in flight is sent twice.
    Its answer is read before anything else uses the connection. Inside an atomic block (tests)
    it simply joins that transaction.
    """

    def __init__(self) -> None:
        db_connection.ensure_connection()
        self.pgconn = db_connection.connection.pgconn
        self.pending = False

    def submit(self, row: EmailQueue, message_id: str) -> None:
        self.wait()
        now = timezone.now().isoformat().encode()
        lease = row.lease_expires_at.isoformat().encode()
        self.pgconn.send_query_params(_MARK_SENT_SQL, [now, message_id.encode(), str(row.pk).encode(), lease])
        self.pending = True

    def wait(self) -> None:
        if not self.pending:
            return
        self.pending = False
        error = None
        while (result := self.pgconn.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK:
                error = result.get_error_message()
        if error:
            raise RuntimeError(f"could not record a sent email: {error}")


def _record_sent(row: EmailQueue, message_id: str, marker: _SentMarker) -> None:
    now = timezone.now()
    if not row.campaign_id and not row.sequence_step_id:
        marker.submit(row, message_id)
        return
    marker.wait()
    changes = {
        "status": EmailStatus.SENT,
        "sent_at": now,
        "lease_expires_at": None,
        "message_id": message_id,
        "updated_at": now,
    }
    with transaction.atomic():
        EmailQueue.objects.filter(pk=row.pk, status=EmailStatus.SENDING, lease_expires_at=row.lease_expires_at).update(
            **changes
        )
        if row.campaign_id:
            EmailCampaignMetric.objects.filter(email_id=row.pk).update(sent_at=now)
        if row.sequence_step_id:
            automation_log_record_sent(email=row)


def _record_failure(row: EmailQueue, failure: Failure) -> str:
    now = timezone.now()
    attempts = row.retry_count + 1
    max_retries = _setting("BLOOM_EMAIL_MAX_RETRIES", 5)
    with transaction.atomic():
        if failure.permanent or attempts >= max_retries:
            reason = failure.reason if failure.permanent else f"gave up after {attempts} attempts: {failure.reason}"
            EmailQueue.objects.filter(
                pk=row.pk, status=EmailStatus.SENDING, lease_expires_at=row.lease_expires_at
            ).update(
                status=EmailStatus.FAILED,
                retry_count=attempts,
                last_error=reason[:2000],
                lease_expires_at=None,
                updated_at=now,
            )
            if failure.hard_bounce:
                suppression_add(
                    email=row.to_email, reason=EmailSuppression.Reason.HARD_BOUNCE, detail=failure.reason[:500]
                )
                EmailCampaignMetric.objects.filter(email_id=row.pk, bounced_at__isnull=True).update(
                    bounced_at=now, bounce_type="hard"
                )
            return "failed"
        EmailQueue.objects.filter(pk=row.pk, status=EmailStatus.SENDING, lease_expires_at=row.lease_expires_at).update(
            status=EmailStatus.PENDING,
            retry_count=attempts,
            last_error=failure.reason[:2000],
            scheduled_at=now + backoff_delay(attempts),
            lease_expires_at=None,
            updated_at=now,
        )
    return "retried"


def email_queue_drain(
    *,
    batch_size: int | None = None,
    max_seconds: float | None = None,
    progress: Callable[[DrainResult], None] | None = None,
) -> DrainResult:
    """Send every due email in priority order until none is due (or `max_seconds` pass).

    Guarantees: delivery through whichever Django email backend is configured, with the same
    outcome recording for all of them (see `_Transport`); one connection for the whole drain
    (reopened only after it breaks); each row's outcome is committed before the next message
    is sent; temporary failures back off exponentially and count `retry_count` up to
    BLOOM_EMAIL_MAX_RETRIES, then fail; permanent rejections fail at once and a refused
    recipient is suppressed; after two connection failures in a row the rest of the batch is
    handed back untouched (`transport_down`).
    """
    batch_size = batch_size or _setting("BLOOM_EMAIL_BATCH_SIZE", 100)
    lease_margin = _setting("BLOOM_EMAIL_LEASE_SECONDS", 300) * 0.1
    started = time.monotonic()
    result = DrainResult()
    transport = _Transport()
    connection_failures = 0
    asynchronous_commit = not _setting("BLOOM_EMAIL_SYNCHRONOUS_COMMIT", False)
    if asynchronous_commit:
        with db_connection.cursor() as cursor:
            # Outcome commits need not wait for the WAL flush (docs/adr/0021): a dead worker loses
            # nothing (PostgreSQL has the commit); only a PostgreSQL crash can forget the last
            # fraction of a second of "sent" marks, and those messages are sent again, never lost.
            cursor.execute("SET synchronous_commit TO off")
    marker = _SentMarker()
    try:
        while True:
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                result.stopped_early = True
                break
            marker.wait()
            rows = _claim(batch_size)
            if not rows:
                break
            result.batches += 1
            lease_deadline = time.monotonic() + _setting("BLOOM_EMAIL_LEASE_SECONDS", 300) - lease_margin
            for index, row in enumerate(rows):
                if connection_failures >= 2:
                    result.transport_down = True
                if time.monotonic() > lease_deadline or result.transport_down:
                    marker.wait()
                    _release(rows[index:])
                    result.stopped_early = True
                    break
                connecting = not transport.opened
                try:
                    transport.open()
                    connecting = False
                    message_id = transport.send(row)
                except Exception as exc:  # noqa: BLE001  (every failure is recorded on the row, none is lost)
                    marker.wait()
                    failure = classify(exc, connecting=connecting)
                    if failure.connection_broken:
                        connection_failures += 1
                        transport.drop()
                    logger.warning("email %s not sent: %s", row.pk, failure.reason)
                    if _record_failure(row, failure) == "failed":
                        result.failed += 1
                    else:
                        result.retried += 1
                    continue
                connection_failures = 0
                _record_sent(row, message_id, marker)
                result.sent += 1
            if progress is not None:
                marker.wait()
                progress(result)
            if result.stopped_early:
                break
    finally:
        marker.wait()
        transport.close()
        if asynchronous_commit:
            with db_connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
    return result
