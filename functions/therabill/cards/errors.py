"""The cards capability's errors. Each subclasses the core error whose HTTP status it answers with;
what it is about travels as attributes (the response body stays as it was)."""

from __future__ import annotations

from therabill.core.errors import AlreadyExistsError, ConflictError, InvalidRequestError, NotFoundError


class ConsentError(InvalidRequestError):
    """The card's consent does not allow this charge (revoked, expired, out of scope, too large)."""


class CardNotFoundError(NotFoundError):
    """No active card with this id (or it was removed meanwhile)."""

    def __init__(self, card_id: str) -> None:
        super().__init__("card not found")
        self.card_id = card_id


class ConsentNotFoundError(NotFoundError):
    def __init__(self, consent_id: str) -> None:
        super().__init__("consent not found")
        self.consent_id = consent_id


class CardRecordExistsError(AlreadyExistsError):
    """A set-up link or consent id was taken (ids are new: this should never happen)."""

    def __init__(self, what: str, record_id: str) -> None:
        super().__init__(f"the {what} already exists")
        self.record_id = record_id


class SetupAlreadyCompletedError(ConflictError):
    """The consent is no longer pending: another delivery of the same event stored the card."""

    def __init__(self, consent_id: str) -> None:
        super().__init__("the card set-up was completed already")
        self.consent_id = consent_id


class ScopeAlreadyExpiredError(InvalidRequestError):
    """A set-up link's consent scope would expire before the client could agree to it."""

    def __init__(self, expires_at: str) -> None:
        super().__init__("scope.expires_at: the consent must expire in the future", field="scope.expires_at")
        self.expires_at = expires_at


class CardsNotAcceptedYetError(ConflictError):
    """The practice has no Stripe account, or one that cannot take charges yet: no card can be saved."""

    def __init__(self, practice_id: str) -> None:
        super().__init__(
            "connect Stripe first: the practice cannot take cards until its Stripe account can accept charges"
        )
        self.practice_id = practice_id


class SetupLinkGoneError(NotFoundError):
    """The set-up link's item is gone (or its billing party is): the link can no longer be used."""

    def __init__(self, link_id: str) -> None:
        super().__init__("this link is no longer valid")
        self.link_id = link_id


class SetupLinkUsedError(ConflictError):
    """A card was already saved with this set-up link."""

    def __init__(self, link_id: str, status: str) -> None:
        super().__init__("this card has already been saved", status=status)
        self.link_id = link_id


class CardsPausedError(ConflictError):
    """The practice's Stripe account cannot take charges just now: its client's link waits."""

    def __init__(self, practice_id: str) -> None:
        super().__init__("the practice cannot take cards yet")
        self.practice_id = practice_id


class AutoPayRefusedError(ConflictError):
    """AutoPay cannot be turned on for this billing party (``reason``: a code of ``cards.autopay``)."""
