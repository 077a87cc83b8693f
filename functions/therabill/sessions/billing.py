"""The money side of the session lifecycle: each transition the staff API makes goes through here,
which makes the transition (SessionService) and then does what it owes, each step exactly once.

* Completing posts the session's charge (ledger source ``session:<ses>``) from the price snapshot;
  a $0 or not-billed session posts nothing.
"""

from __future__ import annotations

from datetime import datetime

from therabill.ledger.service import LedgerService
from therabill.sessions.models import Session
from therabill.sessions.service import SessionService


class SessionBilling:
    def __init__(self, sessions: SessionService, ledger: LedgerService) -> None:
        self._sessions = sessions
        self._ledger = ledger

    def complete(self, practice_id: str, session_id: str, start: datetime, end: datetime) -> Session:
        session = self._sessions.complete(practice_id, session_id, start, end)
        price = session.price
        if price is not None and price.amount.amount > 0 and not price.not_billed:
            self._ledger.post(
                practice_id,
                client_id=session.client_id,
                kind="charge",
                amount=price.amount,
                source_key=f"session:{session.id}",
                memo="Session",
            )
        return session
