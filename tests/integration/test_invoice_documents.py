"""What the billing party reads: the invoice email (plain text and HTML) and its PDF name the
practice with its address, phone and email, say what each line is for and when (the service and the
session's date, never a code), and give dates in words in the practice's time zone. The practice's
address and phone are optional, one line each, refused in words when malformed."""

import email
import shutil
import subprocess
from datetime import date, timedelta

import pytest

from tests.integration.scenario import create_client, create_invoice, create_practice, standalone_invoice
from tests.integration.test_services_pricing import create_service
from tests.integration.test_session_fees import POLICY, set_policy
from tests.integration.test_sessions import START, act, book, completion

ADDRESS = "12 Harbor Street, Portland, ME 04101"
PHONE = "+1 207 555 0100"


def contact(world, practice, **fields):
    return world.staff("PATCH", "/practice", fields, practice_id=practice.id)


def in_words(iso_day):
    day = date.fromisoformat(iso_day)
    return f"{day:%a} {day.day} {day:%b %Y}"


def whole_paragraphs(text):
    """A one-line paragraph ends as a sentence does; none starts in the middle of one."""
    paragraphs = text.split("\n\n")
    assert all(p.rstrip().endswith((".", ",", ":")) for p in paragraphs if "\n" not in p), paragraphs
    assert not any(p[:1].islower() for p in paragraphs), paragraphs
    return paragraphs


def parts(msg, kind):
    return "\n".join(
        p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == f"text/{kind}"
    )


def pdf_text(msg, tmp_path):
    [data] = [p.get_payload(decode=True) for p in msg.walk() if p.get_content_type() == "application/pdf"]
    path = tmp_path / "invoice.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_the_practice_profile_takes_an_optional_address_and_phone(world):
    practice = create_practice(world, connect=False)
    before = world.staff("GET", "/practice", practice_id=practice.id)[1]
    assert before["address"] is None and before["phone"] is None
    for bad in (
        {"phone": "call us"},
        {"address": "12 Harbor St\nPortland"},
        {"address": ""},
        {"email": None},
    ):
        status, answer = contact(world, practice, **bad)
        assert status == 400 and answer["message"], (bad, status, answer)
    assert world.staff("GET", "/practice", practice_id=practice.id)[1] == before  # nothing written

    status, saved = contact(world, practice, address=ADDRESS, phone=PHONE)
    assert status == 200 and (saved["address"], saved["phone"]) == (ADDRESS, PHONE), saved
    status, cleared = contact(world, practice, phone=None)
    assert status == 200 and cleared["phone"] is None and cleared["address"] == ADDRESS


@pytest.fixture
def sent(world):
    """A practice with its address and phone; a session with a copay left open, and a late
    cancellation the next day with its fee left open (no card); one invoice for both days, sent."""
    practice = create_practice(world, connect=False)
    assert contact(world, practice, address=ADDRESS, phone=PHONE)[0] == 200
    set_policy(world, practice, POLICY)
    client = create_client(world, practice, copay_amount=2_500)
    svc = create_service(world, practice, name="Speech therapy")
    first = book(world, practice, client, svc)  # Tue 4 Mar 2031, 10:00 in New York
    later = book(world, practice, client, svc, start=START + timedelta(days=1))
    world.clock.now = START - timedelta(minutes=5)
    assert act(world, practice, first["id"], "check-in")[1]["copay"]["status"] == "balance"
    assert act(world, practice, first["id"], "complete", completion())[0] == 200
    world.clock.now = START + timedelta(days=1) - timedelta(hours=8)  # 02:00 on Wed 5 Mar in New York
    status, cancelled = act(world, practice, later["id"], "cancel", {"cancelled_by": "client"})
    assert status == 200 and cancelled["fee"]["status"] == "balance", cancelled
    body = {"client_id": client["id"], "kind": "period", "start": "2031-03-04", "end": "2031-03-05"}
    status, invoice = create_invoice(world, practice, body)
    assert status == 201, invoice
    status, invoice = world.staff("POST", f"/invoices/{invoice['id']}/send", practice_id=practice.id)
    assert status == 200, invoice
    [msg] = [
        m
        for m in (email.message_from_string(x.raw_data) for x in world.emails())
        if m["Subject"].startswith(f"Invoice {invoice['number']}")
    ]
    return invoice, msg


# The client is insured (a copay): the session's own price is the claim's, never on the invoice.
LINES = [
    "Copay — Speech therapy, Tue 4 Mar 2031: USD 25.00",
    "Late cancellation fee — Speech therapy, Wed 5 Mar 2031: USD 50.00",
]


def test_each_line_says_what_it_is_for_and_when(sent):
    invoice, _ = sent
    # In the order they were posted: the copay at check-in, the fee (the insured session's price
    # is not the client's: no line for it).
    assert [(x["description"], x["service_date"]) for x in invoice["lines"]] == [
        ("Copay — Speech therapy", "2031-03-04"),
        ("Late cancellation fee — Speech therapy", "2031-03-05"),
    ], invoice["lines"]


def test_the_email_names_the_practice_its_lines_and_dates_in_words(sent):
    invoice, msg = sent
    text, html = parts(msg, "plain"), parts(msg, "html")
    for expected in (ADDRESS, f"Phone {PHONE}", "office@harbor.test", "Harbor Family Practice"):
        assert expected in text and expected in html, expected
    for line in LINES:
        assert line in text and line in html, line
    # Issued Wed 5 Mar 2031 (New York), due 30 days later; no ISO dates, no codes.
    assert "dated Wed 5 Mar 2031." in text and "by Fri 4 Apr 2031." in text
    assert "2031-0" not in text and "90837" not in text and "90837" not in html
    paragraphs = whole_paragraphs(text)
    assert paragraphs[-1].splitlines() == [
        "Harbor Family Practice",
        ADDRESS,
        f"Phone {PHONE}",
        "office@harbor.test",
    ]
    assert invoice["access_code"] in text


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_the_pdf_names_the_practice_its_lines_and_dates_in_words(sent, tmp_path):
    _, msg = sent
    text = pdf_text(msg, tmp_path)
    for expected in (
        "Harbor Family Practice",
        ADDRESS,
        f"Phone {PHONE}",
        "office@harbor.test",
        "Issued: Wed 5 Mar 2031",
        "Due: Fri 4 Apr 2031",
        "Period: Tue 4 Mar 2031 to Wed 5 Mar 2031",
        f"Questions? Write to office@harbor.test or call {PHONE}.",
    ):
        assert expected in text, expected
    rows = [" ".join(r.split()) for r in text.splitlines()]
    assert not any("Speech therapy session" in r for r in rows), rows  # insured: the claim's
    assert "Tue 4 Mar 2031 Copay — Speech therapy USD 25.00" in rows, rows
    assert "Wed 5 Mar 2031 Late cancellation fee — Speech therapy USD 50.00" in rows, rows
    assert "2031-0" not in text and "90837" not in text


def test_a_reminder_names_the_practice_says_when_it_was_due_and_what_to_do(world):
    practice = create_practice(world, connect=False)
    assert contact(world, practice, address=ADDRESS)[0] == 200  # no phone: none is printed
    client = create_client(world, practice)
    invoice = standalone_invoice(world, practice, client["id"])
    world.clock.now += timedelta(days=32)
    assert world.container.invoices.sweep()["reminded"] == 1
    [msg] = [
        m
        for m in (email.message_from_string(x.raw_data) for x in world.emails())
        if m["Subject"].startswith("Reminder 1")
    ]
    text = parts(msg, "plain")
    due, issued = in_words(invoice["due_date"]), in_words(invoice["issue_date"])
    assert f"Invoice {invoice['number']} from Harbor Family Practice was due on {due} and USD 50.00" in text
    assert f"- Balance carried over, {issued}: USD 50.00" in text
    assert "Pay online at " in text and "Questions? Write to office@harbor.test." in text
    assert whole_paragraphs(text)[-1].splitlines() == [
        "Harbor Family Practice",
        ADDRESS,
        "office@harbor.test",
    ]
    assert "Phone" not in text and invoice["due_date"] not in text and invoice["issue_date"] not in text
