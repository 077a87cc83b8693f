"""Opening an invoice on the public pay page with its number and access code, against guessing.

* Each attempt first **reserves** a slot, atomically, before the code is even compared: one on the
  source IP's counter for the current 15-minute window (at most 10 failures) and one on the
  invoice's ``failed_codes`` (at most 5). A slot is an ``ADD 1`` conditioned on the counter being
  below its limit, so however many requests race, no more than the limit are ever compared. A
  correct code gives its slots back; a wrong one keeps them. An invoice at 5 is locked until
  staff unlock it (a new code).
* The code is compared in constant time (``hmac.compare_digest``). An unknown number, a wrong
  code and a locked invoice get the same answer, so nothing about an invoice leaks before its
  code is right.
* A lock-out is logged with the invoice id and a hash of the IP, never the code.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys, signed_tokens
from therabill.core.clock import Clock, iso
from therabill.core.errors import TherabillError, UnauthorizedError
from therabill.invoices.models import MAX_FAILED_CODES, Invoice
from therabill.invoices.store import InvoiceStore
from therabill.observability import logger

IP_WINDOW = timedelta(minutes=15)
IP_MAX_FAILURES = 10
PAY_TOKEN_PURPOSE = "invoice-pay"
PAY_TOKEN_VALID_FOR = timedelta(minutes=30)
_DENIED = (
    "The invoice number or access code is not right. Check the invoice email or PDF, or contact the practice."
)
_DUMMY_CODE = "000000"


class TooManyAttemptsError(TherabillError):
    """This source IP made too many failed attempts in the current window (HTTP 429)."""


def denied() -> UnauthorizedError:
    return UnauthorizedError(_DENIED)


def ip_hash(source_ip: str) -> str:
    return hashlib.sha256(source_ip.encode()).hexdigest()[:16]


class InvoiceAccess:
    def __init__(self, store: InvoiceStore, clock: Clock, link_key: str) -> None:
        self._store = store
        self._table: Table = store.table
        self._clock = clock
        self._link_key = link_key

    # -- the lookup -----------------------------------------------------------------------------
    def open(self, practice_id: str, number: str, code: str, source_ip: str) -> tuple[Invoice, str]:
        """The invoice and a short-lived pay token, or UnauthorizedError (always the same) or
        TooManyAttemptsError."""
        now = self._clock()
        window = self._reserve_ip(source_ip, now)
        invoice = self._store.by_number(practice_id, number) if practice_id.startswith("prc_") else None
        if invoice is None or invoice.status == "draft":
            hmac.compare_digest(code.encode(), _DUMMY_CODE.encode())  # the same work as a real compare
            raise denied()
        if not self._reserve_invoice(practice_id, invoice):
            logger.warning("invoice access refused: locked", invoice_id=invoice.id, ip=ip_hash(source_ip))
            raise denied()
        if not hmac.compare_digest(code.encode(), invoice.access_code.encode()):
            self._failed(practice_id, invoice, source_ip, now)
            raise denied()
        self._release_invoice(practice_id, invoice.id)
        self._release_ip(source_ip, window)
        token = signed_tokens.sign(
            self._link_key,
            PAY_TOKEN_PURPOSE,
            {"p": practice_id, "inv": invoice.id},
            now + PAY_TOKEN_VALID_FOR,
        )
        return self._store.get(practice_id, invoice.id), token

    def verify_token(self, token: str) -> tuple[str, str]:
        """(practice id, invoice id) of a pay token, or UnauthorizedError."""
        claims = signed_tokens.verify(self._link_key, PAY_TOKEN_PURPOSE, token, self._clock())
        return str(claims["p"]), str(claims["inv"])

    # -- the per-IP window ----------------------------------------------------------------------
    def _window(self, now: datetime) -> int:
        size = int(IP_WINDOW.total_seconds())
        return int(now.timestamp()) // size * size

    def _reserve_ip(self, source_ip: str, now: datetime) -> int:
        window = self._window(now)
        try:
            self._table.update(
                keys.access_ip_pk(source_ip),
                f"W#{window}",
                update="SET #t = :t, expires_at_epoch = :exp ADD failures :one",
                condition="attribute_not_exists(failures) OR failures < :max",
                names={"#t": "type"},
                values={
                    ":t": "pay_ip_window",
                    ":exp": window + int(IP_WINDOW.total_seconds()) + 3600,
                    ":one": 1,
                    ":max": IP_MAX_FAILURES,
                },
            )
        except ConditionFailed as exc:
            logger.warning("invoice lookups refused for an IP", ip=ip_hash(source_ip))
            retry = window + int(IP_WINDOW.total_seconds()) - int(now.timestamp())
            raise TooManyAttemptsError(
                "Too many attempts from this network. Try again later.", retry_after=max(retry, 1)
            ) from exc
        return window

    def _release_ip(self, source_ip: str, window: int) -> None:
        self._table.update(
            keys.access_ip_pk(source_ip),
            f"W#{window}",
            update="ADD failures :minus",
            condition="failures > :zero",
            values={":minus": -1, ":zero": 0},
        )

    # -- the per-invoice counter ----------------------------------------------------------------
    def _reserve_invoice(self, practice_id: str, invoice: Invoice) -> bool:
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.invoice_sk(invoice.id),
                update="ADD failed_codes :one",
                condition=(
                    "attribute_exists(PK) AND (attribute_not_exists(failed_codes) OR failed_codes < :max)"
                ),
                values={":one": 1, ":max": MAX_FAILED_CODES},
            )
        except ConditionFailed:
            return False
        return True

    def _release_invoice(self, practice_id: str, invoice_id: str) -> None:
        self._table.update(
            keys.practice_pk(practice_id),
            keys.invoice_sk(invoice_id),
            update="ADD failed_codes :minus",
            condition="failed_codes > :zero",
            values={":minus": -1, ":zero": 0},
        )

    def _failed(self, practice_id: str, invoice: Invoice, source_ip: str, now: datetime) -> None:
        current = self._table.get(keys.practice_pk(practice_id), keys.invoice_sk(invoice.id)) or {}
        failures = int(current.get("failed_codes", 0))
        logger.info(
            "wrong invoice access code", invoice_id=invoice.id, failures=failures, ip=ip_hash(source_ip)
        )
        if failures >= MAX_FAILED_CODES and not current.get("locked_at"):
            self._mark_locked(practice_id, invoice.id, now)
            logger.warning(
                "invoice locked after wrong access codes",
                invoice_id=invoice.id,
                failures=failures,
                ip=ip_hash(source_ip),
            )

    def _mark_locked(self, practice_id: str, invoice_id: str, now: datetime) -> None:
        values: dict[str, Any] = {":now": iso(now)}
        with contextlib.suppress(ConditionFailed):  # a concurrent failure may have marked it first
            self._table.update(
                keys.practice_pk(practice_id),
                keys.invoice_sk(invoice_id),
                update="SET locked_at = :now",
                condition="attribute_exists(PK) AND attribute_not_exists(locked_at)",
                values=values,
            )
