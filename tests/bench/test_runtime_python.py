"""Every entry module imports and answers its first call on the runtime's Python (3.13), as deployed.

The tests run on this machine's Python (3.11); Lambda runs ``layers/python-version``. When this
machine has that Python (as deploy finds it), this runs each handler once in a fresh process on it:
the code and the locked dependencies installed for it (uv: its cache or PyPI), read-only with the
bytecode deploy ships, against moto in server mode, each with its sample event. Skipped, with the
reason, when the runtime's Python is not here.
"""

from __future__ import annotations

import pytest

from bench import cold_start, deployed

pytestmark = pytest.mark.layer  # may need PyPI for the 3.13 wheels

# What each function answers its sample event with, where nothing of the sample exists yet.
EXPECTED = {
    cold_start.BASELINE_NAME: "404",
    cold_start.MODEL_FLOOR_NAME: "404",
    cold_start.API_FLOOR_NAME: "404",
    "staff-api": "404",  # GET /practice: its staff member is admitted, the practice does not exist
    "public-api": "401",  # a set-up page with a token nobody signed
    "stripe-webhook": "400",  # the sample's signature is not this secret's
    "stripe-worker": "ok",
    "payments-reconciler": "ok",
    "nightly-dispatch": "PracticeNotFoundError",  # the scheduled practice does not exist
    "nightly-worker": "ok",
    "invoice-sweep": "ok",
    "staff-messages": "ok",  # an invitation worded for a practice that is not there yet
    "audit-archive": "ok",  # the sample's record, written to the local archive bucket
    "eligibility-checks": "ok",  # the hourly firing: no practice yet, no batch
}


def test_every_entry_module_runs_its_first_call_on_the_runtimes_python() -> None:
    python = deployed.interpreter()
    if not python.is_runtimes:
        pytest.skip(f"this machine has no Python {deployed.PYTHON_VERSION_FILE.read_text().strip()}")
    # One run per target, no warm-up, the compiled form alone (what deploy ships; the bench smoke
    # test compares the two forms): what each answers, not how fast.
    results = cold_start.measure(1, importtime=False, python=python, warm_up=False, forms=("compiled",))
    answers = {r.name: {form: f.outcome for form, f in r.forms.items()} for r in results}
    assert answers == {name: {"compiled": a} for name, a in EXPECTED.items()}
    assert not any(r.stripe_imported for r in results if r.name == "stripe-webhook")
    # The floors (the baseline plus pydantic, plus Powertools' validating resolver) really load
    # pydantic; the API functions are set against the resolver's floor, the others pydantic's.
    by_name = {r.name: r for r in results}
    for floor in (cold_start.MODEL_FLOOR_NAME, cold_start.API_FLOOR_NAME):
        assert all("pydantic" in f.loaded_after_call for f in by_name[floor].forms.values())
    assert cold_start.floor_of("staff-api") == cold_start.floor_of("public-api") == cold_start.API_FLOOR_NAME
    webhook = by_name["stripe-webhook"].as_dict(results[0], by_name[cold_start.floor_of("stripe-webhook")])
    assert webhook["floor"] == cold_start.MODEL_FLOOR_NAME and webhook["compiled"]["ratio_to_floor"] > 0
