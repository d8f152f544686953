"""The bulk outbox: one template queued to many recipients at once (issue 18 point 4, campaigns).

`email_enqueue_bulk` renders the shared part of the message once, with a placeholder in every
per-recipient place (her address and first name, the unsubscribe, pixel and click tokens, the
Message-ID), and fills only those places per row, MIME message included; the refusal checks run
for the whole batch in a few queries and the rows go in with one INSERT ... ON CONFLICT DO NOTHING.

A placeholder is a run of letters and digits, so a value that is the same in plain text, in HTML
and once cleaned, inlined and encoded (no markup characters, no runs of spaces) can be put in its
place and give exactly what rendering it would. Any other value, a template that changes a
placeholder, or a message whose encoding the value would change is rendered the single-email way
for that recipient instead; each batch also renders its first recipient both ways and falls back
to the single-email way for the batch if they differ.
"""

from __future__ import annotations

import email.policy
import json
import logging
import random
import re
import secrets
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import quoprimime
from email.utils import make_msgid
from types import SimpleNamespace

import psycopg
from django.conf import settings
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, forbid_multi_line_headers
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from bloom.links import absolute_url
from bloom.text import normalize_email

from .. import rendering, tokens
from ..models import EmailCampaignMetric, EmailCategory, EmailPriority, EmailQueue
from ..registry import pause_check_many, pause_checks
from ..selectors import mail_may_wait, quiet_hours_release_get, refusal_reasons_get_many, users_for_emails_get
from .outbox import _json_safe, _render_into, _wake_drain_on_commit

logger = logging.getLogger(__name__)

_POLICY = email.policy.compat32.clone(linesep="\r\n")
_NLCRE = re.compile(r"\r\n|\r|\n")
# A value that renders the same in text, HTML, cleaned, inlined and folded: no markup or quote
# characters, no braces or percent signs, single spaces between words, nothing at either end.
_PLAIN_VALUE = re.compile(r"[^\s&<>\"'{}%\\\u00a0]+(?: [^\s&<>\"'{}%\\\u00a0]+)*")
_BOUNDARY_WIDTH = len(repr(sys.maxsize - 1))


@dataclass(frozen=True)
class BulkRecipient:
    """One recipient of a bulk send: the address, her own template variables (e.g. first_name,
    merged over the shared context) and the idempotency key of her email."""

    email: str
    context: dict = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass
class _Row:
    email: str
    own: dict  # her own variables, JSON-safe
    context: dict  # the shared context with hers over it, as the row stores it
    key: str | None
    user: object = None
    due_at: object = None


def email_enqueue_bulk(
    *,
    template: str,
    shared_context: dict,
    recipients: Iterable[BulkRecipient],
    category: str = EmailCategory.MARKETING,
    priority: int = EmailPriority.LOW,
    campaign_id=None,
) -> int:
    """Queue `template` once to each recipient, in the caller's transaction; returns how many rows
    this call inserted.

    Guarantees, for each recipient, what `email_enqueue(to=..., template=template, context=
    {**shared_context, **recipient.context}, category=..., priority=..., idempotency_key=...,
    campaign_id=...)` guarantees: the same subject, text, CSS-inlined HTML, tracked links,
    headers (her own Message-ID and RFC 8058 List-Unsubscribe with her own token) and MIME
    message (her own boundary; no Date), the same refusals (suppressed address, no marketing
    consent, a member on a pause: skipped, not raised), her quiet hours for mail that may wait,
    and an email_campaign_metrics row for campaign mail. Idempotent: a key already used (or
    repeated in `recipients`) queues nothing, and the count is of rows really inserted, so a
    re-run queues only what is missing. A number of queries that does not grow with the number
    of recipients. Invalid addresses are skipped. A drain is woken after commit.
    """
    category = EmailCategory(category)
    now = timezone.now()
    may_wait = mail_may_wait(category=category, priority=priority)
    shared = _json_safe(shared_context)
    rows: dict[str, _Row] = {}
    keyless: list[_Row] = []
    for recipient in recipients:
        address = normalize_email(recipient.email)
        if not address or "@" not in address:
            logger.info("bulk email skipped: not an email address")
            continue
        own = _json_safe(recipient.context)
        row = _Row(address, own, {**shared, **own}, recipient.idempotency_key, due_at=now)
        if row.key:
            rows.setdefault(row.key, row)
        else:
            keyless.append(row)
    if rows:
        used = EmailQueue.objects.filter(idempotency_key__in=list(rows)).values_list("idempotency_key", flat=True)
        for key in used:
            rows.pop(key, None)
    pending = [*rows.values(), *keyless]
    if not pending:
        return 0

    addresses = {row.email for row in pending}
    users = users_for_emails_get(emails=addresses) if may_wait or category == EmailCategory.MARKETING else {}
    refused = refusal_reasons_get_many(emails=addresses, category=category, users=users)
    if may_wait:
        refused.update(
            dict.fromkeys(_paused_addresses({a: u for a, u in users.items() if a not in refused}), "taking a break")
        )
    if refused:
        logger.info("bulk email refused for %s address(es)", len(refused))  # no addresses in logs
    pending = [row for row in pending if row.email not in refused]
    for row in pending:
        row.user = users.get(row.email)
        if may_wait:
            row.due_at = quiet_hours_release_get(user=row.user, when=now)

    built = _build_rows(pending, template=template, category=category, priority=priority, campaign_id=campaign_id)
    inserted = _insert(built, now=now, campaign_id=campaign_id)
    if inserted:
        _wake_drain_on_commit()
    return inserted


def _paused_addresses(users: dict) -> set[str]:
    """The addresses of those of `users` (address -> account) on a pause: set-based checks where
    registered, else one call per account."""
    if not users:
        return set()
    paused: set = set()
    accounts = list(users.values())
    for check in pause_checks():
        many = pause_check_many(check)
        if many is not None:
            paused |= set(many(users=accounts))
        else:
            paused |= {user.pk for user in accounts if check(user=user)}
    return {address for address, user in users.items() if user.pk in paused}


def _new_row(row: _Row, *, template: str, category, priority, campaign_id) -> SimpleNamespace:
    """An outbox row to fill in: the fields of an EmailQueue, without building a model per recipient."""
    return SimpleNamespace(
        id=uuid.uuid4(),
        to_email=row.email,
        from_email=settings.DEFAULT_FROM_EMAIL,
        template_key=template,
        context=row.context,
        category=category,
        priority=int(priority),
        scheduled_at=row.due_at,
        idempotency_key=row.key or None,
        campaign_id=campaign_id,
    )


def _build_rows(pending: list[_Row], *, template: str, category, priority, campaign_id) -> list[SimpleNamespace]:
    """The rendered outbox rows: through a stencil for each shape of recipient variables (which
    of them are empty), the single-email rendering for recipients a stencil cannot serve."""
    built: list[SimpleNamespace] = []
    stencils: dict[tuple, _Stencil | None] = {}
    minted = tokens.BatchTokens()
    for row in pending:
        email_row = _new_row(row, template=template, category=category, priority=priority, campaign_id=campaign_id)
        if _fillable(row):
            shape = tuple(sorted((name, bool(value)) for name, value in row.own.items()))
            if shape not in stencils:
                stencils[shape] = _Stencil.build(email_row, filled=[n for n, full in shape if full])
            stencil = stencils[shape]
            if stencil is not None and stencil.fill(email_row, own=row.own, minted=minted):
                built.append(email_row)
                continue
        _render_into(email_row, subject="", text_body="", html_body="", extra_headers={}, attachments=[])
        built.append(email_row)
    return built


def _fillable(row: _Row) -> bool:
    """Whether a stencil can serve this recipient: her address and her own variables are plain
    text (see the module's docstring)."""
    if not _PLAIN_VALUE.fullmatch(row.email):
        return False
    return all(
        isinstance(value, str) and (not value or _PLAIN_VALUE.fullmatch(value)) and name.isidentifier()
        for name, value in row.own.items()
    )


class _Stencil:
    """One message rendered with placeholders, and the pieces of its MIME message around them."""

    def __init__(self, nonce: str):
        self.nonce = nonce
        self.pattern = re.compile(rf"b{nonce}s(\d+)z")
        self.names: list[str] = []

    def slot(self, name: str) -> str:
        if name not in self.names:
            self.names.append(name)
        return f"b{self.nonce}s{self.names.index(name)}z"

    def sub(self, text: str, values: list[str]) -> str:
        return self.pattern.sub(lambda match: values[int(match.group(1))], text)

    @classmethod
    def build(cls, sample: EmailQueue, *, filled: list[str]) -> _Stencil | None:
        """Render `sample`'s template once with placeholders; None when that is not possible
        (the single-email rendering then serves every recipient of this shape)."""
        stencil = cls(secrets.token_hex(6))
        try:
            stencil._render(sample, filled=filled)
        except Exception:  # any surprise in the stencil is a reason to render one by one
            logger.exception("bulk email: no stencil for %s; rendering one by one", sample.template_key)
            return None
        return stencil

    def _render(self, sample: EmailQueue, *, filled: list[str]) -> None:
        self.marketing = sample.category == EmailCategory.MARKETING
        self.tracked = self.marketing and sample.campaign_id is not None
        context = {
            "site_url": settings.SITE_URL,
            "site_name": "Bloom Psychology",
            "recipient_email": self.slot("email"),
            **sample.context,  # the shared context, and her empty variables as they are
        }
        for name in filled:
            context[name] = self.slot(f"own:{name}")
        headers = {"Message-ID": self.slot("message_id")}
        unsubscribe_url = ""
        if self.marketing:
            unsubscribe_url = absolute_url(reverse("notifications:unsubscribe", args=[self.slot("unsubscribe")]))
            mailto = f"mailto:unsubscribe@{rendering.message_id_domain()}?subject=unsubscribe"
            headers["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{mailto}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            context["unsubscribe_url"] = unsubscribe_url
        rendered = rendering.render_template(sample.template_key, context)
        html_source = rendered.html_body
        if not html_source.strip() and rendered.text_body.strip():
            html_source = rendering.text_as_html(subject=rendered.subject, text=rendered.text_body, context=context)
        html = rendering.inline_css(html_source)
        links: list[str] = []
        if self.tracked and html:
            html, links = rendering.add_tracking(
                html,
                link_url=lambda index: absolute_url(
                    reverse("notifications:track_click", args=[self.slot(f"click:{index}")])
                ),
                pixel_url=absolute_url(reverse("notifications:track_open", args=[self.slot("open")])),
                skip={unsubscribe_url},
            )
        self.subject, self.text, self.html, self.links = rendered.subject, rendered.text_body, html, links
        self.headers = headers
        for text in (self.subject, self.text, self.html, *self.links):
            # A filter that changed a placeholder (|upper, |truncatechars ...) leaves a piece of it.
            if len(re.findall(self.nonce, text, re.IGNORECASE)) != len(self.pattern.findall(text)):
                raise ValueError("the template changes a per-recipient variable")
        self.from_email = sample.from_email
        self.domain = rendering.message_id_domain()
        self._cut_mime(
            rendering.build_mime(
                subject=self.subject,
                text_body=self.text,
                html_body=self.html,
                from_email=self.from_email,
                to=self.slot("email"),
                headers=headers,
            )
        )
        # The first row is checked against the single-email rendering (see fill).
        self.checked = False
        self.broken = False

    def _cut_mime(self, mime: str) -> None:
        """Split the stencil's MIME message into fixed text, header lines to refold per recipient
        and body parts to encode per recipient; raise when it is not the shape expected."""
        head, _blank, body = mime.partition("\r\n\r\n")
        lines: list[str] = []
        for line in (head + "\r\n").split("\r\n")[:-1]:
            if line[:1] in (" ", "\t") and lines:
                lines[-1] += "\r\n" + line
            else:
                lines.append(line)
        values = {"Subject": self.subject, "From": self.from_email, "To": self.slot("email"), **self.headers}
        self.head: list[tuple[str, str | None]] = []  # (fixed line, None) or (name, value to fold)
        for line in lines:
            name = line.split(":", 1)[0]
            if self.pattern.search(line):
                if name not in values:
                    raise ValueError(f"placeholder in header {name}")
                self.head.append((name, values[name]))
            else:
                self.head.append((line + "\r\n", None))
        match = re.search(r'boundary="([^"]+)"', head)
        self.boundary = match.group(1) if match else None
        sources = [self.text, self.html] if self.html else [self.text]
        self.parts: list[tuple[str, str]] = []  # (text before the payload, transfer encoding)
        if self.boundary is None:
            self.parts.append(("", _transfer_encoding(head)))
            segments = [body]
            self.tail = ""
        else:
            pieces = body.split(f"--{self.boundary}")
            if len(pieces) != len(sources) + 2 or pieces[0] or pieces[-1] != "--\r\n":
                raise ValueError("unexpected multipart layout")
            segments = []
            for piece in pieces[1:-1]:
                cut = piece.index("\r\n\r\n") + 4
                if not piece.endswith("\r\n"):
                    raise ValueError("unexpected part ending")
                self.parts.append((piece[:cut], _transfer_encoding(piece[:cut])))
                segments.append(piece[cut:-2])
            self.tail = "--\r\n"
        # Per part: its lines, each encoded once when it has no placeholder (None: per recipient).
        self.lines: list[list[tuple[str, str | None]]] = []
        for (_prefix, encoding), source, segment in zip(self.parts, sources, segments, strict=True):
            if _encoding_for(source) != encoding or _payload(source, encoding) != segment:
                raise ValueError("the stencil's own payload does not encode as the message does")
            self.lines.append(
                [
                    (line, None if self.pattern.search(line) else _encoded_line(line, encoding))
                    for line in _NLCRE.split(source)
                ]
            )

    def fill(self, row: SimpleNamespace, *, own: dict, minted: tokens.BatchTokens) -> bool:
        """Fill `row` from the stencil for its recipient; False (row untouched) when her values
        would change the message's encoding or the check against the single-email way fails."""
        if self.broken:
            return False
        values = [""] * len(self.names)
        lookup = {name: index for index, name in enumerate(self.names)}
        message_id = make_msgid(domain=self.domain)
        filled = {
            "email": row.to_email,
            "message_id": message_id,
            "unsubscribe": minted.unsubscribe(email=row.to_email, email_id=row.id) if self.marketing else "",
            "open": minted.open(row.id) if self.tracked else "",
        }
        filled.update({f"own:{name}": value for name, value in own.items()})
        for name, index in lookup.items():
            if name.startswith("click:"):
                values[index] = minted.click(row.id, int(name.removeprefix("click:")))
            else:
                values[index] = filled[name]
        subject, text, html = self.sub(self.subject, values), self.sub(self.text, values), self.sub(self.html, values)
        sources = [text, html] if self.html else [text]
        encodings = [encoding for _prefix, encoding in self.parts]
        if any(_encoding_for(source) != encoding for source, encoding in zip(sources, encodings, strict=True)):
            return False
        headers = {name: self.sub(value, values) for name, value in self.headers.items()}
        payloads = [
            "\r\n".join(
                cached if cached is not None else _encoded_line(self.sub(line, values), encoding)
                for line, cached in lines
            )
            for lines, encoding in zip(self.lines, encodings, strict=True)
        ]
        boundary = _new_boundary(payloads) if self.boundary else None
        out = []
        for line, value in self.head:
            if value is None:
                out.append(line if boundary is None else line.replace(self.boundary, boundary))
            else:
                out.append(_header_line(line, self.sub(value, values)))
        out.append("\r\n")
        if boundary is None:
            out.append(payloads[0])
        else:
            for (prefix, _encoding), payload in zip(self.parts, payloads, strict=True):
                out.extend((f"--{boundary}", prefix, payload, "\r\n"))
            out.extend((f"--{boundary}", self.tail))
        row.subject, row.text_body, row.html_body = subject, text, html
        row.headers = headers
        row.tracked_links = [self.sub(link, values) for link in self.links]
        row.message_id = message_id
        row.mime_message = "".join(out)
        if not self.checked:
            self.checked = True
            if not _same_as_single(row):
                logger.warning("bulk email: the stencil differs from the single-email rendering; one by one")
                self.broken = True
                return False
        return True


def _transfer_encoding(headers: str) -> str:
    match = re.search(r"^Content-Transfer-Encoding: (\S+)", headers, re.MULTILINE)
    if match is None:
        raise ValueError("no Content-Transfer-Encoding")
    return match.group(1)


def _encoding_for(text: str) -> str:
    """The transfer encoding Django's SafeMIMEText gives a UTF-8 part with this text."""
    if any(len(line.encode(errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in text.splitlines()):
        return "quoted-printable"
    return "7bit" if text.isascii() else "8bit"


def _payload(text: str, encoding: str) -> str:
    """The part's body as the generator writes it (lines ended by CRLF), in `encoding`."""
    if encoding == "quoted-printable":
        text = quoprimime.body_encode(text.encode("utf-8").decode("latin1"))
    return "\r\n".join(_NLCRE.split(text))


def _encoded_line(line: str, encoding: str) -> str:
    """One line of a part's body in `encoding` (quoted-printable works line by line)."""
    if encoding == "quoted-printable":
        return quoprimime.body_encode(line.encode("utf-8").decode("latin1")).replace("\n", "\r\n")
    return line


def _new_boundary(payloads: list[str]) -> str:
    """A fresh multipart boundary, of the kind and length the email package makes, in no payload."""
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):0{_BOUNDARY_WIDTH}d}" + "=="  # noqa: S311 - not a secret
        if not any(f"--{boundary}" in payload for payload in payloads):
            return boundary


_LIST_HEADER = re.compile(r"<([^<>\s,;]+)>, <([^<>\s,;]+)>")


def _header_line(name: str, value: str) -> str:
    """One header as Django's message and the generator write it (folded, CRLF-ended).

    Plain ASCII values take a short cut where the folding is known: a line that fits is not
    folded, and a two-link List-Unsubscribe too long for one line puts each link on its own.
    """
    if value.isascii() and value == " ".join(value.split()):
        if len(name) + 2 + len(value) <= _POLICY.max_line_length - 2:
            return f"{name}: {value}\r\n"
        links = _LIST_HEADER.fullmatch(value)
        limit = _POLICY.max_line_length
        if (
            name == "List-Unsubscribe"
            and links
            and len(name) + 2 + len(links.group(1)) + 3 > limit
            and len(links.group(1)) + 4 + len(links.group(2)) + 3 > limit
        ):
            return f"{name}: \r\n <{links.group(1)}>,\r\n <{links.group(2)}>\r\n"
    name, value = forbid_multi_line_headers(name, value, settings.DEFAULT_CHARSET)
    return _POLICY.fold_binary(name, value).decode("ascii")


def _same_as_single(row: SimpleNamespace) -> bool:
    """Whether the single-email rendering of `row` gives what the stencil gave (the same tokens,
    made in the same second, and the same Message-ID; boundaries aside)."""
    twin = EmailQueue(
        id=row.id,
        to_email=row.to_email,
        from_email=row.from_email,
        template_key=row.template_key,
        context=row.context,
        category=row.category,
        priority=row.priority,
        campaign_id=row.campaign_id,
    )
    _render_into(twin, subject="", text_body="", html_body="", extra_headers={}, attachments=[])
    message_id = twin.headers["Message-ID"]
    twin_mime = twin.mime_message.replace(message_id, row.message_id)
    boundary = re.search(r'boundary="([^"]+)"', row.mime_message)
    twin_boundary = re.search(r'boundary="([^"]+)"', twin_mime)
    if bool(boundary) != bool(twin_boundary):
        return False
    if boundary:
        twin_mime = twin_mime.replace(twin_boundary.group(1), boundary.group(1))
    return (
        twin.subject == row.subject
        and twin.text_body == row.text_body
        and twin.html_body == row.html_body
        and twin.tracked_links == row.tracked_links
        and {**twin.headers, "Message-ID": row.message_id} == row.headers
        and twin_mime == row.mime_message
    )


# (column, PostgreSQL type) of what a bulk row sets; the rest take their database defaults.
_QUEUE_COLUMNS = (
    ("id", "uuid"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("to_email", "text"),
    ("from_email", "text"),
    ("subject", "text"),
    ("text_body", "text"),
    ("html_body", "text"),
    ("headers", "jsonb"),
    ("mime_message", "text"),
    ("template_key", "text"),
    ("context", "jsonb"),
    ("tracked_links", "jsonb"),
    ("category", "text"),
    ("priority", "smallint"),
    ("scheduled_at", "timestamptz"),
    ("idempotency_key", "text"),
    ("last_error", "text"),
    ("message_id", "text"),
    ("campaign_id", "uuid"),
)


_LZ4: dict[str, bool] = {}


def _lz4_available(cursor) -> bool:
    """Whether this PostgreSQL was built with lz4 (asked once per database alias)."""
    if connection.alias not in _LZ4:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        found = cursor.fetchone()
        _LZ4[connection.alias] = bool(found and found[0])
    return _LZ4[connection.alias]


def _insert(rows: list[SimpleNamespace], *, now, campaign_id) -> int:
    """Insert the rows in one statement (one array per column, ON CONFLICT DO NOTHING: a key
    queued meanwhile is skipped) and, for campaign mail, a metrics row for each row really
    inserted; returns how many were inserted."""
    if not rows:
        return 0
    columns = {
        "id": [row.id for row in rows],
        "created_at": [now] * len(rows),
        "updated_at": [now] * len(rows),
        "to_email": [row.to_email for row in rows],
        "from_email": [row.from_email for row in rows],
        "subject": [row.subject for row in rows],
        "text_body": [row.text_body for row in rows],
        "html_body": [row.html_body for row in rows],
        "headers": [json.dumps(row.headers) for row in rows],
        "mime_message": [row.mime_message for row in rows],
        "template_key": [row.template_key for row in rows],
        "context": [json.dumps(row.context) for row in rows],
        "tracked_links": [json.dumps(row.tracked_links) for row in rows],
        "category": [str(row.category) for row in rows],
        "priority": [int(row.priority) for row in rows],
        "scheduled_at": [row.scheduled_at for row in rows],
        "idempotency_key": [row.idempotency_key for row in rows],
        "last_error": [""] * len(rows),
        "message_id": [row.message_id for row in rows],
        "campaign_id": [row.campaign_id for row in rows],
    }
    names = ", ".join(name for name, _type in _QUEUE_COLUMNS)
    arrays = ", ".join(f"%b::{'text' if kind == 'jsonb' else kind}[]" for _name, kind in _QUEUE_COLUMNS)
    select = ", ".join(f"{name}::jsonb" if kind == "jsonb" else name for name, kind in _QUEUE_COLUMNS)
    connection.ensure_connection()
    with transaction.atomic(), psycopg.Cursor(connection.connection) as cursor:
        if _lz4_available(cursor):
            # Large bodies compress several times faster with lz4 than with the default pglz;
            # readers cannot tell (PostgreSQL records the method with each value).
            cursor.execute("SET LOCAL default_toast_compression = lz4")
        # A cursor of its own (in Django's transaction): parameters bound on the server, arrays in
        # binary, so 500 rows of text cost no quoting and no parsing of one huge statement.
        cursor.execute(
            f"INSERT INTO {EmailQueue._meta.db_table} ({names}) SELECT {select} FROM unnest({arrays}) "  # noqa: S608 - fixed names
            f"AS batch({names}) ON CONFLICT DO NOTHING RETURNING id",
            [columns[name] for name, _kind in _QUEUE_COLUMNS],
        )
        ids = {found for (found,) in cursor.fetchall()}
        inserted = [row for row in rows if row.id in ids]
        if campaign_id and inserted:
            cursor.execute(
                f"INSERT INTO {EmailCampaignMetric._meta.db_table} (id, campaign_id, email_id, recipient_email) "  # noqa: S608
                "SELECT gen_random_uuid(), %b, email_id, recipient_email "
                "FROM unnest(%b::uuid[], %b::text[]) AS batch(email_id, recipient_email) ON CONFLICT DO NOTHING",
                [campaign_id, [row.id for row in inserted], [row.to_email for row in inserted]],
            )
    return len(inserted)
