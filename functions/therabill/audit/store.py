"""The audit trail's items, in their own partition per practice (``AUDIT#<prc>``).

A record is written once as four items in one transaction: ``REC#<aud>`` (the record, put only
if absent: its id is derived from what the action was, so a retry meets it and writes nothing)
and three copies that answer the queries without further reads: ``AT#<at>#<aud>`` (by time),
``CLIENT#<cli>#<at>#<aud>`` (by client, when the action names one) and
``STAFF#<actor>#<at>#<aud>`` (by staff member). Nothing here updates or deletes: the function
roles may not (an IAM Deny on the ``AUDIT#`` partitions); TTL removes every item after the hot
period, once the archive has copied ``REC#`` (the table's stream) to S3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from therabill.adapters.dynamo import ConditionFailed, Page, Table, decode_cursor, load_image, put_new_write
from therabill.audit.errors import AuditQueryError
from therabill.audit.models import Action, Actor, AuditPage, AuditRecord, Source, Targets
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.writes import Write

# How long the items stay in the table (then TTL); the S3 archive keeps them six years.
HOT_PERIOD = timedelta(days=396)  # 13 months
_RECORDS_PER_TRANSACTION = 25  # 4 items each: the transaction limit is 100
_TARGETS = tuple(Targets.model_fields)


def _item(record: AuditRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "audit",
        "id": record.id,
        "practice_id": record.practice_id,
        "at": iso(record.at),
        "actor_id": record.actor.id,
        "actor_role": record.actor.role,
        "action": record.action.value,
        "amount": record.amount,
        "currency": record.currency,
        "source_ip": record.source.ip,
        "user_agent": record.source.user_agent,
        "request_id": record.source.request_id,
        "expires_at_epoch": int((record.at + HOT_PERIOD).timestamp()),
        **record.targets.model_dump(),
    }
    return {k: v for k, v in item.items() if v is not None}


def _record(item: Mapping[str, Any]) -> AuditRecord:
    return AuditRecord(
        id=item["id"],
        practice_id=item["practice_id"],
        at=parse_iso(item["at"]),
        actor=Actor(id=item["actor_id"], role=item["actor_role"]),
        action=Action(item["action"]),
        targets=Targets(**{k: item.get(k) for k in _TARGETS}),
        amount=item.get("amount"),
        currency=item.get("currency"),
        source=Source(
            ip=item.get("source_ip"), user_agent=item.get("user_agent"), request_id=item.get("request_id")
        ),
    )


def _writes(record: AuditRecord) -> list[Write]:
    pk = keys.audit_pk(record.practice_id)
    body = _item(record)
    at = iso(record.at)
    copies = [keys.audit_at_sk(at, record.id), f"{keys.audit_staff_prefix(record.actor.id)}{at}#{record.id}"]
    if record.targets.client_id:
        copies.append(f"{keys.audit_client_prefix(record.targets.client_id)}{at}#{record.id}")
    writes = [put_new_write({"PK": pk, "SK": keys.audit_record_sk(record.id), **body})]
    # The copies need no condition: the transaction fails whole when the record exists.
    writes.extend(Write(kind="put", item={"PK": pk, "SK": sk, **body}) for sk in copies)
    return writes


class AuditStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, record: AuditRecord) -> bool:
        """Write the record once: False (and nothing written) when its id is already recorded."""
        try:
            self.table.transact(_writes(record))
        except ConditionFailed:
            return False
        return True

    def add_many(self, records: Sequence[AuditRecord]) -> None:
        """Several records (a page of clients read): a transaction per 25, and one at a time for a
        chunk that met a record already written."""
        for start in range(0, len(records), _RECORDS_PER_TRANSACTION):
            chunk = records[start : start + _RECORDS_PER_TRANSACTION]
            try:
                self.table.transact([w for r in chunk for w in _writes(r)])
            except ConditionFailed:
                for record in chunk:
                    self.add(record)

    def page(
        self,
        practice_id: str,
        *,
        client_id: str | None,
        staff_id: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> AuditPage:
        """Oldest first, within [start, end): by client (and staff member), by staff member, else
        by time. A cursor is good only for the query it came from (else 400)."""
        if client_id is not None:
            prefix = keys.audit_client_prefix(client_id)
        elif staff_id is not None:
            prefix = keys.audit_staff_prefix(staff_id)
        else:
            prefix = keys.AUDIT_AT_PREFIX
        low, high = (prefix + iso(start) if start else None), (prefix + iso(end) if end else None)
        _check_cursor(cursor, partition=keys.audit_pk(practice_id), prefix=prefix, low=low, high=high)
        page: Page = self.table.query(
            keys.audit_pk(practice_id), prefix=prefix, from_sk=low, to_sk=high, limit=limit, cursor=cursor
        )
        records = [_record(item) for item in page.items]
        if client_id is not None and staff_id is not None:
            records = [r for r in records if r.actor.id == staff_id]
        return AuditPage(items=records, cursor=page.cursor)


def _check_cursor(
    cursor: str | None, *, partition: str, prefix: str, low: str | None, high: str | None
) -> None:
    """A cursor of this query but another period (its place outside the new one) is a 400 here,
    not DynamoDB's refusal of a start key outside the key condition."""
    start = decode_cursor(cursor, partition=partition, prefix=prefix)
    sk = str(start["SK"]) if start else None
    if sk is not None and ((low is not None and sk < low) or (high is not None and sk > high)):
        raise AuditQueryError("the cursor is not valid for this period", field="cursor")


@dataclass(frozen=True)
class StreamChange:
    """What one record of the table's stream means for the trail: a ``new`` record (to archive),
    an audit item ``changed`` (overwritten, or removed by anything but TTL: never by our code),
    an audit item ``expired`` (TTL, after the hot period), or ``other`` (not the trail's)."""

    kind: Literal["new", "changed", "expired", "other"]
    record: AuditRecord | None = None
    key: tuple[str, str] = ("", "")


_TTL = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def stream_change(raw: Mapping[str, Any]) -> StreamChange:
    """Read one DynamoDB stream record (as Lambda delivers it)."""
    change = raw.get("dynamodb") or {}
    found = load_image(change.get("Keys") or {})
    key = (str(found.get("PK", "")), str(found.get("SK", "")))
    if not key[0].startswith(keys.AUDIT_PK_PREFIX):
        return StreamChange("other", key=key)
    event = raw.get("eventName")
    if event == "REMOVE":
        return StreamChange("expired" if raw.get("userIdentity") == _TTL else "changed", key=key)
    if event != "INSERT":
        return StreamChange("changed", key=key)
    if not key[1].startswith(keys.AUDIT_RECORD_PREFIX):
        return StreamChange("other", key=key)  # a copy: the record itself is archived
    return StreamChange("new", record=_record(load_image(change.get("NewImage") or {})), key=key)
