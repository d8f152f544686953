"""The admin home, "what needs me today": cards each app declares, shown by permission.

`bloom` may not import the apps, so each app lists its cards in `<app>/admin_home.py` as
`CARDS` (found through `bloom.discovery`, like `demo.py` and `retention.py`). A card names the
Django permission a reader needs (`perms.<app>.view_<model>`, never a role name, so it follows
whatever the roles grant) and a `lines` callable that reads what needs doing in ONE query,
whatever the amount of data: an aggregate with FILTER, or one bounded list. The home page
runs one query per card the reader may see (the test pins the count).

A line is a count (or, for a list, none), words in staff language and a link to the list
that shows exactly those rows: a changelist with filters that exist on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from bloom.discovery import local_app_modules

EMPTY_STATE = "Nothing needs you right now."


@dataclass(frozen=True)
class Line:
    """One thing to see: `count` rows (None for an item of a list), what they are, where they are."""

    label: str
    url: str
    count: int | None = None


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    permission: str  # "app_label.codename"; the card is left out for a reader without it
    lines: Callable[..., list[Line]]  # lines(request) -> lines; one query
    order: int = 100
    # Lines with a count of zero are dropped; a card with no line left is not shown.


@dataclass(frozen=True)
class ShownCard:
    card: Card
    lines: list[Line] = field(default_factory=list)


def changelist_url(app_label: str, model_name: str, **filters) -> str:
    """The admin changelist of a model, narrowed by `filters` (querystring parameters of its list_filter)."""
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def counted_lines(queryset, parts: list[tuple[Q, str, dict]]) -> list[Line]:
    """Count several slices of `queryset` in one aggregate query (COUNT ... FILTER), a line each.

    A part is (condition, label, filters): `label` may say {n}; the line links to the model's
    changelist narrowed by `filters` (querystring parameters of filters that exist on it)."""
    opts = queryset.model._meta
    counts = queryset.aggregate(**{f"part{i}": Count("pk", filter=part[0]) for i, part in enumerate(parts)})
    return [
        Line(
            label=label.format(n=counts[f"part{i}"]),
            url=changelist_url(opts.app_label, opts.model_name, **filters),
            count=counts[f"part{i}"],
        )
        for i, (_, label, filters) in enumerate(parts)
    ]


@cache
def card_list() -> tuple[Card, ...]:
    """Every app's cards, by `order` (then key)."""
    found = [card for _, module in local_app_modules("admin_home") for card in getattr(module, "CARDS", ())]
    return tuple(sorted(found, key=lambda card: (card.order, card.key)))


def admin_home_list(*, request) -> list[ShownCard]:
    """The cards `request.user` may see that have something in them, each with its non-empty lines.

    One query per card the reader has the permission for (and none for the others), so the page
    costs the same with ten rows or a million. An empty list means nothing needs the reader.
    """
    shown = []
    for card in card_list():
        if not request.user.has_perm(card.permission):
            continue
        lines = [line for line in card.lines(request) if line.count is None or line.count > 0]
        if lines:
            shown.append(ShownCard(card=card, lines=lines))
    return shown


# --- Webhook events: one card per provider, declared by the provider's app -------------------


def webhook_card(provider, *, order: int) -> Card:
    """The card of one provider's webhook events: failed ones (an error stored, not applied) and
    ones waiting longer than the sweep's threshold (their wake-up was lost)."""
    from bloom.admin_webhooks import WEBHOOK_STATES

    opts = provider.model._meta

    def lines(request) -> list[Line]:
        now = timezone.now()
        parts = [(condition(now), f"{{n}} {label}", {"state": state}) for state, label, condition in WEBHOOK_STATES]
        return counted_lines(provider.model.objects.filter(processed=False), parts)  # indexed: few rows

    title = f"{provider.name.capitalize()} webhook events"
    return Card(f"webhooks-{provider.name}", title, f"{opts.app_label}.view_{opts.model_name}", lines, order=order)


def local_day_bounds(*, now=None) -> tuple:
    """Midnight to midnight of today in the reader's time zone (the request's active zone)."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    start = timezone.localtime(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)  # wall-clock arithmetic in the zone: right across DST
