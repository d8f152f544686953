"""Turning a template key or given bodies into the final subject, text, HTML and MIME message.

Everything expensive happens here, at queue time, so the drain only sends (ARCHITECTURE.md
speed notes). Template lookup: an `email_templates` row with the key, else the files
`templates/emails/<key>.subject.txt`, `.txt` and `.html`.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.utils import make_msgid, parseaddr

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context, TemplateDoesNotExist, TemplateSyntaxError, engines
from django.template.base import FilterExpression, Node, Variable, VariableNode
from django.template.defaulttags import ForNode, IfNode, WithNode
from django.template.loader import get_template
from django.template.loader_tags import BlockNode, ExtendsNode, IncludeNode

from .models import EmailTemplate
from .registry import GLOBAL_TEMPLATE_VARIABLES, email_template_key

_inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)


class TemplateNotFound(Exception):
    pass


@dataclass
class RenderedEmail:
    subject: str
    text_body: str
    html_body: str
    tracked_links: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TemplateSources:
    subject: str
    text: str
    html: str
    from_database: bool


def message_id_domain() -> str:
    configured = getattr(settings, "BLOOM_EMAIL_DOMAIN", "")
    if configured:
        return configured
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rsplit("@", 1)[-1] if "@" in address else "bloompsychology.example"


def make_message_id() -> str:
    return make_msgid(domain=message_id_domain())


def _file_source(name: str) -> str | None:
    try:
        return get_template(name).template.source
    except TemplateDoesNotExist:
        return None


def template_sources(key: str, *, include_database: bool = True) -> TemplateSources:
    """The subject/text/html sources of a template key (database row first, then files)."""
    if include_database:
        row = EmailTemplate.objects.filter(key=key).first()
        if row is not None:
            return TemplateSources(row.subject, row.text_template, row.html_template, True)
    subject = _file_source(f"emails/{key}.subject.txt")
    text = _file_source(f"emails/{key}.txt")
    html = _file_source(f"emails/{key}.html")
    if subject is None or (text is None and html is None):
        raise TemplateNotFound(f"No email template {key!r} (database or templates/emails/{key}.*)")
    return TemplateSources(subject, text or "", html or "", False)


def _render(source: str, context: dict, *, autoescape: bool) -> str:
    template = engines["django"].from_string(source)
    return template.template.render(Context(context, autoescape=autoescape))


def _render_file(name: str, context: dict, *, autoescape: bool) -> str:
    return get_template(name).template.render(Context(context, autoescape=autoescape))


def _clean_subject(subject: str) -> str:
    return " ".join(subject.split())


def render_template(key: str, context: dict) -> RenderedEmail:
    """Render a template key; file templates render from files so `{% extends %}` works."""
    row = EmailTemplate.objects.filter(key=key).first()
    if row is not None:
        return RenderedEmail(
            subject=_clean_subject(_render(row.subject, context, autoescape=False)),
            text_body=_render(row.text_template, context, autoescape=False).strip() + "\n",
            html_body=_render(row.html_template, context, autoescape=True) if row.html_template.strip() else "",
        )
    sources = template_sources(key, include_database=False)
    return RenderedEmail(
        subject=_clean_subject(_render_file(f"emails/{key}.subject.txt", context, autoescape=False)),
        text_body=(_render_file(f"emails/{key}.txt", context, autoescape=False).strip() + "\n") if sources.text else "",
        html_body=_render_file(f"emails/{key}.html", context, autoescape=True) if sources.html else "",
    )


def render_given(*, subject: str, text_body: str, html_body: str) -> RenderedEmail:
    return RenderedEmail(subject=_clean_subject(subject), text_body=text_body, html_body=html_body)


def text_as_html(*, subject: str, text: str, context: dict) -> str:
    """The Bloom HTML layout around a plain-text body, for system emails that ship no HTML part."""
    return _render_file(
        "emails/_from_text.html", {**context, "email_subject": subject, "email_text": text.strip()}, autoescape=True
    )


def inline_css(html: str) -> str:
    return _inliner.inline(html) if html else ""


def add_tracking(html: str, *, link_url, pixel_url: str, skip: set[str]) -> tuple[str, list[str]]:
    """Rewrite http(s) links to signed click links and add an open pixel.

    `link_url(index)` builds the click URL for the index-th distinct destination; the click
    view only ever redirects to a destination stored with the email.
    """
    links: list[str] = []

    def rewrite(match: re.Match) -> str:
        target = match.group(3)
        if target in skip:
            return match.group(0)
        if target not in links:
            links.append(target)
        return f"{match.group(1)}{match.group(2)}{link_url(links.index(target))}{match.group(2)}"

    html = _HREF.sub(rewrite, html)
    pixel = f'<img src="{pixel_url}" width="1" height="1" alt="" style="display:block;border:0">'
    if re.search(r"</body>", html, re.IGNORECASE):
        html = re.sub(r"</body>", pixel + "</body>", html, count=1, flags=re.IGNORECASE)
    else:
        html += pixel
    return html, links


# One file carried by an outbox email: (filename, content, MIME type), as Django's attach() takes it.
Attachment = tuple[str, str | bytes, str]


def email_message(
    *,
    subject: str,
    text_body: str,
    html_body: str,
    from_email: str,
    to: str,
    headers: dict,
    attachments: list[Attachment] | tuple[Attachment, ...] = (),
) -> EmailMultiAlternatives:
    """One outbox email as a Django message: text, an HTML alternative when there is one, our
    headers and any attachments (then multipart/mixed around the alternatives).

    `build_mime` (at queue time) and the drain (for every backend but the SMTP fast path) both
    start from this, so the stored bytes and a message built at send time say the same thing.
    """
    message = EmailMultiAlternatives(subject, text_body, from_email, [to], headers=dict(headers))
    if html_body:
        message.attach_alternative(html_body, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    return message


def build_mime(
    *,
    subject: str,
    text_body: str,
    html_body: str,
    from_email: str,
    to: str,
    headers: dict,
    attachments: list[Attachment] | tuple[Attachment, ...] = (),
) -> str:
    """The whole MIME message without its Date header (the drain stamps Date when it sends)."""
    message = email_message(
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        from_email=from_email,
        to=to,
        headers=headers,
        attachments=attachments,
    )
    mime = message.message()
    del mime["Date"]
    return mime.as_bytes(linesep="\r\n").decode("utf-8")


def mime_attachments(mime: str) -> list[Attachment]:
    """The attachments of a stored MIME message, as `email_message` takes them.

    The stored message is where an outbox row keeps its files (docs/adr/0211): the drain hands
    them to every backend that is given a rebuilt message, so console, file, locmem and ESP
    backends send what the SMTP fast path sends. A message without attachments is not parsed.
    """
    if not mime or "attachment" not in mime:
        return []
    parsed = email.message_from_string(mime, policy=email.policy.default)
    found: list[Attachment] = []
    for part in parsed.iter_attachments() if parsed.is_multipart() else ():
        content = part.get_content()
        mimetype = part.get_content_type()
        found.append((part.get_filename() or "attachment", content, mimetype))
    return found


# --- Strict validation of staff-edited templates -------------------------------------------------


def allowed_variables(key: str) -> set[str] | None:
    """The variables a key may use: declared in the registry, else those its file default uses.

    None when the key is neither registered nor has file defaults (anything goes is not an
    option: the admin refuses such a key).
    """
    declared = email_template_key(key)
    if declared is not None:
        return set(declared.sample_context) | set(GLOBAL_TEMPLATE_VARIABLES)
    try:
        sources = template_sources(key, include_database=False)
    except TemplateNotFound:
        return None
    names: set[str] = set()
    for source in (sources.subject, sources.text, sources.html):
        names |= template_variables(source)
    return names | set(GLOBAL_TEMPLATE_VARIABLES)


def sample_context(key: str) -> dict:
    declared = email_template_key(key)
    context = dict(GLOBAL_TEMPLATE_VARIABLES)
    if declared is not None:
        context.update(declared.sample_context)
        return context
    for name in allowed_variables(key) or set():
        context.setdefault(name, f"[{name}]")
    return context


def _expression_names(expression) -> set[str]:
    names: set[str] = set()
    if isinstance(expression, FilterExpression):
        names |= _expression_names(expression.var)
        for _func, args in expression.filters:
            for is_lookup, arg in args:
                if is_lookup:
                    names |= _expression_names(arg)
    elif isinstance(expression, Variable) and expression.lookups:
        names.add(expression.lookups[0])
    return names


def _condition_names(condition) -> set[str]:
    names: set[str] = set()
    for attr in ("value", "first", "second"):
        part = getattr(condition, attr, None)
        if part is None:
            continue
        if isinstance(part, FilterExpression):
            names |= _expression_names(part)
        else:
            names |= _condition_names(part)
    return names


def _walk(nodes, scope: frozenset[str], found: set[str]) -> None:
    for node in nodes:
        if isinstance(node, VariableNode):
            found |= _expression_names(node.filter_expression) - scope
        elif isinstance(node, ForNode):
            found |= _expression_names(node.sequence) - scope
            inner = scope | set(node.loopvars) | {"forloop"}
            _walk(node.nodelist_loop, frozenset(inner), found)
            _walk(node.nodelist_empty, scope, found)
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                if condition is not None:
                    found |= _condition_names(condition) - scope
                _walk(nodelist, scope, found)
        elif isinstance(node, WithNode):
            for value in node.extra_context.values():
                found |= _expression_names(value) - scope
            _walk(node.nodelist, frozenset(scope | set(node.extra_context)), found)
        elif isinstance(node, ExtendsNode | BlockNode):
            _walk(node.nodelist, scope, found)
        elif isinstance(node, IncludeNode):
            continue
        elif isinstance(node, Node):
            for attr in node.child_nodelists:
                _walk(getattr(node, attr, None) or [], scope, found)
            for value in getattr(node, "extra_context", {}).values():
                found |= _expression_names(value) - scope


def template_variables(source: str) -> set[str]:
    """Top-level context names a template reads. Raises TemplateSyntaxError on a syntax error."""
    template = engines["django"].from_string(source).template
    found: set[str] = set()
    _walk(template.nodelist, frozenset(), found)
    return found


def template_errors(key: str, *, subject: str, text: str, html: str) -> list[str]:
    """Problems that must stop a staff-edited template from being saved (empty when it is fine)."""
    allowed = allowed_variables(key)
    if allowed is None:
        return [f"Unknown template key {key!r}: it has no registered variables and no file default."]
    errors = []
    for label, source in (("subject", subject), ("text", text), ("html", html)):
        try:
            used = template_variables(source)
        except TemplateSyntaxError as exc:
            errors.append(f"The {label} template has a syntax error: {exc}")
            continue
        unknown = sorted(used - allowed)
        if unknown:
            errors.append(
                f"The {label} template uses unknown variable(s): {', '.join(unknown)}. "
                f"Allowed: {', '.join(sorted(allowed))}."
            )
    return errors
