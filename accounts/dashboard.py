"""Dashboard panels: higher apps (courses, workshops ...) register what they show.

accounts owns the dashboard page but may not import the apps above it, so each of them
registers a panel in its AppConfig.ready():

    register_panel(DashboardPanel(key="courses", title="Your courses", order=10,
                                  template="courses/_dashboard_panel.html",
                                  context=lambda member: {...}))

A panel's `context` callable gets the member and returns the template context; it must
use a fixed number of queries (the dashboard pins its count). A context with `hidden: True`
leaves the panel out (nothing to show and no empty state worth a card).
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DashboardPanel:
    key: str
    title: str
    template: str
    context: Callable[..., dict]
    order: int = 100


_panels: dict[str, DashboardPanel] = {}


def register_panel(panel: DashboardPanel) -> None:
    _panels[panel.key] = panel


def panels() -> list[DashboardPanel]:
    return sorted(_panels.values(), key=lambda p: p.order)
