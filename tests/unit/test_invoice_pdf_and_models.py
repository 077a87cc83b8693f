"""The invoice PDF, rendered to PNG (pdftoppm) and read back as text (pdftotext), with names in
scripts Latin-1 cannot hold; the status table; access codes."""

import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from therabill.core.errors import ConflictError
from therabill.core.money import Money
from therabill.invoices.emails import invoice_email
from therabill.invoices.models import (
    AppliedPayment,
    Invoice,
    InvoiceLine,
    format_number,
    new_access_code,
    next_status,
)
from therabill.invoices.pdf import render
from therabill.practices.models import Practice

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")


def usd(amount):
    return Money(amount=amount, currency="usd")


def practice(name="Harbor Family Practice"):
    return Practice(
        id="prc_01abc",
        name=name,
        email="office@harbor.test",
        time_zone="America/New_York",
        cutoff_hour=23,
        currency="usd",
        country="US",
        created_at=NOW,
        version=1,
    )


def invoice(status="open", paid=2_000):
    lines = (
        InvoiceLine(
            n=1,
            description="Session",
            amount=usd(12_000),
            category="charge",
            source_key="session:ses_1",
            service_date=date(2026, 11, 20),
        ),
        InvoiceLine(
            n=2,
            description="Therapy putty",
            amount=usd(1_250),
            category="product",
            source_key="invoice:inv_1:2",
            service_date=date(2026, 11, 21),
        ),
    )
    payments = (AppliedPayment(payment_id="pay_1", amount=usd(paid), applied_at=NOW),) if paid else ()
    return Invoice(
        id="inv_1",
        number="INV-000042",
        client_id="cli_1",
        owner_id="cli_1",
        kind="period",
        status=status,
        lines=lines,
        total=usd(13_250),
        paid=usd(paid),
        payments=payments,
        issue_date=date(2026, 11, 22),
        due_date=date(2026, 12, 22),
        period_start=date(2026, 11, 20),
        period_end=date(2026, 11, 21),
        access_code="004217",
        created_at=NOW,
        created_by="u1",
    )


@pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")
def test_the_pdf_renders_to_png_and_its_text_carries_everything_a_payer_needs(tmp_path: Path):
    name = "Zoë Łukasiewicz 王小明"
    data = render(
        practice("Ωmega Терапия"), name, invoice(), "https://pay.therabill.test/pay/invoice/prc_01abc"
    )
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(data)

    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5_000

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for expected in (
        name,  # Latin Extended, and CJK through the bundled fallback font
        "Ωmega Терапия",
        "Invoice INV-000042",
        "Status: Open",
        "Due: Tue 22 Dec 2026",  # dates in words
        "Fri 20 Nov 2026",  # the line's date
        "Session",
        "Therapy putty",
        "USD 120.00",
        "USD 132.50",  # total
        "-USD 20.00",  # the payment
        "USD 112.50",  # balance
        "https://pay.therabill.test/pay/invoice/prc_01abc",
        "Access code: 004217",
        "office@harbor.test",
    ):
        assert expected in text, expected
    assert "90837" not in text  # no CPT code (or anything clinical) on the document


@pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")
def test_a_paid_invoice_has_no_pay_instructions(tmp_path: Path):
    pdf = tmp_path / "paid.pdf"
    pdf.write_bytes(render(practice(), "Ann Client", invoice("paid", 13_250), "https://x.test/pay"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "Status: Paid" in text and "USD 0.00" in text
    assert "Access code" not in text and "Pay online" not in text


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        ("draft", "send", "sending"),
        ("sending", "sent", "open"),
        ("open", "pay", "paid"),
        ("overdue", "pay", "paid"),
        ("open", "overdue", "overdue"),
        ("open", "void", "void"),
        ("draft", "void", "void"),
        ("overdue", "uncollectible", "uncollectible"),
        ("uncollectible", "pay", "paid"),
    ],
)
def test_legal_moves(current, action, expected):
    assert next_status(current, action) == expected


@pytest.mark.parametrize(
    ("current", "action"),
    [
        ("paid", "void"),
        ("void", "send"),
        ("paid", "pay"),
        ("draft", "pay"),
        ("void", "pay"),
        ("open", "send"),
        ("paid", "overdue"),
        ("draft", "uncollectible"),
        ("uncollectible", "overdue"),
    ],
)
def test_illegal_moves_are_a_conflict_naming_the_status(current, action):
    with pytest.raises(ConflictError) as caught:
        next_status(current, action)
    assert caught.value.details["current_status"] == current


def test_access_codes_are_six_digits_from_the_csprng_and_numbers_are_padded():
    codes = {new_access_code() for _ in range(2_000)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 1_900  # random, not a counter or a constant
    assert any(c.startswith("0") for c in codes)  # leading zeros kept
    assert (format_number(1), format_number(123_456), format_number(1_234_567)) == (
        "INV-000001",
        "INV-123456",
        "INV-1234567",
    )


def test_balance_is_the_total_less_the_payments():
    assert invoice().balance == usd(11_250) and invoice(paid=0).balance == usd(13_250)


def test_the_invoice_email_never_breaks_a_sentence_across_paragraphs() -> None:
    # Given an open invoice, When its email is written
    mail = invoice_email(
        practice=practice(),
        party_name="Ann",
        to="ann@client.test",
        invoice=invoice(),
        pay_url="https://pay.example/pay/invoice/prc_1",
    )
    # Then how to pay is one sentence, and every paragraph of the plain text is whole: a one-line
    # paragraph ends as a sentence does (a list or the practice's contact block has several lines),
    # and none starts where a sentence goes on
    paragraphs = (mail.text or "").split("\n\n")
    assert any(
        p.startswith("Pay online at https://pay.example/pay/invoice/prc_1 with invoice number ")
        and "access code" in p
        for p in paragraphs
    ), paragraphs
    assert all(p.rstrip().endswith((".", ",", ":")) for p in paragraphs if "\n" not in p), paragraphs
    assert not any(p[:1].islower() for p in paragraphs), paragraphs


@pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")
def test_a_refund_reads_as_money_back_not_as_a_payment(tmp_path: Path):
    paid = invoice("open", 13_250)
    refund = AppliedPayment(payment_id="re_1", amount=usd(-2_500), applied_at=NOW, method="refund")
    refunded = paid.model_copy(update={"payments": (*paid.payments, refund), "paid": usd(10_750)})
    pdf = tmp_path / "refunded.pdf"
    pdf.write_bytes(render(practice(), "Ann Client", refunded, "https://x.test/pay"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Paid by card" in text and "-USD 132.50" in text
    assert "Refunded to you" in text and "USD 25.00" in text
    assert "--" not in text and "Payment by" not in text
    assert "USD 25.00" in text.split("Balance due")[1]  # the refund raised the balance again
