"""A small PDF manual the source-view tests share (kb service, web, Chromium): one section per
page, so each chunk carries a heading path and a page number.

Imported by name (``from source_files import ...``): pytest puts ``tests/`` on the path for the
conftest beside this file.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

PAGES = [
    ("1 Charging", "The dock must stand on a flat floor, away from stairs."),
    ("2 Battery", "The battery lasts 120 minutes on carpet and 150 on hard floors."),
    ("3 Storage", "Charge the battery fully before storing the robot for a month."),
    ("4 Returns", "Unused robots can be returned within seven days of delivery."),
    ("5 Repairs", "Repairs under warranty are free for the first two years."),
]


def manual_pdf(pages: list[tuple[str, str]] = PAGES) -> bytes:
    """A real PDF, one heading and one paragraph per page."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    for heading, text in pages:
        pdf.setFont("Helvetica-Bold", 16)
        pdf.drawString(72, 780, heading)
        pdf.setFont("Helvetica", 11)
        pdf.drawString(72, 750, text)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()
