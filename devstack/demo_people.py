"""The ``make demo`` scenario of a practice's people, over HTTP against the running local system,
as the people themselves would do it:

1. a practice signs up on the public form (``POST /signup``: 202, the same answer for everyone);
2. its owner finds the invitation in the local mailbox (it names the practice and holds a
   temporary password), signs in with it (``POST /_local/sign-in``: the first time with a new
   password of their own) and sees the practice (``GET /practice``);
3. the owner invites a biller (``POST /staff``); the biller's invitation arrives, they sign in the
   same way and work: add a client, read the diagnoses the owner set, take a USD 25.00 cash
   payment; an owner-only page (the audit trail) is refused them (403);
4. the owner makes the biller front desk: their very next request acts as front desk (what a
   biller may do is refused); the owner removes them: their next request is refused (401);
5. the owner reads the audit trail (``GET /audit``) as JSON, by staff member, and as CSV.

Every run signs up with addresses of its own, so the demo can run again and again on one system
(sign-up allows 10 an hour from one IP address: past that, ``POST /signup`` answers 429).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from devstack.money_text import money
from devstack.slice import Slice, SliceError, expect

TIME_ZONE = "America/Chicago"
OWNER_NAME = "Olive Ortiz"
BILLER_NAME = "Bea Baker"
OWNER_PASSWORD = "Harbor-Tide-2031!"  # the pool's policy: 12+, upper, lower, digit, symbol
BILLER_PASSWORD = "Ledger-Line-2031!"
DIAGNOSES = ["F41.1"]
CASH = 2_500
_TEMPORARY = re.compile(r"temporary password (\S+?)\.(?:\s|$)")


@dataclass
class Person:
    """Someone at the practice: their address, and their own browser (a session with its own
    user agent, which the audit trail records) holding their token once they signed in."""

    name: str
    email: str
    web: Slice
    staff_id: str = ""
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class PeopleDemoResult:
    """What each step produced (the end-to-end tests assert on it)."""

    practice_name: str = ""
    owner: Person | None = None
    biller: Person | None = None
    signup: tuple[int, Any] = (0, None)
    owner_invitation: dict[str, Any] = field(default_factory=dict)
    first_sign_in: tuple[int, Any] = (0, None)
    practice: dict[str, Any] = field(default_factory=dict)
    invited: dict[str, Any] = field(default_factory=dict)
    biller_invitation: dict[str, Any] = field(default_factory=dict)
    staff: list[dict[str, Any]] = field(default_factory=list)
    client: dict[str, Any] = field(default_factory=dict)
    client_as_biller: dict[str, Any] = field(default_factory=dict)
    cash: dict[str, Any] = field(default_factory=dict)
    owner_only: tuple[int, Any] = (0, None)
    demoted: dict[str, Any] = field(default_factory=dict)
    as_front_desk: tuple[int, Any] = (0, None)
    front_desk_read: tuple[int, Any] = (0, None)
    removed: int = 0
    after_removal: tuple[int, Any] = (0, None)
    sign_in_after_removal: tuple[int, Any] = (0, None)
    audit: list[dict[str, Any]] = field(default_factory=list)
    biller_audit: list[dict[str, Any]] = field(default_factory=list)
    audit_csv: str = ""
    seconds: float = 0.0


def temporary_password(mail: dict[str, Any]) -> str:
    """The temporary password an invitation's text gives."""
    match = _TEMPORARY.search(mail.get("text") or "")
    if not match:
        raise SliceError(f"no temporary password in {mail.get('subject')!r}")
    return match.group(1)


def token_claims(token: str) -> dict[str, Any]:
    """What a token says (read, not verified: the gateway verifies it)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def sign_in(person: Person, password: str, new_password: str | None = None) -> tuple[int, Any]:
    """``POST /_local/sign-in`` as the sign-in page sends it; a token becomes the person's."""
    body = {"email": person.email, "password": password}
    if new_password is not None:
        body["new_password"] = new_password
    web = person.web
    response = web.request(
        "POST", f"{web.gateway_url}/_local/sign-in", json=body, expect=range(100, 600), what="sign-in"
    )
    answer = response.json() if response.content else None
    if response.status_code == 200:
        web.token = str(answer["token"])
        person.claims = token_claims(web.token)
        person.staff_id = str(person.claims.get("custom:staff_id", ""))
    return response.status_code, answer


def _refusal(answer: Any) -> str:
    if not isinstance(answer, dict):
        return str(answer)
    permission = (answer.get("details") or {}).get("permission")
    return f"{answer.get('code')}: {answer.get('message')}" + (f" ({permission})" if permission else "")


def _quoted(mail: dict[str, Any], *, lines: int = 3) -> str:
    text = [line for line in (mail.get("text") or "").splitlines() if line.strip()]
    return "\n".join(f"| {line}" for line in text[1 : 1 + lines])


class PeopleDemo:
    """The scenario's steps, in order (``run_people_demo`` calls them); each prints what happened."""

    def __init__(self, gateway_url: str, say: Any, run_id: str) -> None:
        from devstack.demo import _Steps  # the same numbered output as the first scenario

        self.steps = _Steps(say)
        self.run_id = run_id
        self.result = PeopleDemoResult(practice_name=f"Harbor Counseling {run_id}")
        self.owner = Person(
            OWNER_NAME, f"olive.{run_id}@harbor.example.com", Slice(gateway_url, user_agent="demo (owner)")
        )
        self.biller = Person(
            BILLER_NAME, f"bea.{run_id}@harbor.example.com", Slice(gateway_url, user_agent="demo (biller)")
        )
        self.result.owner, self.result.biller = self.owner, self.biller

    def _who(self, staff_id: str) -> str:
        names = {self.owner.staff_id: self.owner.name, self.biller.staff_id: self.biller.name}
        return names.get(staff_id, staff_id)

    def sign_up(self) -> None:
        r, web = self.result, self.owner.web
        self.steps.step("People: a practice signs up on the public form (POST /signup)")
        form = {
            "email": self.owner.email,
            "practice_name": r.practice_name,
            "time_zone": TIME_ZONE,
            "name": self.owner.name,
        }
        self.steps.detail(
            f"{self.owner.name} <{self.owner.email}> signs up {r.practice_name!r} ({TIME_ZONE})"
        )
        response = web.request("POST", f"{web.gateway_url}/signup", json=form, expect=range(100, 600))
        r.signup = (response.status_code, response.json() if response.content else None)
        if response.status_code == 429:
            wait = int(response.headers.get("Retry-After") or 3600)
            raise SliceError(
                f"POST /signup answered 429: sign-up allows 10 an hour from one IP address; try again in "
                f"{-(-wait // 60)} minutes, or restart `make run` (the local system starts empty)"
            )
        expect(response.status_code == 202, f"POST /signup answered {response.status_code}: {r.signup[1]}")
        self.steps.detail(f"{response.status_code}: {r.signup[1]['message']}")

    def owner_signs_in(self) -> None:
        r, owner = self.result, self.owner
        self.steps.step(f"The owner's invitation in the local mailbox (GET /_local/emails?to={owner.email})")
        r.owner_invitation = owner.web.wait_for_email(owner.email, "You're invited")
        self.steps.detail(f"Subject: {r.owner_invitation['subject']}\n{_quoted(r.owner_invitation)}")
        expect(r.practice_name in r.owner_invitation["subject"], "the invitation does not name the practice")
        password = temporary_password(r.owner_invitation)
        self.steps.detail(f"the temporary password in it: {password}")

        self.steps.step("The owner signs in (POST /_local/sign-in) and opens the practice (GET /practice)")
        r.first_sign_in = sign_in(owner, password)
        self.steps.detail(
            f"the temporary password alone: {r.first_sign_in[0]} {_refusal(r.first_sign_in[1])}"
        )
        status, answer = sign_in(owner, password, OWNER_PASSWORD)
        expect(status == 200, f"the owner's first sign-in answered {status}: {answer}")
        self.steps.detail(
            f"with a new password of their own: {status}, a token for {owner.claims['custom:practice_id']}"
            f" as {owner.claims['custom:role']} (staff id {owner.staff_id})"
        )
        r.practice = dict(owner.web.staff("GET", "/practice"))
        p = r.practice
        self.steps.detail(f"{p['id']} · {p['name']} · {p['time_zone']} · {p['currency'].upper()}")
        expect(p["name"] == r.practice_name, f"GET /practice shows {p['name']!r}")

    def invite_biller(self) -> None:
        r, owner, biller = self.result, self.owner, self.biller
        self.steps.step("The owner invites a biller (POST /staff)")
        body = {"email": biller.email, "name": biller.name, "role": "biller"}
        r.invited = dict(owner.web.staff("POST", "/staff", body, expect=(201,)))
        i = r.invited
        self.steps.detail(f"201: {i['id']} · {i['name']} <{i['email']}> · {i['role']} · {i['status']}")
        r.biller_invitation = biller.web.wait_for_email(biller.email, "You're invited")
        self.steps.detail(
            f"Subject: {r.biller_invitation['subject']}\n{_quoted(r.biller_invitation, lines=2)}"
        )

        self.steps.step("The biller signs in the same way (the temporary password, then their own)")
        status, answer = sign_in(biller, temporary_password(r.biller_invitation), BILLER_PASSWORD)
        expect(status == 200, f"the biller's first sign-in answered {status}: {answer}")
        self.steps.detail(f"{status}: a token as {biller.claims['custom:role']} (staff id {biller.staff_id})")

    def biller_works(self) -> None:
        r, owner, web = self.result, self.owner, self.biller.web
        self.steps.step("The biller works: a client, the diagnoses the owner set, a cash payment")
        r.client = web.create_client("Ann", "Lee", f"ann.{self.run_id}@client.example.com")
        client_id = r.client["id"]
        self.steps.detail(f"the biller adds a client (POST /clients): {client_id} · Ann Lee")
        owner.web.staff("PUT", f"/clients/{client_id}/diagnoses", {"codes": DIAGNOSES})
        self.steps.detail(f"the owner sets the client's diagnoses (PUT …/diagnoses): {', '.join(DIAGNOSES)}")
        r.client_as_biller = dict(web.staff("GET", f"/clients/{client_id}"))
        shown = ", ".join(r.client_as_biller["diagnoses"])
        self.steps.detail(f"the biller opens the client (GET /clients/{{id}}): diagnoses {shown}")
        key = f"demo-cash-{uuid.uuid4().hex[:12]}"
        cash = {"amount": CASH, "method": "cash", "memo": "paid at the desk"}
        r.cash = dict(
            web.staff(
                "POST",
                f"/clients/{client_id}/payments/manual",
                cash,
                expect=(201,),
                headers={"Idempotency-Key": key},
            )
        )
        paid = money(r.cash["amount"], r.cash["currency"])
        self.steps.detail(
            f"the biller records a cash payment (POST …/payments/manual): {paid} {r.cash['method']}, "
            f"ledger entry {r.cash['entry_id']}"
        )
        r.owner_only = web.staff_status("GET", "/audit")
        self.steps.detail(
            f"the biller asks for the audit trail (GET /audit): {r.owner_only[0]} {_refusal(r.owner_only[1])}"
        )
        expect(r.owner_only[0] == 403, f"the biller read the audit trail: {r.owner_only}")

    def change_role(self) -> None:
        r, owner, biller = self.result, self.owner, self.biller
        client_id = r.client["id"]
        self.steps.step("The owner makes the biller front desk (PATCH /staff/{id})")
        r.staff = list(owner.web.staff("GET", "/staff"))
        self.steps.detail("the staff list (GET /staff; a member is active from their first request):")
        for m in r.staff:
            self.steps.detail(f"  {m['id']}  {m['name']:<11} {m['role']:<10} {m['status']}")
        r.demoted = dict(owner.web.staff("PATCH", f"/staff/{biller.staff_id}", {"role": "front_desk"}))
        self.steps.detail(f"200: {r.demoted['name']} is {r.demoted['role']} (their token still says biller)")
        r.as_front_desk = biller.web.staff_status(
            "PUT", f"/clients/{client_id}/diagnoses", {"codes": DIAGNOSES}
        )
        self.steps.detail(
            f"their very next request, the client's diagnoses (PUT …/diagnoses), as a biller may: "
            f"{r.as_front_desk[0]} {_refusal(r.as_front_desk[1])}"
        )
        expect(r.as_front_desk[0] == 403, f"front desk changed diagnoses: {r.as_front_desk}")
        r.front_desk_read = biller.web.staff_status("GET", f"/clients/{client_id}")
        self.steps.detail(f"opening the client, as front desk may: {r.front_desk_read[0]}")
        expect(r.front_desk_read[0] == 200, f"front desk could not open the client: {r.front_desk_read}")

    def remove(self) -> None:
        r, owner, biller = self.result, self.owner, self.biller
        client_id = r.client["id"]
        self.steps.step("The owner removes them (DELETE /staff/{id})")
        owner.web.staff("DELETE", f"/staff/{biller.staff_id}", expect=(204,))
        r.removed = 204
        self.steps.detail(f"{r.removed}: removed (their sign-in is deleted)")
        r.after_removal = biller.web.staff_status("GET", f"/clients/{client_id}")
        self.steps.detail(
            f"their next request (GET /clients/{{id}}): {r.after_removal[0]} {_refusal(r.after_removal[1])}"
        )
        expect(r.after_removal[0] == 401, f"a removed member was answered: {r.after_removal}")
        r.sign_in_after_removal = sign_in(biller, BILLER_PASSWORD)
        self.steps.detail(
            f"signing in again: {r.sign_in_after_removal[0]} {_refusal(r.sign_in_after_removal[1])}"
        )
        expect(r.sign_in_after_removal[0] == 401, f"a removed member signed in: {r.sign_in_after_removal}")

    def read_audit(self) -> None:
        r, web = self.result, self.owner.web
        self.steps.step("The owner reads the audit trail (GET /audit), oldest first")
        r.audit = list(web.staff("GET", "/audit?limit=100")["items"])
        self.steps.detail(f"{'when (UTC)':<19}  {'who':<24} {'action':<24} {'amount':>9}  ids")
        for a in r.audit:
            ids = " ".join(a[k] for k in ("client_id", "session_id", "payment_id", "entry_id") if a[k])
            amount = money(a["amount"], a["currency"]) if a["amount"] is not None else ""
            who = f"{self._who(a['staff_id'])} ({a['role']})"
            self.steps.detail(
                f"{a['at'][:19].replace('T', ' ')}  {who:<24} {a['action']:<24} {amount:>9}  {ids}"
            )
        expect(bool(r.audit), "the audit trail is empty")
        r.biller_audit = list(web.staff("GET", f"/audit?staff_id={self.biller.staff_id}")["items"])
        self.steps.detail(
            f"by staff member (?staff_id={self.biller.staff_id}): {len(r.biller_audit)} records, "
            f"all {self.biller.name}'s, kept after their removal"
        )

    def read_audit_csv(self) -> None:
        r, web = self.result, self.owner.web
        self.steps.step("The same trail as CSV (GET /audit?format=csv)")
        r.audit_csv = web.request(
            "GET",
            f"{web.gateway_url}/audit?format=csv",
            headers={"Authorization": f"Bearer {web.token}"},
            what="GET /audit?format=csv",
        ).text
        rows = list(csv.reader(io.StringIO(r.audit_csv)))
        self.steps.detail(f"{len(rows) - 1} rows; the header and the first ones:")
        for row in rows[:4]:
            self.steps.detail("  " + ",".join(row))


def run_people_demo(gateway_url: str, say: Any = print, *, run_id: str | None = None) -> PeopleDemoResult:
    """Every step over HTTP; raises :class:`SliceError` at the first failure."""
    started = time.monotonic()
    demo = PeopleDemo(gateway_url, say, run_id or uuid.uuid4().hex[:8])
    demo.sign_up()
    demo.owner_signs_in()
    demo.invite_biller()
    demo.biller_works()
    demo.change_role()
    demo.remove()
    demo.read_audit()
    demo.read_audit_csv()
    demo.result.seconds = time.monotonic() - started
    say(f"\nSign-up, staff and the audit trail work end to end ({demo.result.seconds:.1f}s).")
    return demo.result
