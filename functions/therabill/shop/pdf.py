"""The receipt PDF (fpdf2, imported only here and in the invoice PDF): the practice, the date, each
item with quantity and price, HSA/FSA-eligible items marked, the totals and the card. The fonts are
the ones the invoice PDF ships (Lambda has no system fonts)."""

from __future__ import annotations

from pathlib import Path

from therabill.practices.models import Practice
from therabill.shop.models import Order
from therabill.shop.wording import card_text, line_text, totals

# The invoice capability's bundled fonts (read as files: no import of that capability).
FONTS = Path(__file__).parent.parent / "invoices" / "fonts"


def render(practice: Practice, party_name: str, order: Order, day: str) -> bytes:
    from fpdf import FPDF  # noqa: PLC0415 - fpdf2 is heavy, loaded only to render a PDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(f"Receipt {order.id}")
    pdf.set_author(practice.name)
    pdf.set_creator("Therabill")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_page()

    def para(text: str, size: float = 10) -> None:
        pdf.set_font("DejaVu", size=size)
        pdf.multi_cell(pdf.epw, 5.5, text, new_x="LMARGIN", new_y="NEXT")

    para(f"Receipt — order {order.id}", size=16)
    for text in (*practice.contact_lines(), "", f"Billed to: {party_name}", f"Date: {day}", ""):
        para(text)
    for line in order.lines:
        para(line_text(order, line))
    para("")
    for text in (*totals(order), card_text(order)):
        para(text)
    return bytes(pdf.output())
