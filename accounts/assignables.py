"""What a clinician can suggest to a client: higher apps register each kind in AppConfig.ready().

accounts stores the suggestion (`care_assignments`) but may not import courses or workshops, so
each of them registers, per kind:

- `choices()`: (id, label) pairs staff pick from (published items only);
- `describe(member, ids)`: id -> `AssignedItem` (title, link, her progress in words, finished?),
  in a fixed number of queries whatever the number of ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AssignedItem:
    title: str
    url: str
    progress: str
    finished: bool = False


@dataclass(frozen=True)
class Assignable:
    kind: str
    choices: Callable[[], list[tuple[object, str]]]
    describe: Callable[..., dict]


_assignables: dict[str, Assignable] = {}


def register_assignable(assignable: Assignable) -> None:
    _assignables[assignable.kind] = assignable


def assignable_get(kind: str) -> Assignable | None:
    return _assignables.get(kind)


def assignable_list() -> list[Assignable]:
    return list(_assignables.values())
