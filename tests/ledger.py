"""Helpers for tests that read the event ledger (tests/bloom, tests/billing, tests/courses)."""

from __future__ import annotations

import pytest

from bloom.ledger import LedgerEvent, ledger_drift_list


def events_of(row) -> list[tuple[str, str | None, str | None]]:
    """(kind, from_state, to_state) of a row's events, oldest first."""
    return list(
        LedgerEvent.objects.filter(entity_table=row._meta.db_table, entity_id=row.pk)
        .order_by("id")
        .values_list("kind", "from_state", "to_state")
    )


@pytest.fixture(autouse=True)
def _ledger_has_no_drift_after_each_test(request):
    """After every database test of the suite that uses it: the ledger agrees with every tracked row.

    Requesting the database fixture here makes this check run before the test's rollback.
    """
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        yield
        return
    request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    yield
    drift = ledger_drift_list()
    assert not drift, "ledger drift after the test:\n" + "\n".join(map(str, drift))
