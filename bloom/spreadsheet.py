"""CSV text for staff exports that a spreadsheet opens safely (subscribers, campaigns, reports)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a leading =, +, -, @ is quoted)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """`header` then each row, every cell through `csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()
