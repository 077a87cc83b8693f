"""The audit trail, read by the practice's owner (included by api/staff.py): who did what, when and
from where — ids and actions, never health information — by client, by staff member and by date
(the practice's local dates), as JSON pages or CSV."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict

from therabill.api.deps import container
from therabill.api.documents import answers
from therabill.api.inputs import FIRST_YEAR, LAST_YEAR
from therabill.api.outputs import Amount
from therabill.api.params import ID_PATTERN
from therabill.api.staff_common import caller, csv_response
from therabill.audit.models import AuditPage, AuditRecord
from therabill.core.csv_text import to_csv
from therabill.core.errors import InvalidRequestError
from therabill.core.money import Money
from therabill.sessions.service import local_day_bounds

router = APIGatewayRouter()  # type: ignore[no-untyped-call]


class AuditRecordOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    at: datetime
    staff_id: str
    role: str
    action: str
    client_id: str | None
    session_id: str | None
    payment_id: str | None
    refund_id: str | None
    invoice_id: str | None
    entry_id: str | None
    coverage_id: str | None
    member_id: str | None = None  # the staff member a staff.* action changed
    order_id: str | None = None  # the store order an order.* action concerned
    amount: Amount | None
    currency: str | None
    source_ip: str | None
    user_agent: str | None
    request_id: str | None


class AuditPageOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[AuditRecordOut]
    next_cursor: str | None


_COLUMNS = tuple(AuditRecordOut.model_fields)


def _out(r: AuditRecord) -> AuditRecordOut:
    return AuditRecordOut(
        id=r.id,
        at=r.at,
        staff_id=r.actor.id,
        role=r.actor.role,
        action=r.action.value,
        **r.targets.model_dump(),
        amount=r.amount,
        currency=r.currency,
        source_ip=r.source.ip,
        user_agent=r.source.user_agent,
        request_id=r.source.request_id,
    )


def _cell(name: str, out: AuditRecordOut) -> object:
    value = getattr(out, name)
    if name == "amount" and value is not None and out.currency:
        return Decimal(Money(amount=value, currency=out.currency).decimal_text())
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value


def _csv(page: AuditPage) -> Response[str]:
    rows = [[_cell(c, o) for c in _COLUMNS] for o in map(_out, page.items)]
    more = {"X-Next-Cursor": page.cursor} if page.cursor else {}
    return csv_response("audit.csv", to_csv(_COLUMNS, rows), more)


def _period(
    practice_id: str, start: date | None, end: date | None
) -> tuple[datetime | None, datetime | None]:
    """[the first local day's 00:00, the day after the last one's 00:00), in the practice's zone."""
    for name, day in (("from", start), ("to", end)):
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise InvalidRequestError(f"{name} must lie in the years {FIRST_YEAR} to {LAST_YEAR}", field=name)
    if start is not None and end is not None and end < start:
        raise InvalidRequestError("to is before from", field="to")
    if start is None and end is None:
        return None, None
    zone = container().practices.get(practice_id).time_zone
    return (
        local_day_bounds(start, zone)[0] if start else None,
        local_day_bounds(end, zone)[1] if end else None,
    )


# Long on purpose: the route's typed query parameters.
@router.get(
    "/audit",
    responses=answers(
        {
            200: {
                "description": "A page of the trail: JSON, or a CSV file with format=csv (the next "
                "page's cursor in the X-Next-Cursor header).",
                "content": {
                    "application/json": {"model": AuditPageOut},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        },
        403,
        404,
    ),
)
def read_audit(
    *,
    client_id: Annotated[str | None, Query(min_length=3, max_length=40, pattern=ID_PATTERN)] = None,
    staff_id: Annotated[
        str | None, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@:\-]+$")
    ] = None,
    start: Annotated[date | None, Query(alias="from", description="the first local day, YYYY-MM-DD")] = None,
    end: Annotated[date | None, Query(alias="to", description="the last local day, YYYY-MM-DD")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response[str]:
    """The practice's audit trail, oldest first: every read and change of a client's or a
    session's diagnoses, note signatures, supervisor approvals and money actions — who (staff id
    and role), when, what (the action and the ids it concerned; a money action's amount), from
    where (IP, user agent, request id). Filter by ``client_id``, ``staff_id`` and the practice's
    local days ``from`` / ``to`` (both included). Owner only. Records older than the hot period
    (13 months) are in the archive, not here."""
    who = caller(router)
    who.require("audit:read")
    first, last = _period(who.practice_id, start, end)
    page = container().audit.query(
        who.practice_id,
        client_id=client_id,
        staff_id=staff_id,
        start=first,
        end=last,
        limit=limit,
        cursor=cursor,
    )
    if format == "csv":
        return _csv(page)
    body = AuditPageOut(items=[_out(r) for r in page.items], next_cursor=page.cursor)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json())
