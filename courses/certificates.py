"""The certificate PDF (reportlab, docs/adr/0041) with a QR code (qrcode) to the public verification page."""

from __future__ import annotations

import qrcode
from django.urls import reverse
from django.utils import timezone
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import landscape, letter
from reportlab.pdfgen import canvas

from bloom.links import absolute_url
from bloom.pdf import pdf_document, pdf_finish

from .models import CourseCertificate

INK = HexColor("#2f3a4a")
ACCENT = HexColor("#8a5a83")


def certificate_verify_url(certificate: CourseCertificate) -> str:
    path = reverse("courses:certificate_verify", args=[certificate.verification_code])
    return absolute_url(path)


def _draw_qr(pdf: canvas.Canvas, data: str, *, x: float, y: float, size: float) -> None:
    """Draw the QR code as vector squares (no image library needed, crisp at any zoom)."""
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    cell = size / len(matrix)
    pdf.setFillColor(INK)
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if dark:
                pdf.rect(x + col_index * cell, y + size - (row_index + 1) * cell, cell, cell, stroke=0, fill=1)


def certificate_pdf(*, certificate: CourseCertificate) -> bytes:
    """A one-page landscape certificate: name, course, completion date, code, QR to the verify URL."""
    width, height = landscape(letter)
    buffer, pdf = pdf_document(
        title=f"Certificate of completion: {certificate.course.title}",
        author="Bloom Psychology",
        pagesize=(width, height),
    )

    pdf.setStrokeColor(ACCENT)
    pdf.setLineWidth(3)
    pdf.rect(30, 30, width - 60, height - 60)
    pdf.setLineWidth(0.8)
    pdf.rect(40, 40, width - 80, height - 80)

    pdf.setFillColor(ACCENT)
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawCentredString(width / 2, height - 100, "BLOOM PSYCHOLOGY")
    pdf.setFillColor(INK)
    pdf.setFont("Times-Bold", 34)
    pdf.drawCentredString(width / 2, height - 160, "Certificate of Completion")
    pdf.setFont("Helvetica", 14)
    pdf.drawCentredString(width / 2, height - 205, "This certifies that")
    pdf.setFont("Times-BoldItalic", 30)
    pdf.drawCentredString(width / 2, height - 250, certificate.certificate_name)
    pdf.setFont("Helvetica", 14)
    pdf.drawCentredString(width / 2, height - 290, "has completed the course")
    pdf.setFont("Times-Bold", 22)
    pdf.drawCentredString(width / 2, height - 325, certificate.course.title[:80])
    completed = timezone.localtime(certificate.completed_at).strftime("%B %-d, %Y")
    pdf.setFont("Helvetica", 12)
    pdf.drawCentredString(width / 2, height - 360, f"Completed on {completed}")

    url = certificate_verify_url(certificate)
    _draw_qr(pdf, url, x=70, y=60, size=96)
    pdf.setFont("Helvetica", 9)
    pdf.drawString(180, 110, "Verify this certificate:")
    pdf.drawString(180, 96, url)
    pdf.drawString(180, 82, f"Code: {certificate.verification_code}")
    return pdf_finish(buffer, pdf)
