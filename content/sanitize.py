"""HTML that staff write (blog posts, campaigns, job postings) is cleaned with nh3 (docs/adr/0071).

Cleaning runs when staff save and again when a page renders, so a row written some other
way (SQL, an import) still cannot put script on the public site.
"""

import html
import re

import nh3

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# Tags whose content must go too (the text of a script is not prose).
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template"}


def sanitize_html(value: str | None) -> str:
    """Return `value` with only the allowed tags, attributes and URL schemes left."""
    if not value:
        return ""
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML fragment (for word counts and text email bodies)."""
    if not value:
        return ""
    spaced = _BLOCK_END.sub(lambda match: match.group(0) + "\n", value)
    text = nh3.clean(spaced, tags=set(), clean_content_tags=DROP_WITH_CONTENT)
    return html.unescape(text).strip()


_BLOCK_END = re.compile(r"</(p|h[1-6]|li|blockquote|div|tr)>|<br\s*/?>", re.IGNORECASE)
