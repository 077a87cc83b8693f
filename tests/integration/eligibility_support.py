"""What the eligibility tests share: a world whose clearinghouse is the Stedi adapter over the
Stedi fake (the sandbox payer's test members), whose raw 271s go to moto's documents bucket, and
a practice with a billing provider and an insured client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.fake_stedi import FakeStedi
from tests.integration import scenario
from tests.integration.conftest import World
from tests.unit.test_provider_models import organization
from therabill.adapters.http_client import HttpRequest, HttpResponse, RetryingClient, RetryPolicy
from therabill.adapters.s3 import S3Documents
from therabill.adapters.stedi import StediClearinghouse
from therabill.providers.models import parse_billing_provider

ACTIVE = "TB-ACTIVE-25"  # active, a $25 in-network copay for the therapy service types
NOT_FOUND = "TB-NOBODY-99"  # AAA 75: subscriber not found
PAYER_DOWN = "TB-PAYER-DOWN"  # AAA 42: retry later
BIRTH_DATE = "1984-03-09"


@dataclass
class Insured:
    practice: scenario.Practice
    client_id: str
    coverage_id: str


def with_clearinghouse(world: World, *, after_answer: Callable[[], None] | None = None) -> FakeStedi:
    """The Stedi fake behind the real adapter; ``after_answer`` runs once each answer is made
    (a fault injected there strikes after the payer answered)."""
    fake = FakeStedi()

    def transport(request: HttpRequest, timeout: float) -> HttpResponse:
        response = fake.transport(request, timeout)
        if after_answer is not None:
            after_answer()
        return response

    client = RetryingClient(transport, sleep=fake.sleep, retry=RetryPolicy(attempts=1))
    world.container.clearinghouse = StediClearinghouse(lambda: fake.api_key, client=client)
    world.container.eligibility_documents = S3Documents(
        world.session.client("s3"), world.resources.documents_bucket
    )
    return fake


def with_billing_provider(world: World, practice_id: str) -> None:
    world.container.providers.set_billing_provider(
        practice_id, parse_billing_provider(organization()), by="stf_test", expected_version=None
    )


def insured(world: World, *, member_id: str = ACTIVE, provider: bool = True, **coverage: Any) -> Insured:
    practice = scenario.create_practice(world, connect=False)
    if provider:
        with_billing_provider(world, practice.id)
    client = scenario.create_client(world, practice, billing_type="insurance")
    added = scenario.add_coverage(
        world, practice, client["id"], member_id=member_id, patient_birth_date=BIRTH_DATE, **coverage
    )
    return Insured(practice, str(client["id"]), str(added["id"]))


def eligibility_calls(fake: FakeStedi) -> int:
    return sum(1 for path in fake.paths() if "eligibility" in path)
