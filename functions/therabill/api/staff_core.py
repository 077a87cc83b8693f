"""The staff API's own routes (the practice, clients, cards, charges, the ledger; included by
api/staff.py). Each route parses, checks the caller's role, calls one domain function and maps
the result. The practice is always the caller's (from the token)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, body_of, no_content
from therabill.api.params import ClientId, ItemId
from therabill.api.staff_common import caller, removed
from therabill.api.staff_models import (
    CardOut,
    ChargeCreate,
    ClientCreate,
    ClientOut,
    ClientPage,
    ClientUpdate,
    ConnectLinks,
    ConnectOut,
    ContactCreate,
    ContactOut,
    ContactUpdate,
    DiagnosesIn,
    LedgerAccountOut,
    LedgerEntryOut,
    LedgerLineOut,
    LedgerOut,
    PaymentOut,
    PracticeCreate,
    PracticeOut,
    PracticeUpdate,
    SetupLinkCreate,
    SetupLinkOut,
    StripeStatusOut,
)
from therabill.cards.models import Card, ConsentScope
from therabill.clients.models import BillingContact, Client
from therabill.core.errors import NotFoundError
from therabill.core.money import Money
from therabill.ledger.service import balance_of
from therabill.payments.models import Payment
from therabill.policies.cancellation import CancellationPolicy
from therabill.practices.models import Practice

router = APIGatewayRouter()  # type: ignore[no-untyped-call]


def _caller() -> Caller:
    return caller(router)


# -- mapping domain → API --------------------------------------------------------------------------
def _practice_out(p: Practice) -> PracticeOut:
    stripe = StripeStatusOut(**p.stripe.model_dump()) if p.stripe else None
    return PracticeOut(
        id=p.id,
        name=p.name,
        email=p.email,
        time_zone=p.time_zone,
        cutoff_hour=p.cutoff_hour,
        currency=p.currency,
        country=p.country,
        version=p.version,
        created_at=p.created_at,
        stripe=stripe,
        billing_requires_signed_note=p.billing_requires_signed_note,
        address=p.address,
        phone=p.phone,
    )


def _client_out(c: Client) -> ClientOut:
    # The API model names the fields it exposes; anything else on the domain model stays inside.
    return ClientOut.model_validate(c, from_attributes=True)


def _shown(client: Client) -> ClientOut:
    """A client as answered: the read of its codes recorded (when it has any)."""
    return _client_out(*audit_trail.clients_shown(router, [client]))


def _contact_out(c: BillingContact) -> ContactOut:
    return ContactOut.model_validate(c, from_attributes=True)


def _card_out(card: Card, default_ids: set[str]) -> CardOut:
    return CardOut(
        id=card.id,
        owner_id=card.owner_id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        is_default=card.id in default_ids,
        consent_id=card.consent_id,
        created_at=card.created_at,
    )


def _payment_out(p: Payment) -> PaymentOut:
    return PaymentOut(
        id=p.id,
        client_id=p.client_id,
        owner_id=p.owner_id,
        card_id=p.card_id or None,
        amount=p.amount.amount,
        currency=p.amount.currency,
        kind=p.kind,
        status=p.status,
        payment_intent_id=p.payment_intent_id,
        error_code=p.error_code,
        decline_code=p.decline_code,
        failure_message=p.failure_message,
        refunded_amount=p.refunded_amount,
        dispute_status=p.dispute_status,
        dispute_reason=p.dispute_reason,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


# -- practice --------------------------------------------------------------------------------------
@router.post("/practice", status_code=201, responses=answers({201: "The new practice."}, 403, 409))
def create_practice(body: Annotated[PracticeCreate, Body()]) -> PracticeOut:
    """Create the caller's practice (the one its token names; once). Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    practice = container().practices.create(caller.practice_id, **body.model_dump())
    return _practice_out(practice)


@router.get("/practice", responses=answers({200: "The practice."}, 404))
def get_practice() -> PracticeOut:
    """The caller's practice: its settings and the state of its Stripe account."""
    caller = _caller()
    return _practice_out(container().practices.get(caller.practice_id))


@router.patch("/practice", responses=answers({200: "The practice as changed."}, 403, 404, 409))
def update_practice(body: Annotated[PracticeUpdate, Body()]) -> PracticeOut:
    """Change the practice's settings (omitted fields stay). Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    practice = container().practices.update_settings(
        caller.practice_id, expected_version=body.expected_version, changes=changes
    )
    return _practice_out(practice)


@router.get("/practice/cancellation-policy", responses=answers({200: "The policy."}, 403, 404))
def get_cancellation_policy() -> CancellationPolicy:
    """The practice's cancellation / no-show policy (empty: no fees). Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    return container().practices.get(caller.practice_id).cancellation_policy or CancellationPolicy()


@router.put("/practice/cancellation-policy", responses=answers({200: "The policy as stored."}, 403, 404, 409))
def put_cancellation_policy(body: Annotated[CancellationPolicy, Body()]) -> CancellationPolicy:
    """Replace the policy: a window with one fee or tiers, a no-show fee, a first-offence waiver.
    Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    practice = container().practices.set_cancellation_policy(caller.practice_id, body)
    assert practice.cancellation_policy is not None
    return practice.cancellation_policy


@router.post(
    "/practice/stripe/connect", responses=answers({200: "Where to send the owner."}, 403, 404, 409, 502)
)
def connect_stripe(body: Annotated[ConnectLinks, Body()]) -> ConnectOut:
    """Start (or resume) Stripe Connect onboarding: a link for the owner to follow. Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    url = container().practices.connect_stripe(
        caller.practice_id, refresh_url=body.refresh_url, return_url=body.return_url
    )
    return ConnectOut(onboarding_url=url)


# -- clients ---------------------------------------------------------------------------------------
@router.post("/clients", status_code=201, responses=answers({201: "The new client."}, 403, 404))
def create_client(body: Annotated[ClientCreate, Body()]) -> ClientOut:
    """Add a client to the practice, self-pay unless ``billing_type`` says otherwise; their
    insurance is added with ``POST /clients/{client_id}/coverage`` (``copay_amount`` and
    ``payer_forbids_fees`` are refused here: 400). Owner, biller or front desk."""
    caller = _caller()
    caller.require("clients:write")
    container().practices.get(caller.practice_id)
    client = container().clients.create(caller.practice_id, **body.model_dump())
    return _client_out(client)


@router.get("/clients")
def list_clients(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> ClientPage:
    """The practice's clients, a page at a time (``next_cursor`` asks for the next page)."""
    caller = _caller()
    items, next_cursor = container().clients.list_page(caller.practice_id, limit=limit, cursor=cursor)
    return ClientPage(
        items=[_client_out(c) for c in audit_trail.clients_shown(router, items)], next_cursor=next_cursor
    )


@router.get("/clients/<client_id>")
def get_client(client_id: ClientId) -> ClientOut:
    """One client of the practice."""
    caller = _caller()
    return _shown(container().clients.get(caller.practice_id, client_id))


@router.patch("/clients/<client_id>", responses=answers({200: "The client as changed."}, 403, 409))
def update_client(client_id: ClientId, body: Annotated[ClientUpdate, Body()]) -> ClientOut:
    """Change a client (omitted fields stay; email and phone may be set to null). The copay and
    the payer's fee ban are the coverage's (``/clients/{client_id}/coverage``): ``copay_amount``
    and ``payer_forbids_fees`` are refused here (400). Owner, biller or front desk."""
    caller = _caller()
    caller.require("clients:write")
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    client = container().clients.update(caller.practice_id, client_id, changes, body.expected_version)
    return _shown(client)


@router.put("/clients/<client_id>/diagnoses", responses=answers({200: "The client."}, 403, 409))
def put_client_diagnoses(client_id: ClientId, body: Annotated[DiagnosesIn, Body()]) -> ClientOut:
    """The client's ICD-10-CM codes in pointer order (the primary first): 1 to 12, each a letter,
    a digit, a letter or digit, then optionally "." and 1 to 4 letters or digits; stored upper
    case with the dot; no repeats. An empty list clears them. Owner, biller or clinician."""
    caller = _caller()
    caller.require("diagnoses:write")
    client = container().clients.set_diagnoses(
        caller.practice_id, client_id, body.codes, expected_version=body.expected_version
    )
    audit_trail.client_diagnoses_changed(router, client)
    return _client_out(client)


@router.post(
    "/clients/<client_id>/contacts", status_code=201, responses=answers({201: "The new contact."}, 403, 409)
)
def add_contact(client_id: ClientId, body: Annotated[ContactCreate, Body()]) -> ContactOut:
    """Add a billing contact (someone who pays for the client: a parent, a partner). Owner,
    biller or front desk."""
    caller = _caller()
    caller.require("clients:write")
    contact = container().clients.add_contact(caller.practice_id, client_id, **body.model_dump())
    return _contact_out(contact)


@router.get("/clients/<client_id>/contacts")
def list_contacts(client_id: ClientId) -> list[ContactOut]:
    """The client's billing contacts."""
    caller = _caller()
    return [_contact_out(c) for c in container().clients.list_contacts(caller.practice_id, client_id)]


@router.patch(
    "/clients/<client_id>/contacts/<contact_id>", responses=answers({200: "The contact."}, 403, 409)
)
def update_contact(
    client_id: ClientId, contact_id: ItemId, body: Annotated[ContactUpdate, Body()]
) -> ContactOut:
    """Change a billing contact (omitted fields stay; phone may be set to null)."""
    caller = _caller()
    caller.require("clients:write")
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    contact = container().clients.update_contact(
        caller.practice_id, client_id, contact_id, changes, body.expected_version
    )
    return _contact_out(contact)


# -- cards on file ---------------------------------------------------------------------------------
@router.post(
    "/clients/<client_id>/setup-links",
    status_code=201,
    responses=answers({201: "The link to send."}, 403, 409, 502),
)
def create_setup_link(client_id: ClientId, body: Annotated[SetupLinkCreate, Body()]) -> SetupLinkOut:
    """A signed, expiring link where the client (or one of their contacts) saves a card and agrees
    to what it may be charged for. Owner, biller or front desk."""
    caller = _caller()
    caller.require("cards:manage")
    c = container()
    practice = c.practices.get(caller.practice_id)
    scope = ConsentScope(
        kinds=body.scope.kinds,
        expires_at=body.scope.expires_at,
        max_amount=Money(amount=body.scope.max_amount, currency=practice.currency)
        if body.scope.max_amount
        else None,
    )
    link, token = c.cards.create_setup_link(
        caller.practice_id,
        client_id,
        body.contact_id,
        scope,
        caller.user_id,
        timedelta(hours=body.valid_hours),
    )
    return SetupLinkOut(link_id=link.id, url=f"{c.public_base_url}/setup/{token}", expires_at=link.expires_at)


@router.get("/clients/<client_id>/cards")
def list_cards(client_id: ClientId) -> list[CardOut]:
    """The active cards on file of the client and their contacts."""
    caller = _caller()
    c = container()
    client = c.clients.get(caller.practice_id, client_id)  # 404 outside the caller's practice
    defaults = {client.default_card_id} | {
        k.default_card_id for k in c.clients.contacts_of(caller.practice_id, client_id)
    }
    cards = c.cards.active_cards_of(caller.practice_id, client_id)
    return [_card_out(card, {d for d in defaults if d}) for card in cards]


@router.post("/clients/<client_id>/cards/<card_id>/default", responses=answers({200: "The card."}, 403, 409))
def set_default_card(client_id: ClientId, card_id: ItemId) -> CardOut:
    """Make this card its owner's default. Owner, biller or front desk."""
    caller = _caller()
    caller.require("cards:manage")
    card = container().cards.set_default(caller.practice_id, client_id, card_id)
    return _card_out(card, {card.id})


@router.delete(
    "/clients/<client_id>/cards/<card_id>",
    status_code=204,
    responses=answers({204: no_content("Removed.")}, 403, 409, 502),
)
def remove_card(client_id: ClientId, card_id: ItemId) -> Response[str]:
    """Remove a card on file (detached at Stripe; its consent revoked). Owner, biller or front desk."""
    caller = _caller()
    caller.require("cards:manage")
    container().cards.remove(caller.practice_id, client_id, card_id, by=caller.user_id)
    return removed()


@router.get("/clients/<client_id>/cards/<card_id>/consent")
def consent_evidence(client_id: ClientId, card_id: ItemId) -> dict[str, Any]:
    """What the card's owner agreed to, when, from where and with which text."""
    caller = _caller()
    container().clients.get(caller.practice_id, client_id)
    return container().cards.consent_evidence(caller.practice_id, client_id, card_id)


# -- charges and the ledger ------------------------------------------------------------------------
@router.post(
    "/clients/<client_id>/charges",
    status_code=201,
    responses=answers(
        {
            201: body_of(PaymentOut, "Charged (or declined: see status)."),
            202: body_of(PaymentOut, "Stripe did not answer yet: pending; the outcome comes later."),
        },
        403,
        409,
        502,
    ),
)
def charge(
    client_id: ClientId,
    body: Annotated[ChargeCreate, Body()],
    idempotency_key: Annotated[str, Header(alias="idempotency-key", min_length=8, max_length=255)],
) -> Response[str]:
    """Charge a saved card now (within its consent). The same Idempotency-Key again answers
    the same payment and charges nothing twice. Owner, biller or front desk."""
    caller = _caller()
    caller.require("charges:create")
    payment = container().payments.charge_saved_card(
        caller.practice_id,
        client_id=client_id,
        request_key=idempotency_key,
        amount=body.amount,
        kind=body.kind,
        memo=body.memo,
        created_by=caller.user_id,
        card_id=body.card_id,
        owner_id=body.contact_id,
    )
    audit_trail.charged(router, payment)
    status = 202 if payment.status == "pending" else 201
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=_payment_out(payment).model_dump_json(),
    )


@router.get("/clients/<client_id>/payments/<payment_id>")
def get_payment(client_id: ClientId, payment_id: ItemId) -> PaymentOut:
    """One payment of the client's."""
    caller = _caller()
    payment = container().payments.get(caller.practice_id, payment_id)
    if payment.client_id != client_id:
        raise NotFoundError("payment not found")
    return _payment_out(payment)


@router.get("/clients/<client_id>/ledger")
def ledger(client_id: ClientId) -> LedgerOut:
    """The client's ledger: every entry, the balance owed and each billing party's account."""
    caller = _caller()
    c = container()
    c.clients.get(caller.practice_id, client_id)
    practice = c.practices.get(caller.practice_id)
    entries = c.ledger.entries(caller.practice_id, client_id)
    balance = balance_of(client_id, practice.currency, entries)
    return LedgerOut(
        client_id=client_id,
        currency=practice.currency,
        balance=balance.owed,
        receivable=balance.receivable,
        credit=balance.credit,
        accounts=[
            LedgerAccountOut(owner_id=a.owner_id, receivable=a.receivable, credit=a.credit, owed=a.owed)
            for a in balance.accounts
        ],
        entries=[
            LedgerEntryOut(
                id=e.id,
                kind=e.kind,
                amount=e.amount.amount,
                currency=e.amount.currency,
                signed_amount=e.signed_amount,
                posted_at=e.posted_at,
                memo=e.memo,
                method=e.method,
                payment_id=e.payment_id,
                owner_id=e.owner_id,
                lines=[LedgerLineOut(account=line.account, amount=line.amount) for line in e.lines],
            )
            for e in entries
        ],
    )
