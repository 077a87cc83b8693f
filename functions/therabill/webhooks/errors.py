"""The webhooks' errors."""

from __future__ import annotations

from therabill.core.errors import AlreadyExistsError


class EventAlreadyRecordedError(AlreadyExistsError):
    """The inbox holds this event already; ``status`` is how far it got."""

    def __init__(self, event_id: str, status: str | None) -> None:
        super().__init__("the event was recorded already")
        self.event_id = event_id
        self.status = status
