"""What every PDF Bloom makes shares (reportlab): the ink colours, the margin, and a page
cursor that starts a new page when the next line would not fit.

Used by the wellness summary (accounts/wellness_pdf.py), the session receipts and
superbills (appointments/documents.py), the Good Faith Estimate (appointments/gfe.py) and the
course certificate (courses/certificates.py)."""

from __future__ import annotations

import io
import textwrap

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

INK = HexColor("#1f2a37")
MUTED = HexColor("#4b5563")
ACCENT = HexColor("#7a3e6b")
MARGIN = 54


def pdf_document(
    *, title: str, author: str, pagesize: tuple[float, float] = letter
) -> tuple[io.BytesIO, canvas.Canvas]:
    """A new canvas drawing into a buffer: `invariant` (the same input gives the same bytes) and
    uncompressed pages (tests can read the text). Close it with `pdf_finish`."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=pagesize, invariant=1, pageCompression=0)
    pdf.setTitle(title)
    pdf.setAuthor(author)
    return buffer, pdf


def pdf_finish(buffer: io.BytesIO, pdf: canvas.Canvas, *, footer: str | None = None) -> bytes:
    """End the last page (with `footer` in small muted type under the bottom margin) and
    return the document's bytes."""
    if footer is not None:
        pdf.setFont("Helvetica", 8)
        pdf.setFillColor(MUTED)
        pdf.drawString(MARGIN, MARGIN - 20, footer)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


class PdfPages:
    """A canvas with a cursor (`y`, from the top) that starts a new page when the next line
    would not fit."""

    def __init__(self, pdf: canvas.Canvas, height: float) -> None:
        self.pdf, self.height, self.y = pdf, height, height - MARGIN

    def need(self, space: float) -> None:
        if self.y - space < MARGIN:
            self.pdf.showPage()
            self.y = self.height - MARGIN

    def line(
        self, text: str, *, font: str = "Helvetica", size: float = 10, x: float = MARGIN, gap: float = 14, colour=INK
    ) -> None:
        self.need(gap)
        self.pdf.setFont(font, size)
        self.pdf.setFillColor(colour)
        self.pdf.drawString(x, self.y, text)
        self.y -= gap

    def wrapped(self, text: str, *, width: int = 95, **kwargs) -> None:
        for part in textwrap.wrap(text, width) or [""]:
            self.line(part, **kwargs)

    def row(self, cells: list[tuple[str, float]], *, font: str = "Helvetica", size: float = 9, gap: float = 13) -> None:
        """Cells at x offsets from the margin; a negative offset right-aligns the cell there."""
        self.need(gap)
        self.pdf.setFont(font, size)
        self.pdf.setFillColor(INK)
        for text, dx in cells:
            if dx < 0:
                self.pdf.drawRightString(MARGIN - dx, self.y, text)
            else:
                self.pdf.drawString(MARGIN + dx, self.y, text)
        self.y -= gap
