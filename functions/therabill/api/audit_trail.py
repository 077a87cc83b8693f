"""The staff API's one line per audited action: who (the caller), from where (API Gateway's
request context: source IP, user agent, request id) and what (an ``Entry``: the action, its ids,
the amount of a money action — never health information).

Recorded right after the action succeeded (a read: before its answer leaves), in the same
request: a failed record fails the request (503), so health information never leaves without a
record, and a client's retry (same Idempotency-Key: the same refund, payment or invoice) writes
the record then. See docs/architecture.md, "The audit trail".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from therabill.api.deps import container
from therabill.api.staff_common import caller
from therabill.audit.models import Action, Actor, Source, Targets
from therabill.audit.service import Entry
from therabill.core.ids import new_id

if TYPE_CHECKING:  # annotations only: each router loads just the capabilities it uses
    from therabill.authorizations.models import Authorization
    from therabill.clients.models import Client
    from therabill.core.money import Money
    from therabill.coverage.models import Coverage
    from therabill.eligibility.models import EligibilityCheck
    from therabill.invoices.models import Invoice
    from therabill.payments.models import Payment
    from therabill.payments.refunds import Refund
    from therabill.sessions.models import Session
    from therabill.shop.models import Order
    from therabill.staff.models import StaffMember


def _context(router: APIGatewayRouter) -> tuple[str, Actor, Source]:
    event = router.current_event
    assert isinstance(event, APIGatewayProxyEvent)
    who = caller(router)
    context: dict[str, Any] = event.raw_event.get("requestContext") or {}
    identity: dict[str, Any] = context.get("identity") or {}
    source = Source(
        ip=_text(identity.get("sourceIp"), 64),
        user_agent=_text(identity.get("userAgent"), 512),
        request_id=_text(context.get("requestId"), 128) or new_id("req"),
    )
    return who.practice_id, Actor(id=who.user_id, role=who.role), source


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def entry(action: Action, *, key: str, amount: Money | None = None, **targets: str | None) -> Entry:
    return Entry(
        action=action,
        key=key,
        targets=Targets(**targets),
        amount=amount.amount if amount else None,
        currency=amount.currency if amount else None,
    )


def audit(router: APIGatewayRouter, item: Entry) -> None:
    """Record one action of the request being handled."""
    practice_id, actor, source = _context(router)
    container().audit.record(practice_id, item, actor=actor, source=source)


def _by_request(router: APIGatewayRouter, action: Action, targets: Iterable[dict[str, str]]) -> None:
    """Actions with no id of their own (reads, a client's codes replaced), keyed by this request
    and the ids they concerned: the same request again records nothing new."""
    practice_id, actor, source = _context(router)
    entries = [
        Entry(
            action=action,
            key=":".join(["request", str(source.request_id), *t.values()]),
            targets=Targets(**t),
        )
        for t in targets
    ]
    container().audit.record_many(practice_id, entries, actor=actor, source=source)


# -- health information: what an answer shows, what a request changed ---------------------------
def clients_shown(router: APIGatewayRouter, clients: list[Client]) -> list[Client]:
    """``clients`` as answered: a read recorded for each one whose codes the answer shows."""
    _by_request(router, Action.CLIENT_DIAGNOSES_READ, ({"client_id": c.id} for c in clients if c.diagnoses))
    return clients


def sessions_shown(router: APIGatewayRouter, sessions: list[Session]) -> list[Session]:
    """``sessions`` as answered: a read recorded for each one whose own codes the answer shows."""
    shown = ({"client_id": s.client_id, "session_id": s.id} for s in sessions if s.diagnoses)
    _by_request(router, Action.SESSION_DIAGNOSES_READ, shown)
    return sessions


def client_diagnoses_changed(router: APIGatewayRouter, client: Client) -> None:
    _by_request(router, Action.CLIENT_DIAGNOSES_CHANGE, [{"client_id": client.id}])


def coverage_shown(router: APIGatewayRouter, coverages: list[Coverage]) -> list[Coverage]:
    """``coverages`` as answered: a read recorded for each one."""
    shown = ({"client_id": c.client_id, "coverage_id": c.id} for c in coverages)
    _by_request(router, Action.COVERAGE_READ, shown)
    return coverages


def orders_shown(router: APIGatewayRouter, orders: list[Order]) -> list[Order]:
    """Store ``orders`` as answered (their lines name products): a read recorded for each one."""
    _by_request(router, Action.ORDER_READ, ({"client_id": o.client_id, "order_id": o.id} for o in orders))
    return orders


def coverage_changed(router: APIGatewayRouter, coverage: Coverage) -> None:
    """A coverage added, changed or removed: once per version it reached."""
    key = f"{coverage.id}:v{coverage.version}"
    audit(
        router, entry(Action.COVERAGE_CHANGE, key=key, client_id=coverage.client_id, coverage_id=coverage.id)
    )


def coverage_card(router: APIGatewayRouter, action: Action, client_id: str, coverage_id: str) -> None:
    """The pictures of a coverage's card shown, or an upload or removal asked for (by request)."""
    _by_request(router, action, [{"client_id": client_id, "coverage_id": coverage_id}])


def authorizations_shown(router: APIGatewayRouter, found: list[Authorization]) -> list[Authorization]:
    """``found`` as answered: a read recorded for each one (ids only, never its codes)."""
    shown = (
        {"client_id": a.client_id, "coverage_id": a.coverage_id, "authorization_id": a.id} for a in found
    )
    _by_request(router, Action.AUTHORIZATION_READ, shown)
    return found


def authorization_changed(router: APIGatewayRouter, a: Authorization) -> None:
    """An authorization added, changed or removed: once per version it reached."""
    key = f"{a.id}:v{a.version}"
    item = entry(
        Action.AUTHORIZATION_CHANGE,
        key=key,
        client_id=a.client_id,
        coverage_id=a.coverage_id,
        authorization_id=a.id,
    )
    audit(router, item)


def eligibility_checked(router: APIGatewayRouter, check: EligibilityCheck) -> None:
    """A check staff asked for and the payer answered: once per check."""
    audit(
        router,
        entry(
            Action.ELIGIBILITY_CHECK, key=check.id, client_id=check.client_id, coverage_id=check.coverage_id
        ),
    )


def eligibility_shown(router: APIGatewayRouter, checks: list[EligibilityCheck]) -> list[EligibilityCheck]:
    """``checks`` as answered: a read recorded for each one (keyed by the request and the check)."""
    practice_id, actor, source = _context(router)
    entries = [
        Entry(
            action=Action.ELIGIBILITY_READ,
            key=f"request:{source.request_id}:{c.id}",
            targets=Targets(client_id=c.client_id, coverage_id=c.coverage_id),
        )
        for c in checks
    ]
    container().audit.record_many(practice_id, entries, actor=actor, source=source)
    return checks


def staff_changed(router: APIGatewayRouter, action: Action, member: StaffMember) -> None:
    """A change to who may act in the practice: once per version of the member it reached (a
    repeated request that changes nothing records nothing)."""
    audit(router, entry(action, key=f"{member.id}:v{member.version}", member_id=member.id))


def billing_provider_changed(router: APIGatewayRouter, version: int) -> None:
    """The practice's billing provider set: once per version it reached (no value of it recorded)."""
    audit(router, entry(Action.BILLING_PROVIDER_CHANGE, key=f"billing-provider:v{version}"))


def clinician_provider_changed(router: APIGatewayRouter, clinician_id: str, version: int) -> None:
    """A clinician's provider record (or supervisor) set: once per version it reached."""
    audit(
        router,
        entry(Action.CLINICIAN_PROVIDER_CHANGE, key=f"{clinician_id}:v{version}", member_id=clinician_id),
    )


def session_documented(router: APIGatewayRouter, action: Action, session: Session) -> None:
    """A note signed or a session approved (once per session: the first stands), or the session's
    codes changed (once per version: the same codes again change nothing)."""
    key = f"{session.id}:v{session.version}" if action is Action.SESSION_DIAGNOSES_CHANGE else session.id
    audit(router, entry(action, key=key, client_id=session.client_id, session_id=session.id))


# -- money --------------------------------------------------------------------------------------
def charged(router: APIGatewayRouter, payment: Payment) -> None:
    """A saved card charged by staff: once per payment (its id comes from the Idempotency-Key)."""
    audit(
        router,
        entry(
            Action.CHARGE_CREATE,
            key=payment.id,
            amount=payment.amount,
            client_id=payment.client_id,
            payment_id=payment.id,
        ),
    )


def session_charges(router: APIGatewayRouter, session: Session) -> None:
    """The card charges a session step made (a copay at check-in, a cancellation or no-show fee):
    ``charge.create`` once per payment."""
    for part in (session.copay, session.fee):
        if part is not None and part.payment_id:
            audit(
                router,
                entry(
                    Action.CHARGE_CREATE,
                    key=part.payment_id,
                    amount=part.amount,
                    client_id=session.client_id,
                    session_id=session.id,
                    payment_id=part.payment_id,
                ),
            )


def fee_waived(router: APIGatewayRouter, session: Session) -> None:
    """A session's fee waived (a write-off of what was waived): once per session."""
    waived = session.fee.waived_amount if session.fee else None
    audit(
        router,
        entry(
            Action.WRITEOFF_FEE_WAIVER,
            key=session.id,
            amount=waived,
            client_id=session.client_id,
            session_id=session.id,
        ),
    )


def refunded(router: APIGatewayRouter, refund: Refund, *, client_id: str) -> None:
    """Once per refund (its id comes from the Idempotency-Key)."""
    action = Action.REFUND_WRITE_OFF if refund.write_off else Action.REFUND_CREATE
    audit(
        router,
        entry(
            action,
            key=refund.id,
            amount=refund.amount,
            client_id=client_id,
            payment_id=refund.payment_id,
            refund_id=refund.id,
        ),
    )


def paid_by_hand(
    router: APIGatewayRouter,
    *,
    key: str,
    amount: Money,
    client_id: str,
    entry_id: str | None = None,
    invoice_id: str | None = None,
) -> None:
    """Cash or a check taken, keyed by the request's Idempotency-Key (as the posting is)."""
    audit(
        router,
        entry(
            Action.PAYMENT_MANUAL,
            key=key,
            amount=amount,
            client_id=client_id,
            entry_id=entry_id,
            invoice_id=invoice_id,
        ),
    )


def invoice_acted(router: APIGatewayRouter, action: Action, invoice: Invoice) -> None:
    """An invoice created (with its total), voided or marked uncollectible: once per invoice."""
    amount = invoice.total if action is Action.INVOICE_CREATE else None
    audit(
        router,
        entry(action, key=invoice.id, amount=amount, client_id=invoice.client_id, invoice_id=invoice.id),
    )
