"""The session lifecycle through the staff API: each transition one conditional write, illegal
ones a 409 with the current status, repeated ones harmless."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.scenario import (
    after_the_session,
    booking_key,
    clinician,
    create_client,
    create_practice,
)
from tests.integration.test_services_pricing import create_service

START = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)


def z(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def setup(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    svc = create_service(world, practice)
    return practice, client, svc


def book(world, practice, client, svc, start=START, minutes=50, **over):
    body = {
        "client_id": client["id"],
        "service_id": svc["id"],
        "clinician_id": clinician(world, practice),
        "scheduled_start": z(start),
        "scheduled_end": z(start + timedelta(minutes=minutes)),
        **over,
    }
    status, session = world.staff("POST", "/sessions", body, practice_id=practice.id, headers=booking_key())
    assert status == 201, session
    return session


def act(world, practice, session_id, action, body=None, role="owner"):
    if action == "complete":
        after_the_session(world, body)
    return world.staff("POST", f"/sessions/{session_id}/{action}", body, practice_id=practice.id, role=role)


def completion(start=START, minutes=52, seconds=1):
    return {"actual_start": z(start), "actual_end": z(start + timedelta(minutes=minutes, seconds=seconds))}


def test_happy_path_books_checks_in_and_completes_with_a_per_minute_price(world, setup):
    practice, client, svc = setup
    session = book(world, practice, client, svc)
    assert session["status"] == "booked" and session["version"] == 1 and session["price"] is None
    status, session = act(world, practice, session["id"], "check-in", role="front_desk")
    assert status == 200 and session["status"] == "checked_in" and session["checked_in_at"]
    status, session = act(world, practice, session["id"], "complete", completion(), role="clinician")
    assert status == 200 and session["status"] == "completed" and session["version"] == 3
    price = session["price"]
    # 52 min 1 s, rounded up to 5 minutes → 55 billed minutes at 3.00 = 165.00
    assert (price["billed_minutes"], price["units"], price["amount"], price["actual_seconds"]) == (
        55,
        55,
        16_500,
        3121,
    )
    assert price["cpt_code"] == "90837" and price["modifiers"] == ["95", "GT"] and price["rule"] == "default"
    assert world.staff("GET", f"/sessions/{session['id']}", practice_id=practice.id) == (200, session)


def test_booking_without_an_end_uses_the_default_duration(world, setup):
    practice, client, svc = setup
    status, session = world.staff(
        "POST",
        "/sessions",
        {
            "client_id": client["id"],
            "service_id": svc["id"],
            "clinician_id": clinician(world, practice),
            "scheduled_start": z(START),
        },
        practice_id=practice.id,
        headers=booking_key(),
    )
    assert status == 201 and session["scheduled_end"].startswith("2031-03-04T15:53:00")


def test_a_client_rule_overrides_and_a_zero_rule_is_not_billed(world, setup):
    practice, client, svc = setup
    path = f"/clients/{client['id']}/pricing/{svc['id']}"
    world.staff("PUT", path, {"kind": "percent", "percent_bps": 5_000}, practice_id=practice.id)
    s1 = book(world, practice, client, svc)
    act(world, practice, s1["id"], "check-in")
    _, done = act(world, practice, s1["id"], "complete", completion())
    assert done["price"]["amount"] == 8_250 and done["price"]["rule"] == "percent"
    world.staff("PUT", path, {"kind": "fixed", "amount": 0}, practice_id=practice.id)
    s2 = book(world, practice, client, svc, start=START + timedelta(days=7))
    act(world, practice, s2["id"], "check-in")
    _, done = act(world, practice, s2["id"], "complete", completion(START + timedelta(days=7)))
    assert done["price"]["amount"] == 0 and done["price"]["not_billed"] is True


def test_reschedule_only_while_booked_and_the_same_times_again_change_nothing(world, setup):
    practice, client, svc = setup
    session = book(world, practice, client, svc)
    later = START + timedelta(days=1)
    body = {"scheduled_start": z(later), "scheduled_end": z(later + timedelta(minutes=45))}
    status, moved = act(world, practice, session["id"], "reschedule", body)
    assert status == 200 and moved["scheduled_start"].startswith("2031-03-05T15:00") and moved["version"] == 2
    assert act(world, practice, session["id"], "reschedule", body) == (200, moved)
    # The day listing follows the move.
    assert [
        s["id"]
        for s in world.staff("GET", "/sessions", practice_id=practice.id, query={"date": "2031-03-05"})[1][
            "items"
        ]
    ] == [session["id"]]
    assert (
        world.staff("GET", "/sessions", practice_id=practice.id, query={"date": "2031-03-04"})[1]["items"]
        == []
    )
    act(world, practice, session["id"], "check-in")
    status, body = act(world, practice, session["id"], "reschedule", body)
    assert status == 409 and body["details"]["current_status"] == "checked_in"


ILLEGAL = [
    # (steps to reach the state, action, body)
    ([], "complete", completion()),
    (["check-in"], "no-show", None),
    (["check-in", "complete"], "check-in", None),
    (["check-in", "complete"], "no-show", None),
    (["check-in", "complete"], "cancel", {"cancelled_by": "client"}),
    (
        ["check-in", "complete"],
        "reschedule",
        {"scheduled_start": z(START), "scheduled_end": z(START + timedelta(hours=1))},
    ),
    (["no-show"], "check-in", None),
    (["no-show"], "complete", completion()),
    (["no-show"], "cancel", {"cancelled_by": "practice"}),
    (["cancel"], "check-in", None),
    (["cancel"], "complete", completion()),
    (["cancel"], "no-show", None),
    (["cancel"], "reschedule", {"scheduled_start": z(START), "scheduled_end": z(START + timedelta(hours=1))}),
    (["cancel"], "cancel", {"cancelled_by": "practice"}),  # cancelled by the client first
    (["check-in", "complete"], "complete", completion(minutes=40)),  # other times
]
BODIES = {"complete": completion(), "cancel": {"cancelled_by": "client"}}
FINAL = {"check-in": "checked_in", "complete": "completed", "no-show": "no_show", "cancel": "cancelled"}


@pytest.mark.parametrize(("steps", "action", "body"), ILLEGAL)
def test_an_illegal_transition_is_a_409_with_the_current_status_and_changes_nothing(
    world, setup, steps, action, body
):
    practice, client, svc = setup
    session = book(world, practice, client, svc)
    for step in steps:
        status, session = act(world, practice, session["id"], step, BODIES.get(step))
        assert status == 200, session
    status, answer = act(world, practice, session["id"], action, body)
    assert status == 409 and answer["code"] == "conflict", answer
    assert answer["details"]["current_status"] == session["status"]
    assert world.staff("GET", f"/sessions/{session['id']}", practice_id=practice.id) == (200, session)


@pytest.mark.parametrize(
    ("steps", "action", "body"),
    [
        (["check-in"], "check-in", None),
        (["check-in", "complete"], "complete", completion()),
        # The same instants written with another offset are the same times.
        (
            ["check-in", "complete"],
            "complete",
            {"actual_start": "2031-03-04T10:00:00-05:00", "actual_end": "2031-03-04T10:52:01-05:00"},
        ),
        (["no-show"], "no-show", None),
        (["cancel"], "cancel", {"cancelled_by": "client"}),
    ],
)
def test_a_repeated_transition_is_harmless(world, setup, steps, action, body):
    practice, client, svc = setup
    session = book(world, practice, client, svc)
    for step in steps:
        status, session = act(world, practice, session["id"], step, BODIES.get(step))
        assert status == 200 and session["status"] == FINAL[step]
    world.clock.now += timedelta(minutes=5)
    assert act(world, practice, session["id"], action, body) == (200, session)
    assert world.staff("GET", f"/sessions/{session['id']}", practice_id=practice.id) == (200, session)


@pytest.mark.parametrize(("hours_before", "late"), [(30, False), (24, False), (23, True), (-1, True)])
def test_cancellation_records_who_when_and_whether_it_was_late(world, setup, hours_before, late):
    practice, client, svc = setup
    world.clock.now = START - timedelta(hours=hours_before)
    session = book(world, practice, client, svc)
    if hours_before < 0:
        act(world, practice, session["id"], "check-in")
    status, done = act(world, practice, session["id"], "cancel", {"cancelled_by": "client"}, role="clinician")
    assert status == 200 and done["status"] == "cancelled"
    c = done["cancellation"]
    assert c["cancelled_by"] == "client" and c["late"] is late and c["window_hours"] == 24
    assert c["hours_before_start"] == hours_before and c["minutes_before_start"] == hours_before * 60
    assert c["cancelled_at"].startswith(z(world.clock.now)[:19])


def test_a_clients_sessions_and_a_days_sessions_are_listed_in_start_order(world, setup):
    practice, client, svc = setup
    other = create_client(world, practice, first_name="Bo")
    late = book(world, practice, client, svc, start=START + timedelta(hours=3))
    early = book(world, practice, client, svc, start=START)
    theirs = book(world, practice, other, svc, start=START + timedelta(hours=1))
    _, mine = world.staff("GET", "/sessions", practice_id=practice.id, query={"client_id": client["id"]})
    assert [s["id"] for s in mine["items"]] == [early["id"], late["id"]]
    _, day = world.staff("GET", "/sessions", practice_id=practice.id, query={"date": "2031-03-04"})
    assert [s["id"] for s in day["items"]] == [early["id"], theirs["id"], late["id"]]


def test_the_local_day_listing_on_the_nights_the_clocks_change(world, setup):
    """America/New_York: 2031-03-09 has 23 hours (02:00 → 03:00), 2031-11-02 has 25."""
    practice, client, svc = setup
    starts = {
        "sat_late": datetime(2031, 3, 9, 4, 59, tzinfo=UTC),  # Sat 23:59 EST
        "sun_first": datetime(2031, 3, 9, 5, 0, tzinfo=UTC),  # Sun 00:00 EST
        "sun_after_jump": datetime(2031, 3, 9, 7, 0, tzinfo=UTC),  # Sun 03:00 EDT
        "sun_last": datetime(2031, 3, 10, 3, 59, tzinfo=UTC),  # Sun 23:59 EDT
        "mon_first": datetime(2031, 3, 10, 4, 0, tzinfo=UTC),  # Mon 00:00 EDT
        "nov_first_0130": datetime(2031, 11, 2, 5, 30, tzinfo=UTC),  # 01:30 EDT
        "nov_second_0130": datetime(2031, 11, 2, 6, 30, tzinfo=UTC),  # 01:30 EST (the repeat)
        "nov_last": datetime(2031, 11, 3, 4, 59, tzinfo=UTC),  # Sun 23:59 EST
        "nov_next": datetime(2031, 11, 3, 5, 0, tzinfo=UTC),  # Mon 00:00 EST
    }
    ids = {
        name: book(world, practice, client, svc, start=at, minutes=30)["id"] for name, at in starts.items()
    }

    def day(d):
        status, body = world.staff("GET", "/sessions", practice_id=practice.id, query={"date": d})
        assert status == 200, body
        return [s["id"] for s in body["items"]]

    assert day("2031-03-08") == [ids["sat_late"]]
    assert day("2031-03-09") == [ids["sun_first"], ids["sun_after_jump"], ids["sun_last"]]
    assert day("2031-03-10") == [ids["mon_first"]]
    assert day("2031-11-02") == [ids["nov_first_0130"], ids["nov_second_0130"], ids["nov_last"]]
    assert day("2031-11-03") == [ids["nov_next"]]


@pytest.mark.parametrize(
    "over",
    [
        {"scheduled_end": z(START)},  # end == start
        {"scheduled_end": z(START - timedelta(minutes=1))},
        {"scheduled_end": z(START + timedelta(hours=25))},
        {"scheduled_start": "2031-03-04T15:00:00"},  # naive
        {"scheduled_start": "tomorrow"},
        {"clinician_id": ""},
        {"clinician_id": "bad id\n"},
        {"client_id": "nope"},
        {"surprise": 1},
    ],
)
def test_bad_booking_input_is_a_400_with_a_reason_and_writes_nothing(world, setup, over):
    practice, client, svc = setup
    before = world.container.table.query_all(f"P#{practice.id}")
    body = {
        "client_id": client["id"],
        "service_id": svc["id"],
        "clinician_id": clinician(world, practice),
        "scheduled_start": z(START),
        "scheduled_end": z(START + timedelta(minutes=50)),
        **over,
    }
    status, answer = world.staff("POST", "/sessions", body, practice_id=practice.id, headers=booking_key())
    assert status == 400 and answer["message"], answer
    assert world.container.table.query_all(f"P#{practice.id}") == before


def test_booking_needs_an_existing_client_and_an_active_service(world, setup):
    practice, client, svc = setup
    missing = {"client_id": "cli_" + "0" * 26}
    status, _ = world.staff(
        "POST",
        "/sessions",
        {
            "client_id": missing["client_id"],
            "service_id": svc["id"],
            "clinician_id": clinician(world, practice),
            "scheduled_start": z(START),
        },
        practice_id=practice.id,
        headers=booking_key(),
    )
    assert status == 404
    world.staff("PATCH", f"/services/{svc['id']}", {"active": False}, practice_id=practice.id)
    status, body = world.staff(
        "POST",
        "/sessions",
        {
            "client_id": client["id"],
            "service_id": svc["id"],
            "clinician_id": clinician(world, practice),
            "scheduled_start": z(START),
        },
        practice_id=practice.id,
        headers=booking_key(),
    )
    assert status == 400 and "active" in body["message"]


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("complete", {"actual_start": z(START), "actual_end": z(START)}),
        ("complete", {"actual_start": z(START)}),
        ("cancel", {"cancelled_by": "clinician"}),
        ("cancel", None),
        ("reschedule", {"scheduled_start": z(START), "scheduled_end": z(START - timedelta(hours=1))}),
    ],
)
def test_bad_transition_input_is_a_400_and_changes_nothing(world, setup, action, body):
    practice, client, svc = setup
    session = book(world, practice, client, svc)
    _, session = act(world, practice, session["id"], "check-in")
    status, answer = act(world, practice, session["id"], action, body)
    assert status == 400 and answer["message"], answer
    assert world.staff("GET", f"/sessions/{session['id']}", practice_id=practice.id) == (200, session)


@pytest.mark.parametrize(
    "query", [None, {"date": "2031-02-30"}, {"date": "03/04/2031"}, {"client_id": "x", "date": "2031-03-04"}]
)
def test_listing_needs_exactly_one_valid_filter(world, setup, query):
    practice, client, _ = setup
    if query and "client_id" in query:
        query = {**query, "client_id": client["id"]}
    status, answer = world.staff("GET", "/sessions", practice_id=practice.id, query=query)
    assert status == 400 and answer["message"], answer


def test_a_missing_session_is_a_404(world, setup):
    practice, *_ = setup
    missing = "ses_" + "0" * 26
    assert world.staff("GET", f"/sessions/{missing}", practice_id=practice.id)[0] == 404
    assert act(world, practice, missing, "check-in")[0] == 404
