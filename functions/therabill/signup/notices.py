"""What staff invitations tell an address privately (the staff capability's ``StaffNotices``
port): an address that has a sign-in already hears that a practice invited it, and what to do."""

from __future__ import annotations

import hashlib

from therabill.core.clock import Clock
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.practices.service import PracticeService
from therabill.signup import emails


class InvitationNotices:
    def __init__(self, *, outbox: Outbox, practices: PracticeService, clock: Clock, sign_in_url: str) -> None:
        self._outbox = outbox
        self._practices = practices
        self._clock = clock
        self._sign_in_url = sign_in_url

    def registered_elsewhere(self, practice_id: str, email: str) -> None:
        """Once a day per practice and address (the invitation limits bound how many); a failure is
        logged by its kind, never the address, and never changes the inviter's answer."""
        address = hashlib.sha256(email.encode()).hexdigest()[:32]
        day = self._clock().strftime("%Y%m%d")
        try:
            practice = self._practices.get(practice_id)
            self._outbox.send_once(
                practice_id,
                f"staff-registered:{address}:{day}",
                emails.registered_elsewhere(
                    email, practice_name=practice.name, sign_in_url=self._sign_in_url
                ),
            )
        except Exception as exc:  # the inviter's answer must not differ; a new invitation resends
            logger.warning("invitation notice not sent", error=type(exc).__name__)
