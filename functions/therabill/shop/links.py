"""Purchase links: a clinician recommends items to a client (after a completed session of theirs,
or on its own); the billing party gets a signed, expiring link to the store page by email. The
link names only ids; the items recommended are on the link's item, so nobody can change them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from html import escape

from therabill.clients.service import ClientService
from therabill.core import signed_tokens
from therabill.core.clock import Clock, day_text, local_date
from therabill.core.errors import InvalidRequestError, NotFoundError, UnauthorizedError
from therabill.core.ids import new_id
from therabill.notifications.html import html_page
from therabill.notifications.mailer import Email, Outbox
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.service import SessionService
from therabill.shop.models import MAX_ORDER_LINES, PurchaseLink, Recommended
from therabill.shop.orders import order_lines
from therabill.shop.store import ShopStore

TOKEN_PURPOSE = "store"
DEFAULT_DAYS = 14
_DONE = frozenset({"checked_in", "completed"})  # a session a recommendation may follow


@dataclass(frozen=True)
class StoreVisit:
    """Who opened the store page: the practice, the link, and so the client and billing party."""

    practice: Practice
    link: PurchaseLink


class PurchaseLinks:
    def __init__(
        self,
        *,
        store: ShopStore,
        practices: PracticeService,
        clients: ClientService,
        sessions: SessionService,
        outbox: Outbox,
        link_key: str,
        public_base_url: str,
        clock: Clock,
    ) -> None:
        self._store = store
        self._practices = practices
        self._clients = clients
        self._sessions = sessions
        self._outbox = outbox
        self._link_key = link_key
        self._base = public_base_url
        self._clock = clock

    # Long: each check of what a link may name, then the item, the token and the email.
    def send(
        self,
        practice_id: str,
        *,
        client_id: str,
        contact_id: str | None,
        session_id: str | None,
        items: list[tuple[str, int]],
        days: int,
        created_by: str,
    ) -> tuple[PurchaseLink, str]:
        """Write the link and email it to the billing party once: (the link, its URL)."""
        practice = self._practices.get(practice_id)
        party = self._clients.billing_party(practice_id, client_id, contact_id)
        if not party.email:
            raise InvalidRequestError(
                "the client (or billing contact) has no email address", field="client_id"
            )
        if session_id is not None:
            try:
                session = self._sessions.get(practice_id, session_id)
            except NotFoundError as exc:
                raise InvalidRequestError("names no session of this client", field="session_id") from exc
            if session.client_id != client_id or session.status not in _DONE:
                raise InvalidRequestError("names no completed session of this client", field="session_id")
        products = self._store.products_by_id(practice_id, [p for p, _ in items])
        order_lines(items, products, practice.currency)  # the same checks as an order (400 on items)
        now = self._clock()
        link = PurchaseLink(
            id=new_id("lnk"),
            client_id=client_id,
            owner_id=contact_id,
            session_id=session_id,
            items=tuple(Recommended(product_id=p, quantity=q) for p, q in items[:MAX_ORDER_LINES]),
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        self._store.put_link(practice_id, link)
        token = signed_tokens.sign(
            self._link_key, TOKEN_PURPOSE, {"p": practice_id, "l": link.id}, link.expires_at
        )
        url = f"{self._base}/store/{token}"
        email = _link_email(
            practice, party.name, party.email, url, day_text(local_date(link.expires_at, practice.time_zone))
        )
        self._outbox.send_once(practice_id, f"purchase-link:{link.id}", email)
        return link, url

    def open(self, token: str) -> StoreVisit:
        """The store page's visitor: UnauthorizedError for a link not ours, LinkExpiredError once
        it has expired."""
        claims = signed_tokens.verify(self._link_key, TOKEN_PURPOSE, token, self._clock())
        practice = self._practices.get(str(claims["p"]))
        link = self._store.get_link(practice.id, str(claims["l"]))
        if link is None:
            raise UnauthorizedError("this link is not valid")
        return StoreVisit(practice, link)

    def link_practice(self, token: str) -> Practice | None:
        """The practice a store link comes from, expired or not (None: not one of ours)."""
        return self._practices.of_link(signed_tokens.signed_claims(self._link_key, TOKEN_PURPOSE, token))


def _link_email(practice: Practice, name: str, to: str, url: str, until: str) -> Email:
    paragraphs = [
        f"Dear {name},",
        f"{practice.name} has recommended some items for you. You can see them, choose how many"
        f" you would like and pay online until {until}.",
    ]
    after = [f"Questions? Write to {practice.email}."]
    return Email(
        to=to,
        subject=f"Items recommended for you by {practice.name}",
        text="\n\n".join([*paragraphs, f"Open the store: {url}", *after]),
        html=html_page(
            "Items recommended for you",
            [escape(p) for p in paragraphs],
            ("Open the store", url),
            after=[escape(a) for a in after],
        ),
        reply_to=practice.email,
        sender_name=practice.name,
    )
