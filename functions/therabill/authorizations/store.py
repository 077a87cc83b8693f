"""Authorization items in the practice's partition: ``AUTH#<cli>#<auth>`` (with its ``used``
count) and one ``AUTHUSE#<ses>`` per session that used one. A use and the count's ADD land in one
transaction, the use put only if absent; a give-back deletes the use (only if present) with the
ADD of its negative in one transaction: each exactly once, however often retried."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.authorizations.errors import (
    AuthorizationChangedError,
    AuthorizationKeepsChangingError,
    AuthorizationNotFoundError,
)
from therabill.authorizations.models import Authorization, Usage
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import ConflictError, NotFoundError
from therabill.core.ids import is_id
from therabill.core.writes import Write

_ATTEMPTS = 8  # concurrent completions of one client's sessions: re-read the count and try again


def _item(practice_id: str, a: Authorization) -> dict[str, Any]:
    data = a.model_dump(mode="json", exclude_none=True)
    data["created_at"] = iso(a.created_at)
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.authorization_sk(a.client_id, a.id),
        "type": "authorization",
        **data,
    }


def _from_item(item: dict[str, Any]) -> Authorization:
    fields = {k: v for k, v in item.items() if k not in ("PK", "SK", "type")}
    return Authorization.model_validate({**fields, "created_at": parse_iso(item["created_at"])})


def _usage_from_item(item: dict[str, Any]) -> Usage:
    return Usage(
        session_id=item["session_id"],
        client_id=item["client_id"],
        authorization_id=item["authorization_id"],
        amount=int(item["amount"]),
        through=int(item["through"]),
        service_date=date.fromisoformat(item["service_date"]),
    )


class AuthorizationStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- the authorizations ---------------------------------------------------------------------
    def create(self, practice_id: str, authorization: Authorization) -> Authorization:
        """Put if absent: the one stored (a concurrent retry's, when it was first)."""
        try:
            self.table.put_new(_item(practice_id, authorization))
        except ConditionFailed as exc:
            if exc.current is None:
                raise
            return _from_item(exc.current)
        return authorization

    def find(self, practice_id: str, client_id: str, authorization_id: str) -> Authorization | None:
        try:
            return self.get(practice_id, client_id, authorization_id)
        except AuthorizationNotFoundError:
            return None

    def get(self, practice_id: str, client_id: str, authorization_id: str) -> Authorization:
        if not is_id(authorization_id, "auth"):
            raise AuthorizationNotFoundError("authorization not found")
        item = self.table.get(
            keys.practice_pk(practice_id), keys.authorization_sk(client_id, authorization_id)
        )
        if not item:
            raise AuthorizationNotFoundError("authorization not found")
        return _from_item(item)

    def of_client(self, practice_id: str, client_id: str) -> list[Authorization]:
        """The client's authorizations, oldest first (one Query)."""
        prefix = keys.authorization_prefix(client_id)
        return [_from_item(i) for i in self.table.query_all(keys.practice_pk(practice_id), prefix=prefix)]

    def of_practice(self, practice_id: str) -> dict[str, list[Authorization]]:
        """Every client's, by client (one paged Query: the nightly run reads them at once)."""
        out: dict[str, list[Authorization]] = defaultdict(list)
        prefix = keys.authorization_prefix()
        for item in self.table.query_all(keys.practice_pk(practice_id), prefix=prefix):
            a = _from_item(item)
            out[a.client_id].append(a)
        return dict(out)

    def update(
        self,
        practice_id: str,
        authorization: Authorization,
        changes: dict[str, Any],
        *,
        expected_version: int,
    ) -> Authorization:
        pk = keys.practice_pk(practice_id)
        sk = keys.authorization_sk(authorization.client_id, authorization.id)
        try:
            item = self.table.patch(pk, sk, changes, expected_version=expected_version, what="authorization")
        except NotFoundError as exc:
            raise AuthorizationNotFoundError("authorization not found") from exc
        except ConflictError as exc:
            raise AuthorizationChangedError(exc.message, **exc.details) from exc
        return _from_item(item)

    # -- uses -----------------------------------------------------------------------------------
    def usage(self, practice_id: str, session_id: str) -> Usage | None:
        item = self.table.get(
            keys.practice_pk(practice_id), keys.authorization_use_sk(session_id), fresh=True
        )
        return _usage_from_item(item) if item else None

    def usages(self, practice_id: str, session_ids: set[str]) -> dict[str, Usage]:
        """The uses of these sessions, in one round (BatchGetItem)."""
        pk = keys.practice_pk(practice_id)
        found = self.table.get_many([(pk, keys.authorization_use_sk(s)) for s in sorted(session_ids)])
        return {u.session_id: u for u in map(_usage_from_item, found.values())}

    def record_use(
        self,
        practice_id: str,
        authorization: Authorization,
        *,
        session_id: str,
        amount: int,
        service_date: date,
        replacing: Usage | None = None,
    ) -> Usage:
        """The session's use, once: the use item put if absent and the count ADDed in one
        transaction conditioned on the count read (so ``through`` is exact). A use already there
        is returned as it is; a count moved meanwhile is read again. ``replacing``: the session's
        use of a removed authorization, moved here in the same transaction (put only while it
        still names that one, its amount given back to it), so a move happens once."""
        pk = keys.practice_pk(practice_id)
        current = authorization
        for _ in range(_ATTEMPTS):
            usage = Usage(
                session_id, current.client_id, current.id, amount, current.used + amount, service_date
            )
            writes = [self._put_use(pk, usage, replacing), self._add(pk, current, amount, seen=current.used)]
            if replacing is not None:
                writes.append(self._give(pk, replacing))
            try:
                self.table.transact(writes)
                return usage
            except ConditionFailed as exc:
                if exc.index == 0:  # this session's use is recorded (or moved) already
                    existing = self.usage(practice_id, session_id)
                    if existing is not None and (
                        replacing is None or existing.authorization_id != replacing.authorization_id
                    ):
                        return existing
                    replacing = existing
                current = self._fresh(practice_id, current)
        raise AuthorizationKeepsChangingError("the authorization keeps changing; try again")

    def give_back(self, practice_id: str, session_id: str) -> Usage | None:
        """Delete the session's use (only if present) and ADD its negative, in one transaction.
        None: nothing to give back (never used, or given back already)."""
        usage = self.usage(practice_id, session_id)
        if usage is None:
            return None
        pk = keys.practice_pk(practice_id)
        remove = Write(
            kind="delete",
            key=self.table.key(pk, keys.authorization_use_sk(session_id)),
            condition="attribute_exists(PK)",
        )
        try:
            self.table.transact([remove, self._give(pk, usage)])
        except ConditionFailed:
            return None  # a concurrent give-back won
        return usage

    def _give(self, pk: str, u: Usage) -> Write:
        """The use's amount given back to the authorization it names."""
        return Write(
            kind="update",
            key=self.table.key(pk, keys.authorization_sk(u.client_id, u.authorization_id)),
            update="ADD #used :amount",
            condition="attribute_exists(PK)",  # never a stray count item
            names={"#used": "used"},
            values={":amount": -u.amount},
        )

    def _put_use(self, pk: str, u: Usage, replacing: Usage | None = None) -> Write:
        item = {
            "PK": pk,
            "SK": keys.authorization_use_sk(u.session_id),
            "type": "authorization_use",
            "session_id": u.session_id,
            "client_id": u.client_id,
            "authorization_id": u.authorization_id,
            "amount": u.amount,
            "through": u.through,
            "service_date": u.service_date.isoformat(),
        }
        if replacing is None:
            return Write(kind="put", item=item, condition="attribute_not_exists(PK)")
        return Write(
            kind="put",
            item=item,
            condition="#auth = :moved AND #through = :through",
            names={"#auth": "authorization_id", "#through": "through"},
            values={":moved": replacing.authorization_id, ":through": replacing.through},
        )

    def _add(self, pk: str, a: Authorization, amount: int, *, seen: int) -> Write:
        return Write(
            kind="update",
            key=self.table.key(pk, keys.authorization_sk(a.client_id, a.id)),
            update="ADD #used :amount",
            condition="attribute_exists(PK) AND #used = :seen",
            names={"#used": "used"},
            values={":amount": amount, ":seen": seen},
        )

    def _fresh(self, practice_id: str, a: Authorization) -> Authorization:
        item = self.table.get(
            keys.practice_pk(practice_id), keys.authorization_sk(a.client_id, a.id), fresh=True
        )
        if not item:
            raise AuthorizationNotFoundError("authorization not found")
        return _from_item(item)
