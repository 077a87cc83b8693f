"""The migration of clients' insurance attributes from before coverage existed
(scripts/migrate_coverage.py): per practice, idempotent, and the clients come out insured (or
self-pay) exactly as the old attributes said."""

from __future__ import annotations

from datetime import date
from typing import Any

from scripts.migrate_coverage import migrate

from tests.integration import scenario
from tests.integration.conftest import World


def _legacy(world: World, practice: scenario.Practice, first_name: str, **old: Any) -> str:
    """A client as the code before coverage stored them: the old attributes on the client item."""
    status, client = world.staff(
        "POST", "/clients", {"first_name": first_name, "last_name": "Legacy"}, practice_id=practice.id
    )
    assert status == 201, client
    names = {f"#{k}": k for k in old}
    world.container.table.update(
        f"P#{practice.id}",
        f"CLIENT#{client['id']}",
        update="SET " + ", ".join(f"#{k} = :{k}" for k in old),
        names=names,
        values={f":{k}": v for k, v in old.items()},
    )
    return str(client["id"])


def _raw(world: World, practice: scenario.Practice, client_id: str) -> dict[str, Any]:
    item = world.container.table.get(f"P#{practice.id}", f"CLIENT#{client_id}")
    assert item is not None
    return dict(item)


def _coverage(world: World, practice: scenario.Practice, client_id: str) -> list[dict[str, Any]]:
    status, found = world.staff("GET", f"/clients/{client_id}/coverage", practice_id=practice.id)
    assert status == 200, found
    return list(found)


def test_old_insurance_attributes_become_coverage_once(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    other = scenario.create_practice(world, connect=False)
    copay = _legacy(world, practice, "Cora", copay_amount=2_500, payer_forbids_fees=False)
    payer = _legacy(
        world, practice, "Paz", payer={"name": "Acme Health", "member_id": "M1"}, payer_forbids_fees=False
    )
    payer_id = _legacy(world, practice, "Pia", payer="87726")
    ban = _legacy(world, practice, "Bo", payer_forbids_fees=True)
    plain = _legacy(world, practice, "Pat", payer_forbids_fees=False)
    covered = _legacy(world, practice, "Kit", copay_amount=1_000)
    scenario.add_coverage(world, practice, covered)  # coverage added before the migration ran
    elsewhere = _legacy(world, other, "Eli", copay_amount=3_000)

    now = world.clock()
    (line,) = migrate(world.container.table, [practice.id], now)
    assert line.startswith(f"{practice.id}: 4 given a coverage, 1 cleaned, 1 to review")
    assert covered in line and "Acme" not in line and "M1" not in line

    by_client = {cid: _coverage(world, practice, cid) for cid in (copay, payer, payer_id, ban, plain)}
    (c,) = by_client[copay]
    assert (c["rank"], c["status"], c["copay_amount"], c["forbids_cancellation_fees"]) == (
        "primary",
        "active",
        2_500,
        False,
    )
    assert c["effective_date"] is None and c["end_date"] is None  # in force from the start
    (p,) = by_client[payer]
    assert (p["payer"], p["member_id"], p["copay_amount"]) == (
        {"id": None, "name": "Acme Health"},
        "M1",
        None,
    )
    assert by_client[payer_id][0]["payer"]["id"] == "87726"
    assert by_client[ban][0]["forbids_cancellation_fees"] is True
    assert by_client[plain] == []
    for cid, billing_type in (
        (copay, "insurance"),
        (payer, "insurance"),
        (ban, "insurance"),
        (plain, "self_pay"),
    ):
        status, client = world.staff("GET", f"/clients/{cid}", practice_id=practice.id)
        assert status == 200 and client["billing_type"] == billing_type, (cid, client)
        assert not {"copay_amount", "payer_forbids_fees", "payer"} & set(_raw(world, practice, cid))
    # The migrated clients are insured by the one rule; the one to review was left as it was.
    client = world.container.clients.get(practice.id, copay)
    assert world.container.coverage.standing(practice.id, client, date(2026, 11, 20)).copay == 2_500
    assert _raw(world, practice, covered)["copay_amount"] == 1_000
    assert len(_coverage(world, practice, covered)) == 1
    # Another practice is untouched until it is migrated itself.
    assert _raw(world, other, elsewhere)["copay_amount"] == 3_000

    # Again: nothing more.
    before = {cid: _coverage(world, practice, cid) for cid in by_client}
    (again,) = migrate(world.container.table, [practice.id], now)
    assert again.startswith(f"{practice.id}: 0 given a coverage, 0 cleaned, 1 to review")
    assert {cid: _coverage(world, practice, cid) for cid in by_client} == before
