"""Builds the object graph for an entry point, lazily: a handler only constructs (and imports)
what it uses, so the webhook receiver never imports Stripe and cold starts stay small.

Entry points call ``container()``; tests build a Container with their own clients and fakes and
install it with ``use(...)``.

The container's builders live in one mixin per area, each a ``cached_property`` on a shared base
(``base``: settings, clock, clients, test doubles): ``adapters`` (AWS clients, secrets, the table,
Stripe, email, the webhook queue, the outbox), ``people`` (practices, staff, sign-up, clients,
audit), ``money`` (cards, ledger, payments and their hooks, refunds, invoices, Stripe events),
``sessions`` (catalogue, sessions and their billing, bookings, the nightly run), ``insurance``
(providers, coverage, payers, authorizations, clearinghouse, eligibility) and ``shop`` (the store).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from therabill.settings import load_settings
from therabill.wiring.adapters import Adapters
from therabill.wiring.insurance import Insurance
from therabill.wiring.money import Money
from therabill.wiring.people import People
from therabill.wiring.sessions import Sessions
from therabill.wiring.shop import Shop

__all__ = ["Container", "container", "reset", "use"]


class Container(Adapters, People, Money, Sessions, Insurance, Shop):
    """The composition root: every part's builders (a part reaches another's through ``self``)."""


_current: Container | None = None


def container() -> Container:
    global _current  # noqa: PLW0603 - one container per Lambda execution environment
    if _current is None:
        _current = Container(load_settings(os.environ))
    return _current


@contextmanager
def use(c: Container) -> Iterator[Container]:
    """Install ``c`` for the entry points (tests, the local system)."""
    global _current  # noqa: PLW0603
    previous, _current = _current, c
    try:
        yield c
    finally:
        _current = previous


def reset() -> None:
    global _current  # noqa: PLW0603
    _current = None
