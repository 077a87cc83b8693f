"""The sign-up items (``SIGNUP#<email hash>``) and the sign-up rate windows
(``SIGNUPRATE#<ip|email>#<subject>`` / ``W#<window start>``, expiring by TTL): platform items,
outside every practice's partition.

A sign-up is put once (``attribute_not_exists``): however many requests race, one practice id is
chosen and every retry reads it back. Its status moves forward only, each step conditioned on the
one before. A rate window's slot is an atomic ``ADD 1`` conditioned on the count being below the
limit, so no more than the limit are ever taken."""

from __future__ import annotations

from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.signup.errors import SignupChangedError
from therabill.signup.models import Signup, SignupStatus


def to_item(s: Signup) -> dict[str, Any]:
    return {
        "PK": keys.signup_pk(s.email_key),
        "SK": keys.SIGNUP_SK,
        "type": "signup",
        "practice_id": s.practice_id,
        "practice_name": s.practice_name,
        "time_zone": s.time_zone,
        "owner_name": s.owner_name,
        "status": s.status,
        "created_at": iso(s.created_at),
        "version": s.version,
    }


def from_item(item: dict[str, Any]) -> Signup:
    return Signup(
        email_key=str(item["PK"]).removeprefix("SIGNUP#"),
        practice_id=item["practice_id"],
        practice_name=item["practice_name"],
        time_zone=item["time_zone"],
        owner_name=item["owner_name"],
        status=item["status"],
        created_at=parse_iso(item["created_at"]),
        version=int(item["version"]),
    )


class SignupStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def start(self, signup: Signup) -> Signup:
        """Put the sign-up once; an existing one (an earlier or concurrent request) is returned
        instead, with the practice id it chose."""
        try:
            self._table.put_new(to_item(signup))
        except ConditionFailed as exc:
            if exc.current is not None:
                return from_item(exc.current)
            existing = self.get(signup.email_key)
            assert existing is not None, "a failed put-if-absent means the item exists"
            return existing
        return signup

    def get(self, key: str) -> Signup | None:
        item = self._table.get(keys.signup_pk(key), keys.SIGNUP_SK)
        return from_item(item) if item else None

    def advance(self, signup: Signup, status: SignupStatus) -> Signup:
        """Move the sign-up on, if nobody moved it since it was read."""
        try:
            item = self._table.update(
                keys.signup_pk(signup.email_key),
                keys.SIGNUP_SK,
                update="SET #s = :s ADD #v :one",
                condition="#s = :was AND #v = :v",
                names={"#s": "status", "#v": "version"},
                values={":s": status, ":was": signup.status, ":v": signup.version, ":one": 1},
            )
        except ConditionFailed as exc:
            raise SignupChangedError("the sign-up moved on meanwhile", status=signup.status) from exc
        return from_item(item)

    def reopen(self, done: Signup, fresh: Signup) -> Signup:
        """A finished sign-up whose address has no sign-in any more (its owner was removed from
        the practice it made) starts again as ``fresh`` (a new practice id, the new form), if
        nobody moved it since it was read; else SignupChangedError."""
        try:
            item = self._table.update(
                keys.signup_pk(done.email_key),
                keys.SIGNUP_SK,
                update="SET #s = :s, practice_id = :p, practice_name = :n, time_zone = :z, "
                "owner_name = :o, created_at = :c ADD #v :one",
                condition="#s = :was AND #v = :v",
                names={"#s": "status", "#v": "version"},
                values={
                    ":s": "checking",
                    ":p": fresh.practice_id,
                    ":n": fresh.practice_name,
                    ":z": fresh.time_zone,
                    ":o": fresh.owner_name,
                    ":c": iso(fresh.created_at),
                    ":was": done.status,
                    ":v": done.version,
                    ":one": 1,
                },
            )
        except ConditionFailed as exc:
            raise SignupChangedError("the sign-up moved on meanwhile", status=done.status) from exc
        return from_item(item)

    def take_slot(self, kind: str, subject: str, window: int, *, limit: int, expires_at_epoch: int) -> bool:
        """Take a slot of ``subject``'s window; False when all ``limit`` are taken."""
        try:
            self._table.update(
                keys.signup_rate_pk(kind, subject),
                f"W#{window}",
                update="SET #t = :t, expires_at_epoch = :exp ADD attempts :one",
                condition="attribute_not_exists(attempts) OR attempts < :max",
                names={"#t": "type"},
                values={":t": "signup_window", ":exp": expires_at_epoch, ":one": 1, ":max": limit},
            )
        except ConditionFailed:
            return False
        return True
