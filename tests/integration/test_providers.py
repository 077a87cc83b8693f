"""Provider set-up through the staff API: the practice's billing provider (its tax id only ever
masked), each clinician's provider record (which holds their supervisor), the taxonomy list;
tenancy, refusals naming the field with nothing written, version conflicts; and the readiness
reasons an insured session gets until the set-up is complete, through the nightly run."""

from __future__ import annotations

import json
from typing import Any

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    C1,
    C2,
    SUP1,
    Claims,
    clinicians,
    drain,
    fire,
    install_queue,
    local,
    service,
    session_on,
)

SSN = "418-27-5093"
PERSON = {
    **scenario.BILLING_PROVIDER,
    "entity": "individual",
    "first_name": "Ana",
    "last_name": "Okafor",
    "taxonomy": "225x00000x",
    "tax_id": {"kind": "ssn", "number": SSN},
}
del PERSON["organization_name"]
NPI, OTHER_NPI = "1245319599", "1912301953"


def _items(world: World, practice_id: str, prefix: str) -> list[dict[str, Any]]:
    return world.container.table.query_all(f"P#{practice_id}", prefix=prefix)


def _audit(world: World, practice_id: str, action: str) -> list[dict[str, Any]]:
    rows = world.container.table.query_all(f"AUDIT#{practice_id}")
    return [r for r in rows if r.get("action") == action and r["SK"].startswith("REC#")]


def _refusal(status: int, body: Any, field: str, words: str) -> None:
    assert status == 400, body
    details = body["details"]
    problems = {p["field"]: p["problem"] for p in details.get("problems", [])}
    if "field" in details:  # a rule the domain checks: one field, the message in words
        problems[details["field"]] = body["message"]
    assert field in problems and words in problems[field], problems


# -- the billing provider ---------------------------------------------------------------------------
def test_the_billing_provider_is_set_from_the_version_read_and_shown_masked(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    pid = practice.id
    assert world.staff("GET", "/practice/billing-provider", practice_id=pid)[0] == 404
    status, made = world.staff("PUT", "/practice/billing-provider", PERSON, practice_id=pid, role="biller")
    assert status == 200, made
    assert (made["entity"], made["version"], made["first_name"]) == ("individual", 1, "Ana")
    assert made["tax_id"] == {"kind": "ssn", "masked": "***-**-5093"}
    assert made["taxonomy"]["code"] == "225X00000X" and made["address"]["zip"] == "04101-1234"
    # Every role reads it; none sees the whole SSN.
    status, read = world.staff("GET", "/practice/billing-provider", practice_id=pid, role="front_desk")
    assert status == 200 and read == made
    assert "418275093" not in json.dumps(read) and "27-5093" not in json.dumps(read)
    # Made meanwhile (no version sent), or a stale version: 409 and nothing written.
    organization = {**scenario.BILLING_PROVIDER, "expected_version": None}
    assert world.staff("PUT", "/practice/billing-provider", organization, practice_id=pid)[0] == 409
    status, changed = world.staff(
        "PUT", "/practice/billing-provider", {**organization, "expected_version": 1}, practice_id=pid
    )
    assert status == 200 and changed["version"] == 2, changed
    assert changed["tax_id"] == {"kind": "ein", "masked": "12-3456789"} and changed["first_name"] is None
    stale = {**PERSON, "expected_version": 1}
    assert world.staff("PUT", "/practice/billing-provider", stale, practice_id=pid)[0] == 409
    assert world.staff("GET", "/practice/billing-provider", practice_id=pid)[1]["version"] == 2
    # Front desk and clinicians may not set it.
    for role in ("front_desk", "clinician"):
        again = {**organization, "expected_version": 2}
        assert world.staff("PUT", "/practice/billing-provider", again, practice_id=pid, role=role)[0] == 403
    # Recorded once per version, naming no value of it.
    records = _audit(world, pid, "provider.billing.change")
    assert len(records) == 2 and "418275093" not in json.dumps(records, default=str)
    # Another practice has none of it.
    other = scenario.create_practice(world, connect=False, name="Other Practice")
    assert world.staff("GET", "/practice/billing-provider", practice_id=other.id)[0] == 404


def test_a_bad_billing_provider_is_refused_at_its_field_and_nothing_written(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    address = scenario.BILLING_PROVIDER["address"]
    cases = [
        ({"npi": "1234567890"}, "organization.npi", "check digit"),
        ({"address": {**address, "lines": ["PO Box 12"]}}, "organization.address.lines[0]", "box"),
        ({"address": {**address, "lines": ["P.O. Box 12"]}}, "organization.address.lines[0]", "box"),
        ({"address": {**address, "lines": ["Post Office Box 5"]}}, "organization.address.lines[0]", "box"),
        ({"address": {**address, "lines": ["p o b 9"]}}, "organization.address.lines[0]", "box"),
        ({"address": {**address, "zip": "04101"}}, "organization.address.zip", "ZIP+4"),
        ({"tax_id": {"kind": "ssn", "number": SSN}}, "organization.tax_id", "EIN"),
        ({"taxonomy": "207Q00000X"}, "organization.taxonomy", "taxonomy"),
        ({"license": "x"}, "organization.license", ""),
    ]
    for change, field, words in cases:
        body = {**scenario.BILLING_PROVIDER, **change}
        status, refused = world.staff("PUT", "/practice/billing-provider", body, practice_id=practice.id)
        _refusal(status, refused, field, words)
        assert SSN not in json.dumps(refused) and "418275093" not in json.dumps(refused)
    assert world.staff("GET", "/practice/billing-provider", practice_id=practice.id)[0] == 404
    assert _items(world, practice.id, "BILLINGPROVIDER") == []


# -- clinicians' provider records -------------------------------------------------------------------
def test_each_clinician_has_a_provider_record_holding_their_supervisor(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    pid = practice.id
    clinicians(world, pid)
    status, listed = world.staff("GET", "/clinicians/providers", practice_id=pid, role="front_desk")
    assert status == 200, listed
    ids = {r["clinician_id"] for r in listed}
    biller = world.member(pid, "biller").id
    assert {C1, C2, SUP1, world.member(pid, "owner").id} <= ids and biller not in ids
    assert all(r["version"] is None and r["rendering_npi"] is None for r in listed)
    # A biller sets the NPI, taxonomy and credentials; not the supervisor.
    body = {"rendering_npi": NPI, "taxonomy": "1041c0700x", "credentials": ["LCSW"]}
    status, record = world.staff("PUT", f"/clinicians/{C1}/provider", body, practice_id=pid, role="biller")
    assert status == 200, record
    assert (record["version"], record["taxonomy"]["code"], record["supervisor_id"]) == (1, "1041C0700X", None)
    supervised = {**body, "supervisor_id": SUP1, "expected_version": 1}
    assert (
        world.staff("PUT", f"/clinicians/{C1}/provider", supervised, practice_id=pid, role="biller")[0] == 403
    )
    status, record = world.staff("PUT", f"/clinicians/{C1}/provider", supervised, practice_id=pid)
    assert status == 200 and (record["version"], record["supervisor_id"]) == (2, SUP1), record
    sup = world.staff("GET", f"/clinicians/{C1}/supervision", practice_id=pid)[1]
    assert sup["supervisor_id"] == SUP1
    # The supervision routes change only the supervisor.
    assert world.staff("DELETE", f"/clinicians/{C1}/supervision", practice_id=pid)[0] == 204
    status, record = world.staff("GET", f"/clinicians/{C1}/provider", practice_id=pid)
    assert (record["version"], record["supervisor_id"], record["rendering_npi"]) == (3, None, NPI)
    world.staff("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, practice_id=pid)
    record = world.staff("GET", f"/clinicians/{C1}/provider", practice_id=pid)[1]
    assert (record["version"], record["supervisor_id"], record["credentials"]) == (4, SUP1, ["LCSW"])
    # A stale version: 409, nothing written.
    stale = {**supervised, "rendering_npi": OTHER_NPI, "expected_version": 2}
    assert world.staff("PUT", f"/clinicians/{C1}/provider", stale, practice_id=pid)[0] == 409
    assert world.staff("GET", f"/clinicians/{C1}/provider", practice_id=pid)[1]["rendering_npi"] == NPI
    assert len(_audit(world, pid, "provider.clinician.change")) == 4


def test_bad_clinician_records_are_refused_and_other_practices_see_nothing(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    pid = practice.id
    clinicians(world, pid)
    biller = world.member(pid, "biller").id
    cases = [
        ({"rendering_npi": "1245319598"}, "rendering_npi", "check digit"),
        ({"taxonomy": "193200000X"}, "taxonomy", "group"),
        ({"credentials": ["LCSW", "lcsw"]}, "credentials", "repeats"),
        ({"supervisor_id": C1}, "supervisor_id", "themself"),
        ({"supervisor_id": biller}, "supervisor_id", "not a clinician"),
        ({"rendering_npi": 1245319599}, "rendering_npi", "text"),
    ]
    for body, field, words in cases:
        status, refused = world.staff("PUT", f"/clinicians/{C1}/provider", body, practice_id=pid)
        _refusal(status, refused, field, words)
    assert world.staff("PUT", f"/clinicians/{biller}/provider", {}, practice_id=pid)[0] == 404
    assert _items(world, pid, "PROVIDER#") == []
    world.staff("PUT", f"/clinicians/{C1}/provider", {"rendering_npi": NPI}, practice_id=pid)
    # Another practice: the id selects nothing there (its own C1 is another member, if any).
    other = scenario.create_practice(world, connect=False, name="Other Practice")
    mine = scenario.clinician(world, practice)
    for method, body in (("GET", None), ("PUT", {"rendering_npi": OTHER_NPI})):
        status, answer = world.staff(method, f"/clinicians/{mine}/provider", body, practice_id=other.id)
        assert status == 404 and pid not in json.dumps(answer), answer
    listed = world.staff("GET", "/clinicians/providers", practice_id=other.id)[1]
    assert mine not in {r["clinician_id"] for r in listed} and _items(world, other.id, "PROVIDER#") == []
    assert world.staff("GET", f"/clinicians/{C1}/provider", practice_id=pid)[1]["rendering_npi"] == NPI


def test_the_taxonomy_list_is_searched_by_code_or_words(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)

    def codes(**query: str) -> list[str]:
        status, found = world.staff(
            "GET", "/providers/taxonomies", practice_id=practice.id, role="front_desk", query=query
        )
        assert status == 200, found
        return [t["code"] for t in found]

    assert codes(q="occupational hand") == ["225XH1200X"]
    assert codes(q="225x00000x") == ["225X00000X"]
    assert "1041C0700X" in codes(q="lcsw")
    assert codes(q="nothing like it") == []
    assert all(c != "193200000X" for c in codes(q="group", kind="individual"))
    assert world.staff("GET", "/providers/taxonomies", practice_id=practice.id)[0] == 400  # no q


# -- readiness --------------------------------------------------------------------------------------
def _reasons(world: World, practice_id: str, session_id: str) -> tuple[str, list[str]]:
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=practice_id)
    assert status == 200, listing
    for state in ("ready", "incomplete", "skipped", "held"):
        for item in listing[state]:
            if item["session_id"] == session_id:
                return state, item["reasons"]
    raise AssertionError(f"{session_id} not listed")


def test_an_insured_session_waits_for_the_provider_set_up_then_is_claimed_once(world: World) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    pid = practice.id
    client = scenario.create_client(world, practice, billing_type="insurance")
    scenario.add_coverage(world, practice, client["id"])
    world.staff("PUT", f"/clients/{client['id']}/diagnoses", {"codes": ["F41.1"]}, practice_id=pid)
    session = session_on(world, practice, client["id"], service(world, practice), local("2026-11-20", 10))
    claims = Claims()
    world.container.nightly.claims = claims
    world.clock.now = local("2026-11-20", 20)
    both = ["insurance_setup_incomplete", "missing_provider_taxonomy"]
    assert _reasons(world, pid, session["id"]) == ("incomplete", both)
    scenario.provider_setup(world, practice)  # the billing provider only
    assert _reasons(world, pid, session["id"]) == ("incomplete", both)  # the clinician has no NPI
    world.staff("PUT", f"/clinicians/{C1}/provider", {"rendering_npi": NPI}, practice_id=pid)
    assert _reasons(world, pid, session["id"]) == ("incomplete", ["missing_provider_taxonomy"])
    body = {"rendering_npi": NPI, "taxonomy": "225X00000X", "expected_version": 1}
    assert world.staff("PUT", f"/clinicians/{C1}/provider", body, practice_id=pid)[0] == 200
    assert _reasons(world, pid, session["id"]) == ("ready", [])
    fire(world, pid, local("2026-11-20", 23))
    drain(world)
    fire(world, pid, local("2026-11-21", 23))
    drain(world)
    assert claims.submitted == [session["id"]]
