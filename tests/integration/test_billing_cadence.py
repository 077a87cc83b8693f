"""Billing at completion through the real entry points (moto's Scheduler): completing a session
of a client billed at completion asks for a one-time ``billing-now-`` firing of nightly-dispatch,
which bills that session through the nightly run's exactly-once path; a replayed firing, and the
run that night, bill nothing more. A session not Ready, insured, or switched back to nightly is
left to the run; a scheduler that cannot be reached fails nothing. The settings' tenancy, roles
and bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_socket import disable_socket

from devstack import apigw
from tests.integration import scenario
from tests.integration.conftest import AwsClients, World, open_world
from tests.integration.test_business_metrics import Emf
from tests.integration.test_business_metrics import emf as emf_fixture  # noqa: F401 - the fixture
from tests.integration.test_nightly_support import (
    charges,
    drain,
    fire,
    install_queue,
    insure,
    local,
    mails,
    run_of,
    service,
    session_on,
)
from therabill import contract
from therabill.core.errors import DependencyUnavailableError

TARGET = "arn:aws:lambda:us-east-1:123456789012:function:therabill-nightly-dispatch"
ROLE = "arn:aws:iam::123456789012:role/therabill-scheduler"
DAY = "2026-11-20"
EVENT = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "scheduler" / "billing_at_completion.json").read_text()
)


@pytest.fixture
def world(aws_clients: AwsClients) -> Iterator[World]:
    """The scheduler configured as in Lambda (nightly-dispatch its target)."""
    disable_socket(allow_unix_socket=True)
    with open_world(scheduler=(TARGET, ROLE), clients=aws_clients) as w:
        yield w


def _firings(world: World) -> list[dict[str, Any]]:
    """The billing-now schedules' inputs (each with its target)."""
    client = world.session.client("scheduler")
    group = world.resources.schedule_group
    listed = client.list_schedules(GroupName=group, NamePrefix="billing-now-")["Schedules"]
    found = [client.get_schedule(Name=s["Name"], GroupName=group) for s in listed]
    return [{"target": s["Target"]["Arn"], **json.loads(s["Target"]["Input"])} for s in found]


def _fire(world: World, firing: dict[str, Any]) -> str:
    event = {**EVENT, **{k: v for k, v in firing.items() if k != "target"}}
    out = world.handler("nightly_dispatch")(event, apigw.LambdaContext("nightly-dispatch"))
    return str(out["result"])


def _cadence(world: World, practice_id: str, client_id: str, cadence: str | None) -> dict[str, Any]:
    status, body = world.staff(
        "PUT", f"/clients/{client_id}/billing-cadence", {"cadence": cadence}, practice_id=practice_id
    )
    assert status == 200, body
    return dict(body)


def _client_mail(world: World, to: str) -> list[str]:
    return sorted(subject[:7] for addr, subject, _ in mails(world) if addr == to)


def test_a_session_completed_is_billed_once_at_completion_and_the_run_bills_nothing_more(
    world: World,
    emf_fixture: Emf,  # noqa: F811 - the fixture imported above
) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    body = {"billing_cadence": "at_completion"}
    status, settings = world.staff("PUT", "/practice/billing-automation", body, practice_id=practice.id)
    assert status == 200 and settings["billing_cadence"] == "at_completion", settings
    svc = service(world, practice)
    ann = scenario.create_client(world, practice, first_name="ann", email="ann@client.test")
    scenario.save_card(world, practice, ann["id"])  # AutoPay on (the default): charged
    bob = scenario.create_client(world, practice, first_name="bob", email="bob@client.test")
    scenario.save_card(world, practice, bob["id"])
    off = {"enabled": False}  # AutoPay off: the invoice is sent, the card never charged
    assert world.staff("PUT", f"/clients/{bob['id']}/autopay", off, practice_id=practice.id)[0] == 200
    s_ann = session_on(world, practice, ann["id"], svc, local(DAY, 9))
    s_bob = session_on(world, practice, bob["id"], svc, local(DAY, 11))
    firings = _firings(world)
    assert sorted(f["session_id"] for f in firings) == sorted([s_ann["id"], s_bob["id"]])
    assert {f["target"] for f in firings} == {TARGET}
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert {i["will"] for i in listing["ready"]} == {"billed at completion"}, listing

    by_session = {f["session_id"]: f for f in firings}
    intents = len([r for r in world.stripe.requests if r.path == "/v1/payment_intents"])
    assert _fire(world, by_session[s_ann["id"]]) == "charged"
    assert _fire(world, by_session[s_bob["id"]]) == "sent"
    assert charges(world) == 1
    assert len([r for r in world.stripe.requests if r.path == "/v1/payment_intents"]) == intents + 1  # ann's
    assert _client_mail(world, "ann@client.test") == ["Receipt"]  # one email: the receipt
    assert _client_mail(world, "bob@client.test") == ["Invoice"]
    status, billed = world.staff("GET", "/invoices", practice_id=practice.id, query={"client_id": ann["id"]})
    assert status == 200 and [(i["status"], i["total"]) for i in billed["items"]] == [("paid", 12_000)]

    assert emf_fixture.read()[contract.METRIC_SESSIONS_BILLED_AT_COMPLETION] == 2  # no run reports them
    assert _fire(world, by_session[s_ann["id"]]) == "already_billed"  # a replayed firing
    fire(world, practice.id, local(DAY, 23))  # the run that night
    drain(world)
    assert run_of(world, practice.id, DAY)["items"] == []
    assert charges(world) == 1
    assert _client_mail(world, "ann@client.test") == ["Receipt"]
    assert _client_mail(world, "bob@client.test") == ["Invoice"]


def test_a_session_not_ready_insured_or_switched_back_is_left_to_the_run(world: World) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)  # the practice bills nightly
    status, _ = world.staff(
        "PATCH", "/practice", {"billing_requires_signed_note": True}, practice_id=practice.id
    )
    assert status == 200
    svc = service(world, practice)
    cat = scenario.create_client(world, practice, first_name="cat", email="cat@client.test")
    scenario.save_card(world, practice, cat["id"])
    dan = scenario.create_client(world, practice, first_name="dan", email="dan@client.test")
    scenario.save_card(world, practice, dan["id"])
    eve = scenario.create_client(world, practice, first_name="eve", email="eve@client.test")
    insure(world, practice, eve["id"])
    for c in (cat, dan, eve):
        assert _cadence(world, practice.id, c["id"], "at_completion")["effective"] == "at_completion"
    s_cat = session_on(world, practice, cat["id"], svc, local(DAY, 9))
    s_dan = session_on(world, practice, dan["id"], svc, local(DAY, 10))
    s_eve = session_on(world, practice, eve["id"], svc, local(DAY, 11))
    by_session = {f["session_id"]: f for f in _firings(world)}
    assert _fire(world, by_session[s_cat["id"]]) == "left_for_the_run"  # its note is not signed
    assert _fire(world, by_session[s_eve["id"]]) == "left_for_the_run"  # insured: the claim path
    for s in (s_cat, s_dan):
        assert world.staff("POST", f"/sessions/{s['id']}/note-signature", practice_id=practice.id)[0] == 200
    _cadence(world, practice.id, dan["id"], None)  # back to the practice's (nightly) before its firing
    # Each signature asked for one more firing (the same input, another schedule name).
    assert sorted(f["session_id"] for f in _firings(world)) == sorted(
        [s_cat["id"], s_cat["id"], s_dan["id"], s_dan["id"], s_eve["id"]]
    )
    assert _fire(world, by_session[s_cat["id"]]) == "charged"
    assert _fire(world, by_session[s_dan["id"]]) == "left_for_the_run"
    assert charges(world) == 1

    fire(world, practice.id, local(DAY, 23))
    drain(world)
    items = {i["session_id"]: i for i in run_of(world, practice.id, DAY)["items"]}
    assert set(items) == {s_dan["id"]} and items[s_dan["id"]]["outcome"] == "charged"
    assert charges(world) == 2  # cat once (at completion), dan once (the run)
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    [waits] = listing["incomplete"]  # eve: the claim path, as before
    assert waits["session_id"] == s_eve["id"] and "claims_not_set_up" in waits["reasons"], waits


def test_a_scheduler_that_cannot_be_reached_fails_no_completion_and_the_run_bills_it(
    world: World,
) -> None:
    class Down:
        def request(self, *args: Any, **kwargs: Any) -> None:
            raise DependencyUnavailableError("the scheduler could not be reached")

    install_queue(world)
    world.container.completion_requests = Down()  # type: ignore[misc]
    practice = scenario.create_practice(world)
    world.staff(
        "PUT", "/practice/billing-automation", {"billing_cadence": "at_completion"}, practice_id=practice.id
    )
    svc = service(world, practice)
    fay = scenario.create_client(world, practice, email="fay@client.test")
    scenario.save_card(world, practice, fay["id"])
    s = session_on(world, practice, fay["id"], svc, local(DAY, 9))  # 200 inside
    assert s["status"] == "completed" and _firings(world) == []
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    assert [i["outcome"] for i in run_of(world, practice.id, DAY)["items"]] == ["charged"]
    assert charges(world) == 1


def test_billing_cadence_settings_tenancy_roles_and_bad_input(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    other = scenario.create_practice(world, connect=False)
    client = scenario.create_client(world, practice)
    path = f"/clients/{client['id']}/billing-cadence"
    status, shown = world.staff("GET", path, practice_id=practice.id)
    assert status == 200 and shown == {
        "client_id": client["id"],
        "cadence": None,
        "practice_cadence": "nightly",
        "effective": "nightly",
        "version": shown["version"],
    }
    assert world.staff("GET", path, practice_id=other.id)[0] == 404
    assert world.staff("PUT", path, {"cadence": "at_completion"}, practice_id=other.id)[0] == 404
    assert (
        world.staff("PUT", path, {"cadence": "at_completion"}, practice_id=practice.id, role="clinician")[0]
        == 403
    )
    for bad, field in (
        ({"cadence": "weekly"}, "cadence"),
        ({"cadence": "nightly", "x": 1}, "x"),
        ({}, "cadence"),
    ):
        status, body = world.staff("PUT", path, bad, practice_id=practice.id)
        assert status == 400 and field in str(body["details"]), (bad, body)
    stale = {"cadence": "at_completion", "expected_version": shown["version"] + 1}
    assert world.staff("PUT", path, stale, practice_id=practice.id)[0] == 409
    status, body = world.staff(
        "PUT", "/practice/billing-automation", {"billing_cadence": "weekly"}, practice_id=practice.id
    )
    assert status == 400 and "billing_cadence" in str(body["details"]), body
    assert (
        world.staff(
            "PUT",
            "/practice/billing-automation",
            {"billing_cadence": "at_completion"},
            practice_id=practice.id,
            role="biller",
        )[0]
        == 403
    )
    assert world.staff("GET", path, practice_id=practice.id)[1] == shown  # nothing was written
    status, mine = world.staff(
        "PUT",
        path,
        {"cadence": "at_completion", "expected_version": shown["version"]},
        practice_id=practice.id,
    )
    assert status == 200 and (mine["cadence"], mine["effective"]) == ("at_completion", "at_completion")
    world.staff(
        "PUT", "/practice/billing-automation", {"billing_cadence": "at_completion"}, practice_id=practice.id
    )
    status, back = world.staff("PUT", path, {"cadence": None}, practice_id=practice.id)
    assert status == 200 and (back["cadence"], back["practice_cadence"], back["effective"]) == (
        None,
        "at_completion",
        "at_completion",
    )


def test_a_firing_that_crashed_after_the_charge_is_finished_by_the_run_with_one_charge(
    world: World,
) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    world.staff(
        "PUT", "/practice/billing-automation", {"billing_cadence": "at_completion"}, practice_id=practice.id
    )
    svc = service(world, practice)
    gus = scenario.create_client(world, practice, email="gus@client.test")
    scenario.save_card(world, practice, gus["id"])
    s = session_on(world, practice, gus["id"], svc, local(DAY, 9))
    [firing] = _firings(world)

    def crash(step: str) -> None:
        if step == "charged":
            raise RuntimeError("crash after the charge")

    world.container.nightly.checkpoint = crash
    with pytest.raises(RuntimeError):
        _fire(world, firing)  # at 09:55: tonight's run is still last night's
    world.container.nightly.checkpoint = lambda step: None
    assert charges(world) == 1
    fire(world, practice.id, local(DAY, 23))  # the run resumes the session the firing claimed
    drain(world)
    [item] = run_of(world, practice.id, DAY)["items"]
    assert (item["session_id"], item["outcome"], item["charged"]) == (s["id"], "charged", 12_000)
    assert _fire(world, firing) == "already_billed"  # the scheduler's retry, later
    assert charges(world) == 1 and _client_mail(world, "gus@client.test") == ["Receipt"]
    status, billed = world.staff("GET", "/invoices", practice_id=practice.id, query={"client_id": gus["id"]})
    assert status == 200 and [(i["status"], i["total"]) for i in billed["items"]] == [("paid", 12_000)]
