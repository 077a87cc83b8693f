"""The pay page's attempt counters: failed lookups of one source IP per 15-minute window (a
platform item, expiring by TTL) and wrong access codes of one invoice (``failed_codes`` and
``locked_at`` on the invoice item, written only here, never by a versioned update).

A slot is an atomic ``ADD 1`` conditioned on the counter being below its limit, so however many
requests race, no more than the limit are ever taken; giving a slot back is an ``ADD -1``."""

from __future__ import annotations

import contextlib
from datetime import datetime

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso
from therabill.invoices.errors import AttemptCounterError


def _window_sk(window: int) -> str:
    return f"W#{window}"


class AttemptCounters:
    def __init__(self, table: Table) -> None:
        self._table = table

    # -- one source IP, per window --------------------------------------------------------------
    def reserve_ip(self, source_ip: str, window: int, *, expires_at_epoch: int, limit: int) -> bool:
        """Take a slot of the IP's window; False when all ``limit`` are taken."""
        try:
            self._table.update(
                keys.access_ip_pk(source_ip),
                _window_sk(window),
                update="SET #t = :t, expires_at_epoch = :exp ADD failures :one",
                condition="attribute_not_exists(failures) OR failures < :max",
                names={"#t": "type"},
                values={":t": "pay_ip_window", ":exp": expires_at_epoch, ":one": 1, ":max": limit},
            )
        except ConditionFailed:
            return False
        return True

    def release_ip(self, source_ip: str, window: int) -> None:
        try:
            self._table.update(
                keys.access_ip_pk(source_ip),
                _window_sk(window),
                update="ADD failures :minus",
                condition="failures > :zero",
                values={":minus": -1, ":zero": 0},
            )
        except ConditionFailed as exc:
            raise AttemptCounterError("no failed lookup to give back", window=window) from exc

    # -- one invoice's wrong access codes -------------------------------------------------------
    def reserve_code(self, practice_id: str, invoice_id: str, *, limit: int) -> bool:
        """Take a slot of the invoice's wrong-code counter; False when it is at ``limit`` (locked)
        or the invoice is gone."""
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.invoice_sk(invoice_id),
                update="ADD failed_codes :one",
                condition=(
                    "attribute_exists(PK) AND (attribute_not_exists(failed_codes) OR failed_codes < :max)"
                ),
                values={":one": 1, ":max": limit},
            )
        except ConditionFailed:
            return False
        return True

    def release_code(self, practice_id: str, invoice_id: str) -> None:
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.invoice_sk(invoice_id),
                update="ADD failed_codes :minus",
                condition="failed_codes > :zero",
                values={":minus": -1, ":zero": 0},
            )
        except ConditionFailed as exc:
            raise AttemptCounterError("no wrong code to give back", invoice_id=invoice_id) from exc

    def code_failures(self, practice_id: str, invoice_id: str) -> tuple[int, bool]:
        """(wrong codes counted now, whether the invoice is marked locked): read from the table,
        with every attempt's slot taken so far (a missing invoice: ``(0, False)``)."""
        current = (
            self._table.get(keys.practice_pk(practice_id), keys.invoice_sk(invoice_id), fresh=True) or {}
        )
        return int(current.get("failed_codes", 0)), bool(current.get("locked_at"))

    def mark_locked(self, practice_id: str, invoice_id: str, now: datetime) -> None:
        with contextlib.suppress(ConditionFailed):  # a concurrent failure may have marked it first
            self._table.update(
                keys.practice_pk(practice_id),
                keys.invoice_sk(invoice_id),
                update="SET locked_at = :now",
                condition="attribute_exists(PK) AND attribute_not_exists(locked_at)",
                values={":now": iso(now)},
            )
