"""The staff API's one line per audited action: who (the caller), from where (API Gateway's
request context: source IP, user agent, request id) and what (an ``Entry``: the action, its ids,
the amount of a money action — never health information).

Recorded right after the action succeeded (a read: before its answer leaves), in the same
request: a failed record fails the request (503), so health information never leaves without a
record and a client's retry (same Idempotency-Key, same refund / payment / invoice) writes the
record then. See docs/architecture.md, "The audit trail".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from therabill.api.auth import caller_from
from therabill.api.deps import container
from therabill.audit.models import Action, Actor, Source, Targets
from therabill.audit.service import Entry
from therabill.core.ids import new_id
from therabill.core.money import Money
from therabill.sessions.models import Session


def _context(router: APIGatewayRouter) -> tuple[str, Actor, Source]:
    event = router.current_event
    assert isinstance(event, APIGatewayProxyEvent)
    who = caller_from(event)
    context: dict[str, Any] = event.raw_event.get("requestContext") or {}
    identity: dict[str, Any] = context.get("identity") or {}
    source = Source(
        ip=_text(identity.get("sourceIp"), 64),
        user_agent=_text(identity.get("userAgent"), 512),
        request_id=_text(context.get("requestId"), 128),
    )
    return who.practice_id, Actor(id=who.user_id, role=who.role), source


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def request_key(router: APIGatewayRouter, *parts: str | None) -> str:
    """The key of an action with no id of its own: this API request (and the ids it concerned)."""
    _, _, source = _context(router)
    return ":".join(["request", source.request_id or new_id("req"), *(p or "" for p in parts)])


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


def audit_reads(router: APIGatewayRouter, action: Action, targets: Iterable[dict[str, str]]) -> None:
    """Record a read of health information per thing the answer shows (a client's or a session's
    codes), keyed by this request: the same request again records nothing new."""
    practice_id, actor, source = _context(router)
    rid = source.request_id or new_id("req")
    entries = [
        Entry(action=action, key=":".join(["request", rid, *t.values()]), targets=Targets(**t))
        for t in targets
    ]
    container().audit.record_many(practice_id, entries, actor=actor, source=source)


def audit_fee_waiver(router: APIGatewayRouter, session: Session) -> None:
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


def audit_session_charges(router: APIGatewayRouter, session: Session) -> None:
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
