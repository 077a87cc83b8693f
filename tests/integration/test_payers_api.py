"""The payer routes through the real staff handler: the directory searched, payers accepted and
removed, enrollments sent exactly once (a second click, a retry after the clearinghouse was down
or after a crash half way), refused with the reason before anything is written, rejected with the
clearinghouse's reasons, their statuses read again from the clearinghouse; who may act; the
caller's practice only. The clearinghouse is the Stedi adapter over the fake Stedi."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.fake_stedi import FakeStedi
from tests.integration import scenario
from tests.integration.conftest import World
from therabill.adapters.http_client import RetryingClient
from therabill.adapters.stedi import StediClearinghouse
from therabill.clearinghouse.port import Enrollment, EnrollmentRequest
from therabill.providers.models import parse_billing_provider

CREATE = "POST https://enrollments.us.stedi.com/2024-09-01/enrollments"
PROVIDER = {
    "entity": "organization",
    "organization_name": "Harbor Therapy Group",
    "npi": "1234567893",
    "tax_id": {"kind": "ein", "number": "12-3456789"},
    "taxonomy": "193400000X",
    "accepts_assignment": True,
    "address": {"lines": ["12 Harbor Street"], "city": "Portland", "state": "ME", "zip": "041011234"},
    "contact": {"name": "Dana Reyes", "phone": "2075550143", "email": "billing@harbor.example"},
}


class CrashingStedi(StediClearinghouse):
    """The Stedi adapter, but the next ``crashes`` enrollments die before the request leaves (the
    function stopped half way: the draft is written, the clearinghouse never heard), and the next
    ``lost`` die after the clearinghouse made the enrollment (its answer never recorded)."""

    crashes = 0
    lost = 0

    def enroll(self, request: EnrollmentRequest) -> Enrollment:
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("the function stopped")
        made = super().enroll(request)
        if self.lost:
            self.lost -= 1
            raise RuntimeError("the function stopped")
        return made


@dataclass
class Office:
    world: World
    fake: FakeStedi
    stedi: CrashingStedi
    practice_id: str

    def call(self, method: str, path: str, body: Any = None, *, role: str = "biller", **kw: Any) -> Any:
        return self.world.staff(method, path, body, practice_id=self.practice_id, role=role, **kw)

    def set_up_provider(self) -> None:
        self.world.container.providers.set_billing_provider(
            self.practice_id, parse_billing_provider(PROVIDER), by="stf_setup", expected_version=None
        )

    def enroll(self, payer: str, transaction: str) -> Any:
        return self.call("POST", f"/accepted-payers/{payer}/enrollments", {"transaction": transaction})

    def states(self, payer: str) -> dict[str, str]:
        status, body = self.call("GET", f"/accepted-payers/{payer}/enrollments", role="clinician")
        assert status == 200, body
        return {e["transaction"]: e["status"] for e in body}

    def created(self) -> int:
        return len(self.fake.app.enrollments)


@pytest.fixture
def office(world: World) -> Office:
    fake = FakeStedi()
    stedi = CrashingStedi(lambda: fake.api_key, client=RetryingClient(fake.transport, sleep=fake.sleep))
    world.container.clearinghouse = stedi  # before the payers' service is built
    practice = scenario.create_practice(world, connect=False)
    return Office(world, fake, stedi, practice.id)


def test_search_accept_list_and_remove(office: Office) -> None:
    status, found = office.call("GET", "/payers", query={"q": "BLUE cross"}, role="front_desk")
    assert status == 200, found
    assert [(p["id"], p["payer_id"], p["name"]) for p in found] == [
        ("PRAIR", "00621", "Prairie Blue Cross Blue Shield")
    ]
    assert found[0]["transactions"] == {
        "eligibility": "supported",
        "claims": "enrollment_required",
        "claim_status": "supported",
        "remittance": "enrollment_required",
    }
    status, by_alias = office.call("GET", "/payers", query={"q": "hmh01"})
    assert [p["id"] for p in by_alias] == ["HRBOR"]

    assert office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"}, role="front_desk")[0] == 403
    status, accepted = office.call("POST", "/accepted-payers", {"payer_id": " prair "})
    assert status == 201, accepted
    assert accepted["payer"]["aliases"] == ["00621", "BCBSPR", "PRBCBS"]
    assert [(e["transaction"], e["status"]) for e in accepted["enrollments"]] == [
        ("eligibility", "not_required"),
        ("claims", "not_started"),
        ("claim_status", "not_required"),
        ("remittance", "not_started"),
    ]
    status, again = office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"}, role="owner")
    assert status == 201 and again["accepted_at"] == accepted["accepted_at"]  # accepted once
    assert again["accepted_by"] == accepted["accepted_by"]
    assert office.call("POST", "/accepted-payers", {"payer_id": "NOPEX"})[0] == 404
    assert office.call("POST", "/accepted-payers", {"payer_id": "00621"})[0] == 404  # not a directory id

    status, listed = office.call("GET", "/accepted-payers", role="clinician")
    assert status == 200 and [p["payer"]["id"] for p in listed] == ["PRAIR"]
    assert office.call("DELETE", "/accepted-payers/PRAIR", role="clinician")[0] == 403
    assert office.call("DELETE", "/accepted-payers/prair")[0] == 204
    assert office.call("DELETE", "/accepted-payers/PRAIR")[0] == 404
    assert office.call("GET", "/accepted-payers")[1] == []


def test_an_enrollment_is_sent_once_and_its_status_read_from_the_clearinghouse(office: Office) -> None:
    office.set_up_provider()
    office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"})
    status, sent = office.enroll("PRAIR", "claims")
    assert status == 201, sent
    assert (sent["status"], sent["support"], sent["message"]) == ("submitted", "enrollment_required", None)
    status, again = office.enroll("PRAIR", "claims")  # a double click, a retry
    assert status == 201 and again["clearinghouse_id"] == sent["clearinghouse_id"]
    assert office.created() == 1
    body = json.loads(next(r.body for r in office.fake.requests if f"{r.method} {r.url}" == CREATE) or b"")
    assert body["payer"] == {"idOrAlias": "PRAIR"}
    assert body["transactions"] == {"professionalClaimSubmission": {"enroll": True}}
    assert body["primaryContact"]["organizationName"] == "Harbor Therapy Group"
    assert office.fake.app.providers[body["provider"]["id"]]["taxId"] == "123456789"

    assert office.states("PRAIR")["claims"] == "provisioning"  # the sandbox moves on as it is read
    assert office.states("PRAIR")["claims"] == "live"
    reads = len(office.fake.requests)
    assert office.states("PRAIR")["claims"] == "live"
    assert len(office.fake.requests) == reads  # live: not asked again
    status, listed = office.call("GET", "/accepted-payers")
    assert [e["status"] for e in listed[0]["enrollments"]] == [
        "not_required",
        "live",
        "not_required",
        "not_started",
    ]


def test_a_rejected_enrollment_carries_the_message_and_can_be_sent_again(office: Office) -> None:
    office.set_up_provider()
    office.call("POST", "/accepted-payers", {"payer_id": "HRBOR"})
    _, first = office.enroll("HRBOR", "remittance")
    office.states("HRBOR")
    status, shown = office.call("GET", "/accepted-payers/HRBOR/enrollments")
    remittance = shown[3]
    assert (remittance["status"], remittance["message"]) == (
        "rejected",
        "The payer has no record of this NPI with this tax id.",
    )
    status, second = office.enroll("HRBOR", "remittance")
    assert status == 201 and second["status"] == "submitted"
    assert second["clearinghouse_id"] != first["clearinghouse_id"] and office.created() == 2


def test_refused_before_anything_is_written(office: Office) -> None:
    office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"})
    office.call("POST", "/accepted-payers", {"payer_id": "CEDAR"})
    status, body = office.enroll("PRAIR", "claims")
    assert (status, body["details"]["reason"]) == (409, "no_billing_provider"), body
    assert "billing provider" in body["message"]
    office.set_up_provider()
    status, body = office.enroll("PRAIR", "eligibility")
    assert (status, body["details"]["reason"]) == (409, "not_required")
    status, body = office.enroll("CEDAR", "remittance")
    assert (status, body["details"]["reason"]) == (409, "not_supported")
    assert office.enroll("LAKES", "claims")[0] == 404  # not accepted
    assert office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"}, role="front_desk")[0] == 403
    assert (
        office.call(
            "POST", "/accepted-payers/PRAIR/enrollments", {"transaction": "claims"}, role="clinician"
        )[0]
        == 403
    )
    assert office.created() == 0 and office.states("PRAIR")["claims"] == "not_started"


BAD = [
    ("POST", "/accepted-payers/PRAIR/enrollments", {"transaction": "era"}, None, "transaction"),
    ("POST", "/accepted-payers/PRAIR/enrollments", {"transaction": "claims", "x": 1}, None, "x"),
    ("POST", "/accepted-payers", {"payer_id": "PR-AIR"}, None, "payer_id"),
    ("POST", "/accepted-payers", {}, None, "payer_id"),
    ("GET", "/accepted-payers/P/enrollments", None, None, "path.payer_id"),
    ("GET", "/payers", None, None, "query.q"),
    ("GET", "/payers", None, {"q": "b"}, "query.q"),
]


def test_bad_input_is_refused_with_the_field(office: Office) -> None:
    office.set_up_provider()
    office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"})
    seen = []
    for method, path, body, query, field in BAD:
        status, answer = office.call(method, path, body, query=query)
        assert status == 400, (path, answer)
        seen.append([p["field"] for p in answer["details"]["problems"]])
        if field == "payer_id" and body:
            assert answer["details"]["problems"][0]["problem"].startswith("must be a payer's id")
        if field == "transaction":
            assert "'claims'" in answer["details"]["problems"][0]["problem"]
    assert seen == [[field] for *_, field in BAD]
    assert office.created() == 0 and office.states("PRAIR")["claims"] == "not_started"


def test_the_clearinghouse_down_is_503_and_a_retry_completes(office: Office) -> None:
    office.set_up_provider()
    office.fake.fail_next(3, "503")
    status, body = office.call("GET", "/payers", query={"q": "health"})
    assert (status, body["code"]) == (503, "unavailable")
    office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"})
    office.fake.fail_next(1, "503", only=CREATE)
    assert office.enroll("PRAIR", "claims")[0] == 503
    assert office.states("PRAIR")["claims"] == "draft"  # kept, let go: the next request may send it
    status, sent = office.enroll("PRAIR", "claims")
    assert (status, sent["status"]) == (201, "submitted") and office.created() == 1
    office.fake.fail_next(3, "503")
    assert office.states("PRAIR")["claims"] == "submitted"  # as last recorded
    assert office.states("PRAIR")["claims"] == "provisioning"  # reachable again: read again


def test_a_refused_key_lets_the_draft_go_at_once_and_shows_enrollments_as_recorded(office: Office) -> None:
    office.set_up_provider()
    office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"})
    right, office.fake.api_key = office.fake.api_key, "rotated-elsewhere"
    try:
        assert office.enroll("PRAIR", "claims")[0] == 503  # an operator's problem: nothing made
        assert office.states("PRAIR")["claims"] == "draft"
    finally:
        office.fake.api_key = right
    status, sent = office.enroll("PRAIR", "claims")  # not "being sent" for a minute: sent now
    assert (status, sent["status"]) == (201, "submitted") and office.created() == 1
    office.fake.api_key = "rotated-elsewhere"
    assert office.states("PRAIR")["claims"] == "submitted"  # as recorded, not a 503


def test_a_crash_half_way_is_completed_by_a_later_retry_and_a_second_click_waits(office: Office) -> None:
    office.set_up_provider()
    office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"})
    office.stedi.crashes = 1
    assert office.enroll("PRAIR", "claims")[0] == 500
    status, busy = office.enroll("PRAIR", "claims")  # the draft is still claimed by the first
    assert status == 409 and "right now" in busy["message"]
    office.world.clock.now += timedelta(seconds=61)
    status, sent = office.enroll("PRAIR", "claims")
    assert (status, sent["status"]) == (201, "submitted") and office.created() == 1


def test_an_enrollment_whose_answer_was_lost_is_adopted_not_made_twice(office: Office) -> None:
    office.set_up_provider()
    office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"})
    office.stedi.lost = 1
    assert office.enroll("PRAIR", "claims")[0] == 500
    assert office.created() == 1  # the clearinghouse has it; Therabill has only its draft
    office.world.clock.now += timedelta(seconds=61)
    status, sent = office.enroll("PRAIR", "claims")
    assert status == 201 and office.created() == 1
    assert sent["clearinghouse_id"] == next(iter(office.fake.app.enrollments))


def test_a_refusal_by_the_clearinghouse_answers_its_reasons_and_leaves_nothing(office: Office) -> None:
    office.set_up_provider()
    office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"})
    office.fake.fail_next(1, "400", only=CREATE)
    status, body = office.enroll("PRAIR", "claims")
    assert status == 400, body
    assert [(r["code"], r["location"]) for r in body["details"]["reasons"]] == [
        ("validation", "/primaryContact/zipCode")
    ]
    assert office.states("PRAIR")["claims"] == "not_started" and office.created() == 0


def test_a_practice_sees_and_changes_only_its_own_payers(office: Office) -> None:
    office.set_up_provider()
    office.call("POST", "/accepted-payers", {"payer_id": "PRAIR"})
    office.enroll("PRAIR", "claims")
    other = scenario.create_practice(office.world, connect=False, name="Elm Street Counseling")

    def theirs(method: str, path: str, body: Any = None) -> Any:
        return office.world.staff(method, path, body, practice_id=other.id, role="owner")

    assert theirs("GET", "/accepted-payers") == (200, [])
    assert theirs("GET", "/accepted-payers/PRAIR/enrollments")[0] == 404
    assert theirs("POST", "/accepted-payers/PRAIR/enrollments", {"transaction": "claims"})[0] == 404
    assert theirs("DELETE", "/accepted-payers/PRAIR")[0] == 404
    status, mine = office.call("GET", "/accepted-payers")
    assert status == 200 and [p["payer"]["id"] for p in mine] == ["PRAIR"]
    assert mine[0]["enrollments"][1]["status"] == "submitted" and office.created() == 1
