"""The progress bar management commands draw for long work (STYLE.md: progress, then a summary)."""

from __future__ import annotations


def progress_bar(done: int, total: int, *, width: int = 20, empty: str = ".") -> str:
    """`[#####...............]`: the share of `total` that is `done`, `width` characters wide
    between the brackets (full when `total` is 0: nothing was left to do)."""
    filled = width if not total else min(width, width * done // total)
    return "[" + "#" * filled + empty * (width - filled) + "]"
