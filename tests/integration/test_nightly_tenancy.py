"""Every nightly route: another practice's token sees and changes nothing of this one (404 or its
own empty data), bad input is a 400 with nothing written, and roles are enforced."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import drain, fire, install_queue, local, service, session_on

DAY = "2026-11-20"


@pytest.fixture
def two(world: World) -> dict[str, Any]:
    install_queue(world)
    mine = scenario.create_practice(world)
    other = scenario.create_practice(world, connect=False, name="Other Practice")
    svc = service(world, mine)
    client = scenario.create_client(world, mine, email="bea@client.test")
    ses = session_on(world, mine, client["id"], svc, local(DAY, 10))
    world.clock.now = local(DAY, 20)
    return {"mine": mine, "other": other, "session": ses}


def _snapshot(world: World, practice_id: str) -> list[dict[str, Any]]:
    return world.container.table.query_all(f"P#{practice_id}")


def test_another_practice_sees_and_changes_nothing(world: World, two: dict[str, Any]) -> None:
    mine, other, ses = two["mine"], two["other"], two["session"]
    before = _snapshot(world, mine.id)
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=other.id)
    assert status == 200 and listing["ready"] == [] and listing["totals"]["ready"] == 0
    status, summary = world.staff("GET", "/nightly/summary", practice_id=other.id)
    assert status == 200 and summary["ready"] == []
    for method, path in (
        ("POST", f"/nightly/items/{ses['id']}/hold"),
        ("DELETE", f"/nightly/items/{ses['id']}/hold"),
        ("POST", f"/nightly/items/{ses['id']}/waive-fee"),
    ):
        status, body = world.staff(method, path, practice_id=other.id)
        assert status == 404, (path, body)
    status, _ = world.staff("PUT", "/nightly/settings", {"holidays": {DAY: "skip"}}, practice_id=other.id)
    assert status == 200
    assert _snapshot(world, mine.id) == before
    # My run is mine: the other practice's "run now" starts its own (empty) run, never mine.
    fire(world, mine.id, local(DAY, 23))
    drain(world)
    assert world.staff("GET", f"/billing-runs/{DAY}", practice_id=other.id)[0] == 404
    status, runs = world.staff("GET", "/billing-runs", practice_id=other.id)
    assert status == 200 and runs["items"] == []
    status, body = world.staff("POST", "/billing-runs", practice_id=other.id)
    assert status == 200 and body["run"] is None  # its own holiday calendar skips tonight
    status, mine_run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=mine.id)
    assert status == 200 and mine_run["report"]["items_billed"] == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "query"),
    [
        ("POST", "/nightly/items/not-an-id/hold", None, None),
        ("DELETE", "/nightly/items/ses_/hold", None, None),
        ("POST", "/nightly/items/x/waive-fee", None, None),
        ("GET", "/billing-runs/2026-13-45", None, None),
        ("GET", "/billing-runs/yesterday", None, None),
        ("GET", "/billing-runs", None, {"limit": "0"}),
        ("GET", "/billing-runs", None, {"cursor": "not-a-cursor"}),
        ("PUT", "/nightly/settings", {"holidays": {"2026-02-30": "skip"}}, None),
        ("PUT", "/nightly/settings", {"holidays": {DAY: "tomorrow"}}, None),
        ("PUT", "/nightly/settings", {"holidays": {DAY: DAY}}, None),
        ("PUT", "/nightly/settings", {"holidays": {DAY: "2027-01-20"}}, None),
        ("PUT", "/nightly/settings", {"holidays": {DAY: "skip", "2026-11-21": DAY}}, None),
        ("PUT", "/nightly/settings", {"summary_hours_before": 0}, None),
        ("PUT", "/nightly/settings", {"summary_hours_before": "3"}, None),
        ("PUT", "/nightly/settings", {"cutoff_hour": 5}, None),
        ("PUT", "/nightly/settings", "not json", None),
    ],
)
def test_bad_input_is_400_and_writes_nothing(
    world: World, two: dict[str, Any], method: str, path: str, body: Any, query: dict[str, str] | None
) -> None:
    mine = two["mine"]
    before = _snapshot(world, mine.id)
    status, answer = world.staff(method, path, body, practice_id=mine.id, query=query)
    assert status == 400, answer
    assert _snapshot(world, mine.id) == before


def test_roles(world: World, two: dict[str, Any]) -> None:
    mine, ses = two["mine"], two["session"]
    assert world.staff("POST", "/billing-runs", practice_id=mine.id, role="front_desk")[0] == 403
    assert world.staff("POST", "/billing-runs", practice_id=mine.id, role="clinician")[0] == 403
    assert (
        world.staff(
            "PUT", "/nightly/settings", {"summary_hours_before": 2}, practice_id=mine.id, role="biller"
        )[0]
        == 403
    )
    assert (
        world.staff("POST", f"/nightly/items/{ses['id']}/hold", practice_id=mine.id, role="front_desk")[0]
        == 403
    )
    assert world.staff("GET", "/nightly/tonight", practice_id=mine.id, role="clinician")[0] == 403
    assert world.staff("GET", "/nightly/tonight", practice_id=mine.id, role="front_desk")[0] == 200
    status, held = world.staff(
        "POST", f"/nightly/items/{ses['id']}/hold", practice_id=mine.id, role="clinician"
    )
    assert status == 200 and held["held"] is True
    # Holding twice is harmless; an unknown session of this practice is a 404.
    assert world.staff("POST", f"/nightly/items/{ses['id']}/hold", practice_id=mine.id)[0] == 200
    unknown = "ses_01jz0000000000000000000009"
    assert world.staff("POST", f"/nightly/items/{unknown}/hold", practice_id=mine.id)[0] == 404
