"""The public pay page against guessing: the page and its lookup, the same answer for an unknown
number, a wrong code and a locked invoice, the lock after 5 wrong codes (also when 8 requests
race), the per-IP limit across invoices, and nothing about an invoice before its code matches."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from devstack import apigw
from tests.integration.scenario import create_client, create_practice, standalone_invoice
from therabill.core.errors import UnauthorizedError
from therabill.invoices.access import IP_MAX_FAILURES, TooManyAttemptsError


@pytest.fixture
def atomic_items(monkeypatch):
    """DynamoDB applies each single-item write (condition, then change) atomically; moto's
    in-process backend does not serialize threads. Serialize its writes, as the service does."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    for name in ("update_item", "put_item", "delete_item", "transact_write_items", "get_item"):
        real = getattr(DynamoDBBackend, name)

        def serialized(self, *args, _real=real, **kwargs):
            with lock:
                return _real(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, serialized)


def lookup(world, practice, number, code, ip="198.51.100.7"):
    return world.public(
        "POST", f"/pay/invoice/{practice.id}/lookup", {"number": number, "access_code": code}, source_ip=ip
    )


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def invoice(world):
    practice = create_practice(world)
    client = create_client(world, practice, first_name="Zoë", last_name="Łukasiewicz")
    return practice, client, standalone_invoice(world, practice, client["id"], 7_500)


def test_the_page_is_plain_html_with_the_pages_headers(world, invoice):
    practice, _, _ = invoice
    status, page = world.public("GET", f"/pay/invoice/{practice.id}")
    assert status == 200
    assert "Harbor Family Practice" in page and 'id="invoice-number"' in page and 'id="access-code"' in page
    assert '<meta name="viewport"' in page and 'lang="en"' in page
    response = world.handler("public_api")(
        apigw.rest_event("GET", f"/pay/invoice/{practice.id}"), apigw.LambdaContext("public-api")
    )
    headers = {
        **{k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()},
        **(response.get("headers") or {}),
    }
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store" and headers["X-Frame-Options"] == "DENY"


def test_the_right_number_and_code_show_what_is_owed_and_give_a_pay_token(world, invoice):
    practice, _, inv = invoice
    status, view = lookup(world, practice, inv["number"], inv["access_code"])
    assert status == 200, view
    assert (view["number"], view["total"], view["paid"], view["balance"]) == (inv["number"], 7_500, 0, 7_500)
    assert view["can_pay"] is True and view["stripe_account"] == practice.account
    assert [line["description"] for line in view["lines"]] == ["Balance carried over"]
    status, again = world.public("POST", f"/pay/invoice/{practice.id}/view", {"token": view["token"]})
    assert status == 200 and again["balance"] == 7_500
    # The token is the practice's: another practice's page path refuses it.
    other = create_practice(world, connect=False)
    status, _ = world.public("POST", f"/pay/invoice/{other.id}/view", {"token": view["token"]})
    assert status == 404


def test_an_unknown_number_and_a_wrong_code_get_the_same_answer(world, invoice):
    practice, _, inv = invoice
    unknown = lookup(world, practice, "INV-999999", inv["access_code"])
    bad_code = lookup(world, practice, inv["number"], wrong(inv["access_code"]))
    other_practice = lookup(world, create_practice(world, connect=False), inv["number"], inv["access_code"])
    assert unknown == bad_code == other_practice
    status, body = unknown
    assert status == 401 and set(body) == {"code", "message", "details"} and body["details"] == {}
    for text in (inv["number"], "7", "Zoë", "Łukasiewicz", "75.00", "Harbor"):
        assert text not in body["message"]


def test_five_wrong_codes_lock_the_invoice_even_for_the_right_code(world, invoice, caplog):
    practice, _, inv = invoice
    for n in range(5):
        status, _ = lookup(world, practice, inv["number"], wrong(inv["access_code"]), ip=f"203.0.113.{n}")
        assert status == 401
    status, body = lookup(world, practice, inv["number"], inv["access_code"], ip="203.0.113.99")
    assert status == 401 and body == lookup(world, practice, "INV-999998", "123456", ip="203.0.113.98")[1]
    _, staff_view = world.staff("GET", f"/invoices/{inv['id']}", practice_id=practice.id)
    assert staff_view["locked"] is True and staff_view["failed_codes"] == 5
    # The lock-out is logged without the code.
    assert inv["access_code"] not in caplog.text

    # Staff unlock it with a new code: the old one stops working, the new one opens it.
    status, unlocked = world.staff("POST", f"/invoices/{inv['id']}/unlock", practice_id=practice.id)
    assert status == 200 and unlocked["locked"] is False and unlocked["access_code"] != inv["access_code"]
    assert lookup(world, practice, inv["number"], unlocked["access_code"], ip="203.0.113.77")[0] == 200


def test_the_sixth_wrong_code_is_refused_when_eight_requests_race(world, invoice, atomic_items):
    practice, _, inv = invoice
    access = world.container.invoice_access
    bad = wrong(inv["access_code"])

    def attempt(i):
        try:
            access.open(practice.id, inv["number"], bad, f"192.0.2.{i}")
        except UnauthorizedError:
            return "refused"
        return "opened"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes == ["refused"] * 8
    item = world.container.table.get(f"P#{practice.id}", f"INVOICE#{inv['id']}")
    # Exactly five wrong codes were counted (a slot is taken before a code is compared), and the
    # invoice is locked: the right code is refused too.
    assert item["failed_codes"] == 5 and item["locked_at"]
    assert lookup(world, practice, inv["number"], inv["access_code"], ip="192.0.2.200")[0] == 401
    with pytest.raises(UnauthorizedError):
        access.open(practice.id, inv["number"], inv["access_code"], "192.0.2.201")


def test_a_right_code_racing_wrong_ones_never_lets_more_than_five_be_compared(world, invoice, atomic_items):
    practice, _, inv = invoice
    access = world.container.invoice_access
    guesses = [wrong(inv["access_code"])] * 7 + [inv["access_code"]]

    def attempt(i):
        try:
            access.open(practice.id, inv["number"], guesses[i], f"192.0.2.{i}")
        except UnauthorizedError:
            return "refused"
        return "opened"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    item = world.container.table.get(f"P#{practice.id}", f"INVOICE#{inv['id']}")
    assert outcomes[:7] == ["refused"] * 7
    assert item["failed_codes"] <= 5
    if outcomes[7] == "opened":  # it held a slot and gave it back
        assert item["failed_codes"] >= 4
    else:  # five wrong codes had taken every slot first
        assert item["failed_codes"] == 5


def test_an_ip_is_limited_across_invoices_and_released_by_a_success(world, invoice):
    practice, client, inv = invoice
    second = standalone_invoice(world, practice, client["id"], 1_000, key="second-invoice-ip")
    ip = "198.51.100.200"
    for n in range(IP_MAX_FAILURES):
        target = inv if n % 2 else second
        status, _ = lookup(world, practice, target["number"] if n < 8 else "INV-123456", "000000", ip=ip)
        assert status == 401, n
    status, body = lookup(world, practice, inv["number"], inv["access_code"], ip=ip)
    assert status == 429 and body["code"] == "too_many_attempts"
    # Another IP is not affected, and the next window starts afresh.
    assert lookup(world, practice, second["number"], second["access_code"], ip="198.51.100.201")[0] == 200
    world.clock.now += timedelta(minutes=16)
    assert lookup(world, practice, inv["number"], inv["access_code"], ip=ip)[0] == 200


def test_ip_limit_holds_when_requests_race(world, invoice, atomic_items):
    practice, _, _ = invoice
    access = world.container.invoice_access

    def attempt(_):
        try:
            access.open(practice.id, "INV-555555", "000000", "198.51.100.99")
        except TooManyAttemptsError:
            return "limited"
        except UnauthorizedError:
            return "refused"
        return "opened"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    assert outcomes.count("refused") == IP_MAX_FAILURES and outcomes.count("limited") == 6


@pytest.mark.parametrize(
    "body",
    [
        {"number": "INV-000001"},
        {"number": "INV-000001", "access_code": "12345"},
        {"number": "INV-000001", "access_code": "1234567"},
        {"number": "INV-000001", "access_code": "12a456"},
        {"number": "000001", "access_code": "123456"},
        {"number": "INV-000001", "access_code": "123456", "extra": 1},
        {"number": "INV-000001\n", "access_code": "123456x"},
    ],
)
def test_bad_lookup_input_is_a_400_and_counts_nothing(world, invoice, body):
    practice, _, inv = invoice
    before = world.container.table.get(f"P#{practice.id}", f"INVOICE#{inv['id']}")
    status, answer = world.public("POST", f"/pay/invoice/{practice.id}/lookup", body)
    assert status == 400 and answer["message"], answer
    assert world.container.table.get(f"P#{practice.id}", f"INVOICE#{inv['id']}") == before


@pytest.mark.parametrize(
    "token", ["x" * 30, "abc.def", "eyJwIjoicHJjX3gifQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
)
def test_a_bad_or_forged_token_is_refused(world, invoice, token):
    practice, _, _ = invoice
    status, _ = world.public("POST", f"/pay/invoice/{practice.id}/view", {"token": token})
    assert status in (400, 401)


def test_a_draft_cannot_be_looked_up(world, invoice):
    practice, client, _ = invoice
    draft = standalone_invoice(world, practice, client["id"], send=False, key="draft-invoice-1")
    assert lookup(world, practice, draft["number"], draft["access_code"])[0] == 401


def _dynamo_calls(world, send):
    """The DynamoDB requests (operation names, in order) one public request makes, and its answer."""
    calls: list[str] = []

    def record(model, **_):
        calls.append(model.name)

    events = world.dynamo.meta.events
    events.register("before-call.dynamodb.*", record)
    try:
        answer = send()
    finally:
        events.unregister("before-call.dynamodb.*", record)
    return calls, answer


def test_every_refused_lookup_does_the_same_work_so_timing_tells_nothing(world, invoice):
    """An unknown number, a known one with a wrong code, a locked invoice, a draft and another
    practice's path make the same DynamoDB requests, in the same order, and get the same answer."""
    practice, client, inv = invoice
    draft = standalone_invoice(world, practice, client["id"], 1_000, send=False, key="draft-invoice")
    locked = standalone_invoice(world, practice, client["id"], 2_000, key="locked-invoice")
    for n in range(5):
        lookup(world, practice, locked["number"], wrong(locked["access_code"]), ip=f"203.0.113.{n}")
    cases = {
        "unknown number": (practice, "INV-999999", inv["access_code"]),
        "wrong code": (practice, inv["number"], wrong(inv["access_code"])),
        "locked": (practice, locked["number"], locked["access_code"]),
        "another practice": (create_practice(world, connect=False), inv["number"], inv["access_code"]),
        "draft": (practice, draft["number"], draft["access_code"]),
    }
    seen = {}
    for i, (name, (p, n, c)) in enumerate(cases.items()):
        seen[name] = _dynamo_calls(
            world, lambda p=p, n=n, c=c, i=i: lookup(world, p, n, c, ip=f"192.0.2.{i}")
        )
    calls, answer = seen["unknown number"]
    assert answer[0] == 401 and calls, calls
    for name, (other_calls, other_answer) in seen.items():
        assert other_calls == calls, (name, other_calls, calls)
        assert other_answer == answer, name
    # The wrong code was counted; the unknown number wrote nothing anywhere.
    _, staff_view = world.staff("GET", f"/invoices/{inv['id']}", practice_id=practice.id)
    assert staff_view["failed_codes"] == 1
    assert world.container.table.get(f"P#{practice.id}", "INVOICE#inv_none") is None
