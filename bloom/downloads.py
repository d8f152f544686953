"""Responses that hand over a file (a PDF, a calendar, a CSV): one way to name it.

The browser shows an `inline` file (a Good Faith Estimate, a calendar feed) and saves any
other under `filename`.
"""

from __future__ import annotations

from django.http import HttpResponse


def file_response(content: bytes | str, *, content_type: str, filename: str, inline: bool = False) -> HttpResponse:
    """`content` as a file called `filename` (the Content-Disposition header)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response
