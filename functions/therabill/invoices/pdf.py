"""The invoice PDF (fpdf2, imported only here): the practice, the payer, the lines, the payments,
the balance, and how to pay online (the page, the invoice number and the access code).

Fonts ship with the code (``fonts/``; Lambda has no system fonts): DejaVu Sans for Latin, Greek
and Cyrillic, Droid Sans Fallback for CJK, so any name renders. No clinical detail is printed:
lines say "Session", "Copay", a fee or what staff typed for a standalone line.
"""

from __future__ import annotations

from pathlib import Path

from therabill.core.money import Money
from therabill.invoices.models import Invoice
from therabill.practices.models import Practice

FONTS = Path(__file__).parent / "fonts"
_CJK_START = 0x2E80  # CJK radicals onwards: DejaVu Sans has none of them
_STATUS = {
    "draft": "Draft",
    "sending": "Open",
    "open": "Open",
    "paid": "Paid",
    "overdue": "Overdue",
    "void": "Void",
    "uncollectible": "Uncollectible",
}


def _amount(money: Money) -> str:
    return money.format()


def render(practice: Practice, payer_name: str, invoice: Invoice, pay_url: str) -> bytes:  # noqa: PLR0915 - long: the page drawn top to bottom
    from fpdf import FPDF  # noqa: PLC0415 - fpdf2 is heavy, loaded only to render a PDF
    from fpdf.enums import XPos, YPos  # noqa: PLC0415 - fpdf2 is heavy, loaded only to render a PDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author(practice.name)
    pdf.set_creator("Therabill")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    texts = [practice.name, practice.email, payer_name, invoice.memo, *(x.description for x in invoice.lines)]
    if any(ord(ch) >= _CJK_START for text in texts for ch in text):  # loading it costs ~0.7 s
        pdf.add_font("Fallback", "", str(FONTS / "DroidSansFallback.ttf"))
        pdf.set_fallback_fonts(["Fallback"], exact_match=False)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: float = 10, height: float = 5.5) -> None:
        pdf.set_font("DejaVu", size=size)
        pdf.multi_cell(width, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def row(cells: list[tuple[str, float, str]], size: float = 10) -> None:
        pdf.set_font("DejaVu", size=size)
        for text, w, align in cells:
            pdf.cell(w, 6.5, text, border="B", align=align)
        pdf.ln(6.5)

    # -- the practice and the invoice -------------------------------------------------------------
    line(practice.name, size=16, height=8)
    line(practice.email, size=9)
    pdf.ln(4)
    line(f"Invoice {invoice.number}", size=14, height=7)
    line(f"Status: {_STATUS[invoice.status]}")
    line(f"Issued: {invoice.issue_date.isoformat()}    Due: {invoice.due_date.isoformat()}")
    if invoice.period_start:
        end = invoice.period_end or invoice.period_start
        line(f"Period: {invoice.period_start.isoformat()} to {end.isoformat()}")
    pdf.ln(2)
    line("Bill to:", size=9)
    line(payer_name, size=12, height=6)
    if invoice.memo:
        line(invoice.memo, size=9)
    pdf.ln(4)

    # -- lines ------------------------------------------------------------------------------------
    date_w, amount_w = 28.0, 38.0
    desc_w = width - date_w - amount_w
    row([("Date", date_w, "L"), ("Description", desc_w, "L"), ("Amount", amount_w, "R")], size=9)
    for item in invoice.lines:
        when = item.service_date.isoformat() if item.service_date else ""
        row(
            [(when, date_w, "L"), (item.description[:80], desc_w, "L"), (_amount(item.amount), amount_w, "R")]
        )
    row([("", date_w, "L"), ("Total", desc_w, "R"), (_amount(invoice.total), amount_w, "R")])

    # -- payments and the balance -----------------------------------------------------------------
    if invoice.payments:
        pdf.ln(3)
        line("Payments", size=11, height=6)
        for p in invoice.payments:
            row(
                [
                    (p.applied_at.date().isoformat(), date_w, "L"),
                    (f"Payment ({p.method})", desc_w, "L"),
                    (f"-{_amount(p.amount)}", amount_w, "R"),
                ]
            )
    pdf.ln(2)
    row([("", date_w, "L"), ("Balance due", desc_w, "R"), (_amount(invoice.balance), amount_w, "R")], size=12)

    # -- how to pay -------------------------------------------------------------------------------
    if invoice.balance.amount > 0 and invoice.status not in ("void", "paid"):
        pdf.ln(6)
        line("Pay online", size=12, height=6)
        line(f"Go to {pay_url}")
        line(f"Invoice number: {invoice.number}")
        line(f"Access code: {invoice.access_code}")
        line("You can pay the full balance or part of it, with a saved card or a new one.", size=9)
    pdf.ln(6)
    line(f"Questions? Write to {practice.email}.", size=9)
    return bytes(pdf.output())
