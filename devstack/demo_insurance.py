"""The ``make demo`` scenario of insurance, over HTTP against the running local system and its
sandbox clearinghouse (``devstack/sandbox_clearinghouse.py``, its payers and test members):

1. a practice of its own sets up its billing provider (``PUT /practice/billing-provider``) and its
   clinician's provider record (rendering NPI, taxonomy, credentials);
2. it searches the payer directory, accepts Sandbox Health Plan and enrolls for the one kind of
   transaction that payer wants an enrollment for (remittance): the status moves on as the
   sandbox moves it (submitted → provisioning → live); claims need none (a 409 says so);
3. a client, their diagnosis, and their primary coverage with the sandbox's active test member
   (``TB-ACTIVE-25``: a $25 copay in network); a picture of the card's front through the signed
   upload form; an eligibility check finds the copay, which becomes the coverage's;
4. an authorization of 1 visit; two bookings: the second goes past it and the answer warns; staff
   cancel it and book the visit as self-pay instead;
5. the insured session: checked in (the $25 copay charged to the saved card) and completed (the
   authorization used); the client owes the copay only; tonight's listing shows the session
   waiting with "claims not set up".
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from devstack.demo_common import demo_clinician, utc_z
from devstack.demo_nightly import zone_before_cutoff
from devstack.money_text import balance, money, signed
from devstack.slice import CARD_VISA, Slice, SliceError, expect, poll

PRICE = 15_000  # the session's price: the claim's, never the insured client's
COPAY = 2_500  # what the sandbox's active test member's plan asks per visit
MEMBER_ID = "TB-ACTIVE-25"  # the sandbox payer's active member with a $25 copay
BIRTH_DATE = "1988-04-12"
DIAGNOSIS = "F41.1"
CPT = "90837"
PAYER = "SBXHP"  # Sandbox Health Plan in the clearinghouse's directory
PAYER_ID = "SBX01"  # its primary payer id (what a coverage and X12 name)
BILLING_NPI = "1234567893"
RENDERING_NPI = "1245319599"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5b1e1d20000000049454e44ae426082"
)
BILLING_PROVIDER: dict[str, Any] = {
    "entity": "organization",
    "organization_name": "Lakeside Counseling Group",
    "npi": BILLING_NPI,
    "tax_id": {"kind": "ein", "number": "12-3456789"},
    "taxonomy": "193400000X",
    "accepts_assignment": True,
    "address": {"lines": ["400 Lakeside Avenue"], "city": "Chicago", "state": "IL", "zip": "60601-1234"},
    "contact": {"name": "Dana Reyes", "phone": "(312) 555-0143", "email": "billing@lakeside.example"},
}


@dataclass
class InsuranceDemoResult:
    """What each step produced (the end-to-end test asserts on it)."""

    practice: dict[str, Any] = field(default_factory=dict)
    billing_provider: dict[str, Any] = field(default_factory=dict)
    clinician_record: dict[str, Any] = field(default_factory=dict)
    search: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, Any] = field(default_factory=dict)
    claims_enrollment: tuple[int, Any] = (0, None)
    enrollment: dict[str, Any] = field(default_factory=dict)
    enrollment_statuses: list[str] = field(default_factory=list)
    client: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    card_upload: int = 0
    card_pictures: list[dict[str, Any]] = field(default_factory=list)
    eligibility: dict[str, Any] = field(default_factory=dict)
    authorization: dict[str, Any] = field(default_factory=dict)
    insured: dict[str, Any] = field(default_factory=dict)
    warned: dict[str, Any] = field(default_factory=dict)
    cancelled: dict[str, Any] = field(default_factory=dict)
    self_pay: dict[str, Any] = field(default_factory=dict)
    checked_in: dict[str, Any] = field(default_factory=dict)
    completed: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)
    authorization_after: dict[str, Any] = field(default_factory=dict)
    tonight: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _benefit_lines(check: dict[str, Any]) -> list[str]:
    """The check's answer in plain words: the copay, coinsurance, deductible and visits left."""
    services = check["services"]
    plan = next((s for s in services if s["service_type"] == "30"), services[0] if services else None)
    therapy = next((s for s in services if s["service_type"] == "MH"), plan)
    if therapy is None:
        return ["the payer stated no benefits"]
    copays = [c for c in therapy["copays"] if c["network"] in ("in", "both", "not_stated")]
    lines = [f"{therapy['name']} ({therapy['service_type']}):"]
    lines.append(
        f"  copay: {money(copays[0]['amount'])} a visit in network" if copays else "  copay: none stated"
    )
    coinsurance = therapy["coinsurance"]
    lines.append(
        f"  coinsurance: {coinsurance[0]['percent']}%" if coinsurance else "  coinsurance: none stated"
    )
    deductibles = [d for d in therapy["deductibles"] if d["remaining"] is not None or d["total"] is not None]
    lines.append(
        "  deductible: "
        + (
            ", ".join(f"{money(d['remaining'] or 0)} left of {money(d['total'] or 0)}" for d in deductibles)
            if deductibles
            else "none stated (nothing to meet before the copay applies)"
        )
    )
    visits = therapy["visit_limits"]
    lines.append(
        "  visits: "
        + (
            ", ".join(f"{v['remaining']} left of {v['limit']} this year" for v in visits)
            if visits
            else "no visit limit stated"
        )
    )
    lines.append(f"  prior authorization required: {therapy['prior_authorization_required'] or 'not stated'}")
    return lines


class InsuranceDemo:
    def __init__(self, gateway_url: str, say: Any, run_id: str) -> None:
        from devstack.demo import _Steps  # demo.py imports this module's runner

        self.steps = _Steps(say)
        self.s = Slice(gateway_url)
        self.run_id = run_id
        self.result = InsuranceDemoResult()
        self.today = datetime.now(UTC).date()

    def provider_setup(self) -> None:
        s, r, steps = self.s, self.result, self.steps
        tz = zone_before_cutoff(datetime.now(UTC))
        steps.step(f"Insurance: a practice of its own ({tz}), connected to Stripe")
        email = f"office.i{self.run_id}@practice.example.com"
        r.practice = s.new_practice(f"Demo Insurance {self.run_id}", email, tz)
        s.connect_and_onboard()
        self.today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
        steps.detail(f"{r.practice['id']} · {r.practice['name']}")

        steps.step("The billing provider: PUT /practice/billing-provider")
        r.billing_provider = dict(s.staff("PUT", "/practice/billing-provider", BILLING_PROVIDER))
        bp = r.billing_provider
        steps.detail(
            f"{bp['organization_name']} · NPI {bp['npi']} · tax id {bp['tax_id']['masked']} · "
            f"taxonomy {bp['taxonomy']['code']} ({bp['taxonomy']['name']})"
        )
        steps.step("The clinician's provider record: PUT /clinicians/{id}/provider")
        body = {"rendering_npi": RENDERING_NPI, "taxonomy": "101YM0800X", "credentials": ["LPC"]}
        r.clinician_record = dict(s.staff("PUT", f"/clinicians/{demo_clinician(s)}/provider", body))
        rec = r.clinician_record
        steps.detail(
            f"Dr Demo Clinician ({rec['clinician_id']}): rendering NPI {rec['rendering_npi']}, "
            f"{rec['taxonomy']['name']}, {', '.join(rec['credentials'])}"
        )

    def payers(self) -> None:
        s, r, steps = self.s, self.result, self.steps
        steps.step("The payer directory: GET /payers?q=sandbox, then POST /accepted-payers")
        r.search = list(s.staff("GET", "/payers?q=sandbox"))
        for listing in r.search:
            steps.detail(f"{listing['id']}  {listing['name']} (payer id {listing['payer_id']})")
        r.accepted = dict(s.staff("POST", "/accepted-payers", {"payer_id": PAYER}, expect=(201,)))
        for e in r.accepted["enrollments"]:
            steps.detail(f"  {e['transaction']:<12} {e['status']}")

        steps.step("Enroll with the sandbox: POST /accepted-payers/SBXHP/enrollments")
        path = f"/accepted-payers/{PAYER}/enrollments"
        r.claims_enrollment = s.staff_status("POST", path, {"transaction": "claims"})
        status, body = r.claims_enrollment
        expect(status == 409, f"enrolling for claims answered {status}: {body}")
        steps.detail(f"claims: {status} {body['details'].get('reason')} (the payer takes claims from anyone)")
        r.enrollment = dict(s.staff("POST", path, {"transaction": "remittance"}, expect=(201,)))
        r.enrollment_statuses = [r.enrollment["status"]]
        steps.detail(f"remittance: {r.enrollment['status']} ({r.enrollment['clearinghouse_id']})")
        while r.enrollment_statuses[-1] != "live" and len(r.enrollment_statuses) < 5:
            views = s.staff("GET", path)  # each read asks the clearinghouse, which moves it on
            now = next(v for v in views if v["transaction"] == "remittance")
            r.enrollment_statuses.append(now["status"])
            steps.detail(f"read again: {now['status']}" + (f" — {now['message']}" if now["message"] else ""))
        expect(r.enrollment_statuses[-1] == "live", f"the enrollment went {r.enrollment_statuses}")

    def coverage(self) -> None:
        s, r, steps = self.s, self.result, self.steps
        steps.step("A client with a diagnosis and their primary coverage (the sandbox's $25 copay member)")
        body = {
            "first_name": "Maya",
            "last_name": "Insured",
            "email": f"maya.{self.run_id}@client.example.com",
            "billing_type": "insurance",
        }
        r.client = dict(s.staff("POST", "/clients", body, expect=(201,)))
        cid = r.client["id"]
        s.staff("PUT", f"/clients/{cid}/diagnoses", {"codes": [DIAGNOSIS]})
        coverage = {
            "payer": {"id": PAYER_ID, "name": "Sandbox Health Plan"},
            "plan_name": "Sandbox PPO",
            "member_id": MEMBER_ID,
            "group_number": "GRP-100",
            "patient_birth_date": BIRTH_DATE,
            "patient_sex": "F",
            "authorization_required": True,
        }
        r.coverage = dict(s.staff("POST", f"/clients/{cid}/coverage", coverage, expect=(201,)))
        steps.detail(
            f"{cid} · coverage {r.coverage['id']}: {r.coverage['rank']}, {r.coverage['payer']['name']}, "
            f"member {r.coverage['member_id']}; the payer requires an authorization"
        )
        steps.step("A picture of the card's front: the signed upload form, then straight to storage")
        base = f"/clients/{cid}/coverage/{r.coverage['id']}/card-images"
        form = s.staff("POST", base, {"side": "front", "content_type": "image/png"}, expect=(201,))
        files = {"file": ("front.png", PNG, "image/png")}
        try:
            r.card_upload = requests.post(
                form["url"], data=form["fields"], files=files, timeout=10
            ).status_code
        except requests.RequestException as exc:
            raise SliceError(f"the card picture upload: {exc}") from exc
        r.card_pictures = list(s.staff("GET", base))
        steps.detail(f"upload answered {r.card_upload}; stored: {[p['side'] for p in r.card_pictures]}")

    def eligibility(self) -> None:
        s, r, steps = self.s, self.result, self.steps
        steps.step("Eligibility: POST /clients/{id}/coverage/{cov}/eligibility (270 → sandbox payer → 271)")
        path = f"/clients/{r.client['id']}/coverage/{r.coverage['id']}/eligibility"

        def answered() -> dict[str, Any] | None:  # adding the coverage asked for a check too
            status, body = s.staff_status("POST", path, {})
            if status == 409 and "check_id" in (body.get("details") or {}):
                return None  # that check is at the payer now: ask again in a moment
            if status not in (200, 201):
                raise SliceError(f"POST {path}: HTTP {status}: {body}")
            return dict(body)

        r.eligibility = poll(answered, timeout=s.wait, what="the eligibility check")
        check, copay = r.eligibility["check"], r.eligibility["coverage"]
        steps.detail(
            f"{check['status']} · {check['plan_name']} · network {check['network']} · "
            f"from {check['plan_begin']}"
            + (" (today's check, not asked again)" if r.eligibility["repeated"] else "")
        )
        steps.detail("\n".join(_benefit_lines(check)))
        steps.detail(f"the coverage's copay now: {money(copay['copay_amount'] or 0)} (found by the check)")
        expect(copay["copay_amount"] == COPAY, f"the copay found is {copay}")

    def authorization_and_bookings(self) -> None:
        s, r, steps = self.s, self.result, self.steps
        cid, cov = r.client["id"], r.coverage["id"]
        steps.step("An authorization of 1 visit, then two bookings")
        auth = {
            "authorized": 1,
            "cpt_codes": [CPT],
            "start_date": self.today.isoformat(),
            "end_date": (self.today + timedelta(days=30)).isoformat(),
            "reference": f"AUTH-{self.run_id}",
        }
        r.authorization = dict(
            s.staff(
                "POST",
                f"/clients/{cid}/coverage/{cov}/authorizations",
                auth,
                expect=(201,),
                headers={"Idempotency-Key": f"demo-authorization-{self.run_id}"},
            )
        )
        a = r.authorization
        steps.detail(f"{a['id']}: {a['authorized']} visit from {a['start_date']} to {a['end_date']}")
        service = {
            "name": "Psychotherapy, 53+ minutes",
            "cpt_code": CPT,
            "unit": "session",
            "unit_price": PRICE,
        }
        self.service_id = s.staff("POST", "/services", service, expect=(201,))["id"]
        s.save_card(cid, CARD_VISA, signer_name="Maya Insured")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        r.insured = self._book(now - timedelta(hours=2), "1")
        steps.detail(
            f"today:    {r.insured['id']} {r.insured['status']}, "
            f"warning: {r.insured['authorization_warning']}"
        )
        r.warned = self._book(now + timedelta(days=1), "2")
        warning = r.warned["authorization_warning"] or {}
        steps.detail(f"tomorrow: {r.warned['id']} {r.warned['status']}, warning: {warning.get('code')}")
        steps.detail(f"  “{warning.get('message')}”")
        expect(warning.get("code") == "authorization_used_up", f"no warning on {r.warned}")

    def self_pay_instead(self) -> None:
        s, r, steps = self.s, self.result, self.steps
        steps.step("Staff cancel that booking and book the visit as self-pay instead")
        r.cancelled = dict(
            s.staff("POST", f"/sessions/{r.warned['id']}/cancel", {"cancelled_by": "practice"})
        )
        start = datetime.fromisoformat(r.warned["scheduled_start"].replace("Z", "+00:00"))
        r.self_pay = self._book(start, "3", billing="self_pay")
        fee = r.cancelled["fee"]
        steps.detail(
            f"{r.cancelled['id']}: {r.cancelled['status']}, fee {money(fee['amount'])} ({fee['reason']})"
        )
        steps.detail(
            f"{r.self_pay['id']}: {r.self_pay['status']}, billing {r.self_pay['billing']}, "
            f"warning: {r.self_pay['authorization_warning']} (the client pays {money(PRICE)} for it)"
        )

    def _book(self, start: datetime, n: str, **extra: Any) -> dict[str, Any]:
        body = {
            "client_id": self.result.client["id"],
            "service_id": self.service_id,
            "clinician_id": demo_clinician(self.s),
            "scheduled_start": utc_z(start),
            "scheduled_end": utc_z(start + timedelta(minutes=55)),
            **extra,
        }
        key = {"Idempotency-Key": f"demo-ins-{self.run_id}-{n}"}
        return dict(self.s.staff("POST", "/sessions", body, expect=(201,), headers=key))

    def the_insured_session(self) -> None:
        s, r, steps = self.s, self.result, self.steps
        sid, cid = r.insured["id"], r.client["id"]
        steps.step("The insured session: check in (the copay, card on file), then complete")
        r.checked_in = dict(s.staff("POST", f"/sessions/{sid}/check-in"))
        copay = r.checked_in["copay"]
        steps.detail(f"copay {money(copay['amount'])}: {copay['status']} ({copay['payment_id']})")
        expect(copay["status"] == "charged", f"the copay is {copay}")
        start = datetime.fromisoformat(r.insured["scheduled_start"].replace("Z", "+00:00"))
        times = {"actual_start": utc_z(start), "actual_end": utc_z(start + timedelta(minutes=55))}
        r.completed = dict(s.staff("POST", f"/sessions/{sid}/complete", times))
        steps.detail(f"{sid}: {r.completed['status']}; the {money(PRICE)} price is the claim's")
        path = f"/clients/{cid}/coverage/{r.coverage['id']}/authorizations/{r.authorization['id']}"
        r.authorization_after = dict(s.staff("GET", path))
        a = r.authorization_after
        steps.detail(f"authorization: {a['used']} of {a['authorized']} used, {a['remaining']} left")

        steps.step("What the client owes: GET /clients/{id}/ledger")
        r.ledger = s.wait_for_ledger_entry(cid, copay["payment_id"])
        for e in r.ledger["entries"]:
            steps.detail(
                f"{e['posted_at'][:19]}  {e['kind']:<8} {signed(e['signed_amount']):>10}  {e['memo']}"
            )
        steps.detail(
            f"balance: {balance(r.ledger['balance'], r.ledger['currency'])} — the copay, paid; never more"
        )

        steps.step("Tonight's listing: GET /nightly/tonight")
        r.tonight = dict(s.staff("GET", "/nightly/tonight"))
        for state in ("ready", "incomplete", "skipped", "held"):
            for item in r.tonight[state]:
                why = ", ".join(item["reason_texts"])
                steps.detail(
                    f"{item['session_id']} {item['client_name']}: {state}" + (f" ({why})" if why else "")
                )


def run_insurance_demo(
    gateway_url: str, say: Any = print, *, run_id: str | None = None
) -> InsuranceDemoResult:
    """Every step over HTTP; raises :class:`SliceError` at the first failure."""
    started = time.monotonic()
    demo = InsuranceDemo(gateway_url, say, run_id or uuid.uuid4().hex[:8])
    demo.provider_setup()
    demo.payers()
    demo.coverage()
    demo.eligibility()
    demo.authorization_and_bookings()
    demo.self_pay_instead()
    demo.the_insured_session()
    demo.result.seconds = time.monotonic() - started
    say(f"\nInsurance works end to end ({demo.result.seconds:.1f}s).")
    return demo.result
