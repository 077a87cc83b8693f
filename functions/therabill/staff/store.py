"""Staff items (``STAFF#<stf>``), the email guard (``STAFFEMAIL#<email>``) and the owner count
(``STAFFOWNERS``), all in the practice's partition. Every change of a member that changes the
count of owners who can act writes the count in the same transaction; a decrease is conditioned
on leaving at least one, so the last owner cannot be demoted, disabled or removed however many
requests race."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.ids import is_id
from therabill.core.writes import Write
from therabill.staff.errors import (
    LastOwnerError,
    StaffChangedError,
    StaffEmailTakenError,
    StaffExistsError,
    StaffNotFoundError,
)
from therabill.staff.models import StaffMember


def to_item(m: StaffMember) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.practice_pk(m.practice_id),
        "SK": keys.staff_sk(m.id),
        "type": "staff",
        "staff_id": m.id,
        "name": m.name,
        "role": m.role,
        "status": m.status,
        "created_at": iso(m.created_at),
        "version": m.version,
    }
    if m.email is not None:
        item["email"] = m.email
    if m.sub:
        item["sub"] = m.sub
    if m.activated_at:
        item["activated_at"] = iso(m.activated_at)
    return item


def from_item(item: dict[str, Any]) -> StaffMember:
    activated = item.get("activated_at")
    return StaffMember(
        id=item["staff_id"],
        practice_id=keys.practice_id_of(item["PK"]),
        email=item.get("email"),
        name=item["name"],
        role=item["role"],
        status=item["status"],
        sub=item.get("sub"),
        activated_at=parse_iso(activated) if activated else None,
        created_at=parse_iso(item["created_at"]),
        version=int(item["version"]),
    )


def _owners(practice_id: str, delta: int) -> Write:
    """Move the owner count; a decrease only while another owner remains."""
    key = Table.key(keys.practice_pk(practice_id), keys.STAFF_OWNERS_SK)
    if delta > 0:
        return Write(kind="update", key=key, update="ADD owners :d", values={":d": delta})
    return Write(
        kind="update",
        key=key,
        update="ADD owners :d",
        condition="owners > :one",
        values={":d": delta, ":one": 1},
    )


def _email_guard(practice_id: str, staff_id: str, email: str) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.staff_email_sk(email),
        "type": "staff_email",
        "staff_id": staff_id,
    }


def _owner_delta(before: StaffMember, after: StaffMember) -> int:
    return int(after.counts_as_owner) - int(before.counts_as_owner)


class StaffStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, member: StaffMember) -> None:
        """The member, its email guard (a member with an email) and (an owner) the owner count,
        together."""
        writes = [put_new_write(to_item(member))]
        if member.email is not None:
            writes.append(put_new_write(_email_guard(member.practice_id, member.id, member.email)))
        if member.counts_as_owner:
            writes.append(_owners(member.practice_id, +1))
        try:
            self.table.transact(writes)
        except ConditionFailed as exc:
            if exc.index == 0:
                raise StaffExistsError("this staff member exists already", staff_id=member.id) from exc
            raise StaffEmailTakenError(
                "a staff member of this practice has this email already", field="email"
            ) from exc

    def get(self, practice_id: str, staff_id: str) -> StaffMember:
        if not is_id(staff_id, "stf"):
            raise StaffNotFoundError("staff member not found")
        item = self.table.get(keys.practice_pk(practice_id), keys.staff_sk(staff_id))
        if not item:
            raise StaffNotFoundError("staff member not found")
        return from_item(item)

    def get_many(self, practice_id: str, staff_ids: list[str]) -> dict[str, StaffMember]:
        """The members named (one BatchGetItem): found ones by id; ids not of staff's shape and
        ids not found are left out."""
        pk = keys.practice_pk(practice_id)
        wanted = [(pk, keys.staff_sk(s)) for s in staff_ids if is_id(s, "stf")]
        found = self.table.get_many(wanted) if wanted else {}
        members = (from_item(item) for item in found.values())
        return {m.id: m for m in members}

    def by_email(self, practice_id: str, email: str) -> StaffMember | None:
        """The member of the practice with this (lower-cased) email, if any (not a removed one)."""
        guard = self.table.get(keys.practice_pk(practice_id), keys.staff_email_sk(email))
        return self.get(practice_id, str(guard["staff_id"])) if guard else None

    def list_all(self, practice_id: str) -> list[StaffMember]:
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.STAFF_PREFIX)
        return [from_item(i) for i in items]

    def replace(self, before: StaffMember, after: StaffMember) -> StaffMember:
        """Write ``after`` (the next version of ``before``) if nobody changed the member since,
        with the owner count and (leaving the practice) the email guard in the same transaction.
        Changed meanwhile: StaffChangedError; the last owner: LastOwnerError."""
        after = after.model_copy(update={"version": before.version + 1})
        writes = [
            Write(
                kind="update",
                key=Table.key(keys.practice_pk(before.practice_id), keys.staff_sk(before.id)),
                # Only what a change may move: the item's other attributes stay as they are.
                update="SET #role = :role, #name = :name, #status = :status ADD #version :one",
                condition="#version = :v",
                names={"#role": "role", "#name": "name", "#status": "status", "#version": "version"},
                values={
                    ":role": after.role,
                    ":name": after.name,
                    ":status": after.status,
                    ":one": 1,
                    ":v": before.version,
                },
            )
        ]
        delta = _owner_delta(before, after)
        if delta:
            writes.append(_owners(before.practice_id, delta))
        if after.status == "removed" and before.status != "removed" and before.email is not None:
            key = Table.key(keys.practice_pk(before.practice_id), keys.staff_email_sk(before.email))
            writes.append(Write(kind="delete", key=key))
        try:
            self.table.transact(writes)
        except ConditionFailed as exc:
            if exc.index == 0:
                raise StaffChangedError(
                    "the staff member was changed by someone else; reload and retry"
                ) from exc
            raise LastOwnerError(
                "the practice must keep an owner: make another staff member owner first"
            ) from exc
        return after

    def discard(self, member: StaffMember) -> None:
        """Undo ``create`` of a member no user was made for (the directory refused it)."""
        pk = keys.practice_pk(member.practice_id)
        writes = [Write(kind="delete", key=Table.key(pk, keys.staff_sk(member.id)))]
        if member.email is not None:
            writes.append(
                Write(
                    kind="delete",
                    key=Table.key(pk, keys.staff_email_sk(member.email)),
                    condition="staff_id = :s",
                    values={":s": member.id},
                )
            )
        if member.counts_as_owner:
            key = Table.key(pk, keys.STAFF_OWNERS_SK)
            writes.append(Write(kind="update", key=key, update="ADD owners :d", values={":d": -1}))
        self.table.transact(writes)

    def give_email(self, member: StaffMember, email: str) -> StaffMember:
        """A member with no sign-in gets an email (and its guard) and is ``invited``, if nobody
        changed them since ``member`` was read. Taken: StaffEmailTakenError; changed meanwhile
        (or they have an email already): StaffChangedError."""
        pk = keys.practice_pk(member.practice_id)
        writes = [
            Write(
                kind="update",
                key=Table.key(pk, keys.staff_sk(member.id)),
                update="SET #email = :e, #status = :invited ADD #version :one",
                condition="#version = :v AND attribute_not_exists(#email)",
                names={"#email": "email", "#status": "status", "#version": "version"},
                values={":e": email, ":invited": "invited", ":one": 1, ":v": member.version},
            ),
            put_new_write(_email_guard(member.practice_id, member.id, email)),
        ]
        try:
            self.table.transact(writes)
        except ConditionFailed as exc:
            if exc.index == 0:
                raise StaffChangedError(
                    "the staff member was changed by someone else; reload and retry"
                ) from exc
            raise StaffEmailTakenError(
                "a staff member of this practice has this email already", field="email"
            ) from exc
        update = {"email": email, "status": "invited", "version": member.version + 1}
        return member.model_copy(update=update)

    def take_email_back(self, member: StaffMember) -> None:
        """Undo ``give_email`` when the directory refused the user: no email, no guard, active."""
        pk = keys.practice_pk(member.practice_id)
        writes = [
            Write(
                kind="update",
                key=Table.key(pk, keys.staff_sk(member.id)),
                update="SET #status = :active ADD #version :one REMOVE #email",
                condition="attribute_not_exists(#sub)",
                names={"#email": "email", "#status": "status", "#version": "version", "#sub": "sub"},
                values={":active": "active", ":one": 1},
            )
        ]
        if member.email is not None:
            writes.append(
                Write(
                    kind="delete",
                    key=Table.key(pk, keys.staff_email_sk(member.email)),
                    condition="staff_id = :s",
                    values={":s": member.id},
                )
            )
        self.table.transact(writes)

    def set_sub(self, member: StaffMember, sub: str) -> StaffMember:
        """Record the user's sub once (a retry records the same one)."""
        try:
            item = self.table.update(
                keys.practice_pk(member.practice_id),
                keys.staff_sk(member.id),
                update="SET #sub = :s ADD #version :one",
                condition="attribute_exists(PK) AND (attribute_not_exists(#sub) OR #sub = :s)",
                names={"#sub": "sub", "#version": "version"},
                values={":s": sub, ":one": 1},
            )
        except ConditionFailed as exc:
            raise StaffChangedError("the staff member names another user") from exc
        # A new version: a change read before the sub was recorded must not write over it.
        return from_item(item)

    def activate(self, member: StaffMember, at: datetime) -> StaffMember:
        """An invited member's first request: active from now (a concurrent first request wins
        alike)."""
        active = member.model_copy(
            update={"status": "active", "activated_at": at, "version": member.version + 1}
        )
        writes = [
            Write(
                kind="update",
                key=Table.key(keys.practice_pk(member.practice_id), keys.staff_sk(member.id)),
                update="SET #status = :active, activated_at = :at ADD #version :one",
                condition="#status = :invited",
                names={"#status": "status", "#version": "version"},
                values={":active": "active", ":invited": "invited", ":at": iso(at), ":one": 1},
            )
        ]
        if active.counts_as_owner:  # an owner counts from their first request, in the same write
            writes.append(_owners(member.practice_id, +1))
        try:
            self.table.transact(writes)
        except ConditionFailed:
            return self.get(member.practice_id, member.id)
        return active

    def take_invitation_slot(self, pk: str, sk: str, *, limit: int, expires_at_epoch: int) -> bool:
        """Count one invitation in a window's counter; False (nothing counted) at ``limit``."""
        try:
            self.table.update(
                pk,
                sk,
                update="SET #t = :t, expires_at_epoch = :exp ADD invitations :one",
                condition="attribute_not_exists(invitations) OR invitations < :max",
                names={"#t": "type"},
                values={":t": "invitation_window", ":exp": expires_at_epoch, ":one": 1, ":max": limit},
            )
        except ConditionFailed:
            return False
        return True
