"""Opening an invoice on the public pay page with its number and access code, against guessing.

* Each attempt first **reserves** a slot, atomically, before the code is even compared: one on the
  source IP's counter for the current 15-minute window (at most 10 failures) and one on the
  invoice's ``failed_codes`` (at most 5). A slot is an ``ADD 1`` conditioned on the counter being
  below its limit, so however many requests race, no more than the limit are ever compared. A
  correct code gives its slots back; a wrong one keeps them. An invoice at 5 is locked until
  staff unlock it (a new code).
* The code is compared in constant time (``hmac.compare_digest``). An unknown number, a wrong
  code and a locked invoice get the same answer after the same work (the same DynamoDB reads and
  writes: an unknown number reads, and tries to take a slot of, an invoice item that never
  exists), so nothing about an invoice leaks before its code is right, not even by timing.
* A lock-out is logged with the invoice id and a hash of the IP, never the code.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import NoReturn

from therabill.core import signed_tokens
from therabill.core.clock import Clock
from therabill.core.errors import TherabillError, UnauthorizedError
from therabill.invoices.models import MAX_FAILED_CODES, Invoice
from therabill.invoices.store import NO_INVOICE_ID, InvoiceStore
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
    def __init__(self, *, store: InvoiceStore, clock: Clock, link_key: str) -> None:
        self._store = store
        self._attempts = store.attempts
        self._clock = clock
        self._link_key = link_key

    # -- the lookup -----------------------------------------------------------------------------
    def open(self, practice_id: str, number: str, code: str, source_ip: str) -> tuple[Invoice, str]:
        """The invoice and a short-lived pay token, or UnauthorizedError (always the same) or
        TooManyAttemptsError. A refusal does the same work whatever its reason (an unknown number,
        a draft, a locked invoice, a wrong code): the same reads and writes, one comparison."""
        now = self._clock()
        window = self._reserve_ip(source_ip, now)
        found = self._store.by_number(practice_id, number)
        invoice = found if found is not None and found.status != "draft" else None
        target = invoice.id if invoice else NO_INVOICE_ID  # no invoice: its slot is refused, nothing written
        reserved = self._attempts.reserve_code(practice_id, target, limit=MAX_FAILED_CODES)
        right = hmac.compare_digest(code.encode(), (invoice.access_code if invoice else _DUMMY_CODE).encode())
        if invoice is None or not reserved or not right:
            self._refused(practice_id, invoice, reserved=reserved, source_ip=source_ip, now=now)
        assert invoice is not None
        self._attempts.release_code(practice_id, invoice.id)
        self._attempts.release_ip(source_ip, window)
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

    def _reserve_ip(self, source_ip: str, now: datetime) -> int:
        """A slot of the IP's current window (its start, in epoch seconds), or
        TooManyAttemptsError."""
        size = int(IP_WINDOW.total_seconds())
        window = int(now.timestamp()) // size * size
        if not self._attempts.reserve_ip(
            source_ip, window, expires_at_epoch=window + size + 3600, limit=IP_MAX_FAILURES
        ):
            logger.warning("invoice lookups refused for an IP", ip=ip_hash(source_ip))
            retry = window + size - int(now.timestamp())
            raise TooManyAttemptsError(
                "Too many attempts from this network. Try again later.", retry_after=max(retry, 1)
            )
        return window

    def _refused(
        self, practice_id: str, invoice: Invoice | None, *, reserved: bool, source_ip: str, now: datetime
    ) -> NoReturn:
        """Count a wrong code (locking the invoice at the limit) and refuse; the counter is read
        for every refusal, so each costs the same."""
        failures, locked = self._attempts.code_failures(practice_id, invoice.id if invoice else NO_INVOICE_ID)
        if invoice is not None and not reserved:
            logger.warning("invoice access refused: locked", invoice_id=invoice.id, ip=ip_hash(source_ip))
        elif invoice is not None:
            logger.info(
                "wrong invoice access code", invoice_id=invoice.id, failures=failures, ip=ip_hash(source_ip)
            )
            if failures >= MAX_FAILED_CODES and not locked:
                self._attempts.mark_locked(practice_id, invoice.id, now)
                logger.warning(
                    "invoice locked after wrong access codes",
                    invoice_id=invoice.id,
                    failures=failures,
                    ip=ip_hash(source_ip),
                )
        raise denied()
