"""The invoice PDF (fpdf2, imported only here): the practice and how to reach it, the billing party,
the lines, the payments, the balance, and how to pay online (the page, the invoice number and the
access code). Dates are in words, in the practice's time zone (``wording``).

Fonts ship with the code (``fonts/``; Lambda has no system fonts): DejaVu Sans for Latin, Greek
and Cyrillic, Droid Sans Fallback for CJK, so any name renders. No clinical detail is printed:
lines name the service and the date ("Speech therapy session"), a fee, or what staff typed for a
standalone line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from therabill.core.clock import local_date
from therabill.core.money import Money
from therabill.invoices.models import Invoice
from therabill.invoices.wording import contact_sentence, day_text, payment_text
from therabill.practices.models import Practice

if TYPE_CHECKING:
    from fpdf import FPDF

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


class _Page:
    """One A4 page being drawn: a paragraph (``line``) and a table row (``row``), in the
    invoice's three columns (date, description, amount)."""

    DATE_W, AMOUNT_W = 36.0, 36.0

    def __init__(self, pdf: FPDF) -> None:
        from fpdf.enums import XPos, YPos  # noqa: PLC0415 - fpdf2 is heavy, loaded only to render a PDF

        self.pdf = pdf
        self.width = pdf.epw
        self.desc_w = self.width - self.DATE_W - self.AMOUNT_W
        self._new_x, self._new_y = XPos.LMARGIN, YPos.NEXT

    def line(self, text: str, size: float = 10, height: float = 5.5) -> None:
        self.pdf.set_font("DejaVu", size=size)
        self.pdf.multi_cell(self.width, height, text, new_x=self._new_x, new_y=self._new_y)

    def row(self, when: str, what: str, amount: str, *, size: float = 10, what_align: str = "L") -> None:
        self.pdf.set_font("DejaVu", size=size)
        for text, w, align in (
            (when, self.DATE_W, "L"),
            (self._fit(what, self.desc_w - 2), self.desc_w, what_align),
            (amount, self.AMOUNT_W, "R"),
        ):
            self.pdf.cell(w, 6.5, text, border="B", align=align)
        self.pdf.ln(6.5)

    def _fit(self, text: str, width: float) -> str:
        """``text``, shortened with an ellipsis if it is wider than ``width`` (a cell does not wrap)."""
        if self.pdf.get_string_width(text) <= width:
            return text
        while text and self.pdf.get_string_width(text + "…") > width:
            text = text[:-1]
        return text.rstrip() + "…"


def render(practice: Practice, party_name: str, invoice: Invoice, pay_url: str) -> bytes:
    from fpdf import FPDF  # noqa: PLC0415 - fpdf2 is heavy, loaded only to render a PDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author(practice.name)
    pdf.set_creator("Therabill")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    texts = [*practice.contact_lines(), party_name, invoice.memo, *(x.description for x in invoice.lines)]
    if any(ord(ch) >= _CJK_START for text in texts for ch in text):  # loading it costs ~0.7 s
        pdf.add_font("Fallback", "", str(FONTS / "DroidSansFallback.ttf"))
        pdf.set_fallback_fonts(["Fallback"], exact_match=False)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    page = _Page(pdf)
    _heading(page, practice, party_name, invoice)
    _lines(page, invoice)
    _payments_and_balance(page, invoice, practice.time_zone)
    _how_to_pay(page, invoice, pay_url)
    pdf.ln(6)
    page.line(contact_sentence(practice.email, practice.phone), size=9)
    return bytes(pdf.output())


def _heading(page: _Page, practice: Practice, party_name: str, invoice: Invoice) -> None:
    """The practice (name, address, phone, email) and the invoice."""
    name, *contact = practice.contact_lines()
    page.line(name, size=16, height=8)
    for text in contact:
        page.line(text, size=9, height=4.5)
    page.pdf.ln(4)
    page.line(f"Invoice {invoice.number}", size=14, height=7)
    page.line(f"Status: {_STATUS[invoice.status]}")
    page.line(f"Issued: {day_text(invoice.issue_date)}    Due: {day_text(invoice.due_date)}")
    if invoice.period_start:
        end = invoice.period_end or invoice.period_start
        page.line(f"Period: {day_text(invoice.period_start)} to {day_text(end)}")
    page.pdf.ln(2)
    page.line("Bill to:", size=9)
    page.line(party_name, size=12, height=6)
    if invoice.memo:
        page.line(invoice.memo, size=9)
    page.pdf.ln(4)


def _lines(page: _Page, invoice: Invoice) -> None:
    page.row("Date", "Description", "Amount", size=9)
    for item in invoice.lines:
        when = day_text(item.service_date) if item.service_date else ""
        page.row(when, item.description, _amount(item.amount))
    page.row("", "Total", _amount(invoice.total), what_align="R")


def _payments_and_balance(page: _Page, invoice: Invoice, time_zone: str) -> None:
    if invoice.payments:
        page.pdf.ln(3)
        page.line("Payments", size=11, height=6)
        for p in invoice.payments:
            when = day_text(local_date(p.applied_at, time_zone))
            # A payment lowers the balance (shown negative); a refund, stored negative, raises it.
            page.row(when, payment_text(p), _amount(-p.amount))
    page.pdf.ln(2)
    page.row("", "Balance due", _amount(invoice.balance), size=12, what_align="R")


def _how_to_pay(page: _Page, invoice: Invoice, pay_url: str) -> None:
    if invoice.balance.amount > 0 and invoice.status not in ("void", "paid"):
        page.pdf.ln(6)
        page.line("Pay online", size=12, height=6)
        page.line(f"Go to {pay_url}")
        page.line(f"Invoice number: {invoice.number}")
        page.line(f"Access code: {invoice.access_code}")
        page.line("You can pay the full balance or part of it, with a saved card or a new one.", size=9)
