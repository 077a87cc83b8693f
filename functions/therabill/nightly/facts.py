"""Reading the facts (I/O) the pure decisions in ``nightly.models`` run on: tonight's candidate
sessions, each one's client, card, documentation and holds, as ``ItemFacts``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from therabill.authorizations.models import Asked, Authorization, Usage, choose, readiness_problems
from therabill.authorizations.service import AuthorizationService, Visit
from therabill.cards.models import ChargeKind
from therabill.cards.service import CardService, check_consent
from therabill.clients.models import BillingContact, Client
from therabill.clients.responsibility import Responsibility, SplitKind
from therabill.clients.responsibility import split as split_amount
from therabill.clients.service import ClientService
from therabill.core.cadence import billing_date_after, cadence_of
from therabill.core.clock import Clock, local_date, zone
from therabill.core.errors import TherabillError
from therabill.coverage.models import Coverage, standing
from therabill.coverage.service import CoverageService
from therabill.nightly.consolidation import MAX_SESSIONS
from therabill.nightly.models import LOOKBACK_DAYS, ItemFacts, assess, billable_amount, disposition
from therabill.nightly.ports import Hooks
from therabill.nightly.store import NightlyStore
from therabill.practices.models import Practice
from therabill.providers.clinicians import Roster
from therabill.providers.service import ProviderService
from therabill.sessions.models import Billable, Session, self_pay
from therabill.sessions.store import SessionStore

_OPEN = ("due", "balance")


def charge_kind(f: ItemFacts) -> ChargeKind:
    """The consent kind of tonight's charge: the one kind it bills, else a balance."""
    session = 0 if f.not_billed else (f.session_amount or 0)
    parts = [
        k
        for k, v in (
            ("session_fee", session),
            ("copay", f.copay_balance),
            ("cancellation_fee", f.fee_balance),
        )
        if v
    ]
    if len(parts) == 1:
        return parts[0]  # type: ignore[return-value]
    return "balance"


class ChargeCheck:
    """Whether a client's card may be charged tonight (active, and its consent covers the charge)."""

    def __init__(self, *, cards: CardService, clock: Clock) -> None:
        self._cards = cards
        self._clock = clock

    def allows(self, practice: Practice, client_id: str, card_id: str, kind: ChargeKind, amount: int) -> bool:
        try:
            card = self._cards.get_card(practice.id, client_id, card_id)
            if card.status != "active":
                return False
            consent = self._cards.get_consent(practice.id, card.consent_id)
            check_consent(consent, kind=kind, amount=amount, currency=practice.currency, now=self._clock())
        except TherabillError:
            return False
        return True


class ClientFacts:
    """What the facts need of a client (a missing client: nothing) and their coverage."""

    def __init__(
        self,
        client: Client | None,
        coverages: list[Coverage],
        authorizations: list[Authorization],
        split: tuple[Responsibility, dict[str, BillingContact]] | None = None,
    ) -> None:
        self.id = client.id if client else ""
        self.split = split  # split billing: the rules and the client's billing contacts
        self.name = f"{client.first_name} {client.last_name}".strip() if client else ""
        self.email = client.email if client else None
        self.diagnoses = client.diagnoses if client else ()
        self.default_card_id = client.default_card_id if client else None
        self._billing_type = client.billing_type if client else "self_pay"
        self.unmigrated_insurance = bool(client and client.unmigrated_insurance)
        self.autopay = client.autopay if client else None  # None: the practice's default
        self.billing_cadence = client.billing_cadence if client else None  # None: the practice's
        self._coverages = coverages
        self.authorizations = authorizations
        self.requires_authorization = any(c.authorization_required for c in coverages)

    def insured_on(self, day: date) -> bool:
        """Insured on this date of service (``coverage.models.standing``, the one rule)."""
        return standing(self._billing_type, self._coverages, day).insured

    def asked(self, s: Session, day: date) -> Asked | None:
        """The session as readiness asks about it: insured (not booked as self-pay) on ``day``
        under a primary coverage whose payer requires an authorization; else None."""
        held = standing(self._billing_type, self._coverages, day)
        if self_pay(s) or not held.insured or held.primary is None:
            return None
        if not held.primary.authorization_required:
            return None
        real = s.actual_start and s.actual_end and s.actual_end - s.actual_start
        seconds = int(real.total_seconds()) if real else None
        cpt_code = s.price.cpt_code if s.price else None
        completed = s.status == "completed"
        return Asked(s.id, held.primary.id, day, cpt_code, seconds, completed, s.scheduled_start)

    def stands(self, usage: Usage | None) -> bool:
        """A use that names one of the client's active authorizations (a removed one's is none)."""
        return usage is not None and any(
            a.id == usage.authorization_id and a.status == "active" for a in self.authorizations
        )

    def fits(self, seen: Asked) -> bool:
        """One of the client's authorizations would take the session's use."""
        return choose(self.authorizations, seen.coverage_id, seen.day, seen.cpt_code) is not None

    @property
    def not_billed(self) -> bool:
        return self._billing_type == "not_billed"

    def own_part(self, f: ItemFacts) -> int:
        """What the client themself pays of what tonight bills (split billing: their share)."""
        if self.split is None:
            return billable_amount(f)
        return sum(part for owner, part in self._parts(f, self.split[0]) if owner == self.id)

    def _parts(self, f: ItemFacts, rules: Responsibility) -> list[tuple[str, int]]:
        kind = charge_kind(f)
        split_kind: SplitKind = kind if kind in ("copay", "cancellation_fee") else "session_fee"
        return split_amount(billable_amount(f), rules, split_kind)

    def payers(self, f: ItemFacts, practice: Practice) -> tuple[tuple[str, bool], ...]:
        """Under split billing, each billing party's part of what tonight bills: (their name,
        whether their own card is charged: the practice can charge, their AutoPay, their card).
        Empty: the client pays it all."""
        if self.split is None:
            return ()
        rules, contacts = self.split
        out: list[tuple[str, bool]] = []
        for owner, part in self._parts(f, rules):
            contact = contacts.get(owner)
            if part <= 0 or (owner != self.id and contact is None):
                continue
            if contact is None:  # the client's own part
                out.append((self.name, f.practice_can_charge and f.card_chargeable and f.autopay))
                continue
            autopay = practice.autopay_default if contact.autopay is None else contact.autopay
            card = f.practice_can_charge and contact.default_card_id is not None
            out.append((contact.name, card and autopay))
        return () if [n for n, _ in out] == [self.name] else tuple(out)


class ClientLookup:
    """What the facts need of the clients of tonight's sessions."""

    def __init__(
        self, *, clients: ClientService, coverage: CoverageService, authorizations: AuthorizationService
    ) -> None:
        self._clients = clients
        self._coverage = coverage
        self._authorizations = authorizations

    def of(self, practice_id: str, client_ids: set[str]) -> dict[str, ClientFacts]:
        """Each client's facts, read in one round, and the practice's coverage in one Query (a
        client not found: nothing known)."""
        if not client_ids:
            return {}
        found = self._clients.get_many(practice_id, client_ids)
        coverages = self._coverage.all_of_practice(practice_id)
        auths = self._authorizations.of_practice(practice_id)  # one Query, as the coverage
        rules = self._clients.responsibilities(practice_id, client_ids)  # one round; few have any
        splits = {
            cid: (r, {c.id: c for c in self._clients.contacts_of(practice_id, cid)})
            for cid, r in rules.items()
        }
        return {
            cid: ClientFacts(found.get(cid), coverages.get(cid, []), auths.get(cid, []), splits.get(cid))
            for cid in client_ids
        }

    def authorization_problems(
        self,
        practice: Practice,
        sessions: list[Session],
        clients: dict[str, ClientFacts],
        *,
        record: bool = False,
    ) -> dict[str, str | None]:
        """What each session whose payer requires an authorization lacks (its use read in one
        round, AU4). ``record`` (the run): a completed one without a use of an active
        authorization records it now (``AuthorizationService.use``, exactly once), by date of
        service; the counts are read again after."""
        asked: dict[str, tuple[Session, Asked]] = {}
        for s in sessions:
            seen = clients[s.client_id].asked(s, local_date(s.scheduled_start, practice.time_zone))
            if seen is not None:
                asked[s.id] = (s, seen)
        usages = self._authorizations.usages(practice.id, set(asked))
        auths = {cid: c.authorizations for cid, c in clients.items()}
        if record and self._catch_up(practice.id, asked, usages, clients):
            usages = self._authorizations.usages(practice.id, set(asked))
            auths = self._authorizations.of_practice(practice.id)
        by_client: dict[str, list[Asked]] = {}
        for s, seen in asked.values():
            by_client.setdefault(s.client_id, []).append(seen)
        out: dict[str, str | None] = {}
        for cid, seens in by_client.items():
            out.update(readiness_problems(auths.get(cid, []), seens, usages))
        return out

    def _catch_up(
        self,
        practice_id: str,
        asked: dict[str, tuple[Session, Asked]],
        usages: dict[str, Usage],
        clients: dict[str, ClientFacts],
    ) -> bool:
        """Record the missing uses (completed before the authorization was entered or required, or
        using a removed one: moved), oldest first. A use that cannot be recorded now (the count kept
        moving) waits for the next run: readiness counts it meanwhile."""
        missing = [
            (seen, s)
            for s, seen in asked.values()
            if seen.completed
            and not clients[s.client_id].stands(usages.get(s.id))
            and clients[s.client_id].fits(seen)
        ]
        for _, s in sorted(missing, key=lambda m: m[0].order):
            real = s.actual_start and s.actual_end and s.actual_end - s.actual_start
            visit = Visit(
                session_id=s.id,
                client_id=s.client_id,
                scheduled_start=s.scheduled_start,
                cpt_code=s.price.cpt_code if s.price else None,
                actual_seconds=int(real.total_seconds()) if real else None,
            )
            try:
                self._authorizations.use(practice_id, visit)
            except TherabillError:
                continue
        return bool(missing)


class FactReader:
    def __init__(
        self,
        *,
        clients: ClientLookup,
        sessions: SessionStore,
        providers: ProviderService,
        store: NightlyStore,
        charges: ChargeCheck,
        hooks: Hooks,
    ) -> None:
        self._clients = clients
        self._sessions = sessions
        self._providers = providers
        self._store = store
        self._charges = charges
        self._hooks = hooks

    def facts(self, practice: Practice, run_date: date, *, record_uses: bool = False) -> list[ItemFacts]:
        """Each candidate's facts, by service date: the clients read in one round, a card once per
        distinct charge. ``record_uses`` (the run, not the listing): missing authorization uses
        are recorded first."""
        held = self._store.held(practice.id, run_date)
        roster = self._providers.clinicians.roster(practice.id)  # per practice, never per session
        candidates = self._candidates(practice, run_date, tidy=record_uses)
        clients = self._clients.of(practice.id, {s.client_id for s in candidates})  # one round
        problems = self._clients.authorization_problems(practice, candidates, clients, record=record_uses)
        chargeable: dict[tuple[str, str, int], bool] = {}
        billing_provider: bool | None = None  # read once, when a session is insured
        out: list[ItemFacts] = []
        for s in candidates:
            client = clients[s.client_id]
            supervised = s.clinician_id in roster.supervisors
            base = self._base(practice, s, client, held=s.id in held, supervised=supervised)
            if base is not None and base.insured:
                base = replace(base, authorization=problems.get(s.id))
            if base is None:
                continue  # a no-show owes only its fee: none, or it was charged or waived
            if base.insured and billing_provider is None:
                billing_provider = self._providers.billing_provider(practice.id) is not None
            has_billing = bool(billing_provider) or not base.insured  # only a claim needs one
            base = _with_provider(base, roster, s.clinician_id, billing_provider=has_billing)
            if base.practice_can_charge and client.default_card_id:
                kind = charge_kind(base)
                amount = max(1, billable_amount(base))
                ck = (s.client_id, kind, amount)
                if ck not in chargeable:
                    chargeable[ck] = self._charges.allows(
                        practice, s.client_id, client.default_card_id, kind, amount
                    )
                base = replace(base, card_chargeable=chargeable[ck])
            out.append(base)
        out = self._consolidated_charges(practice, run_date, out, clients)
        out = [  # split billing: each party's part, after the month's consent check (the client's)
            replace(f, payers=clients[f.client_id].payers(f, practice))
            if clients[f.client_id].split is not None and not f.insured
            else f
            for f in out
        ]
        return sorted(out, key=lambda f: (f.service_date, f.session_id))

    def _consolidated_charges(
        self, practice: Practice, run_date: date, out: list[ItemFacts], clients: dict[str, ClientFacts]
    ) -> list[ItemFacts]:
        """A monthly client's Ready sessions due tonight are one charge per consolidation (up to
        ``MAX_SESSIONS``, oldest first, as the planner makes them): the card's consent is asked
        about their sum, and where they bill several kinds about each kind's part too (its limit
        per charge, or a kind it leaves out, may refuse what each session alone fits). Refused,
        each of them is sent (the listing says so, the run sends one invoice), as where one of
        them alone may not be charged."""
        due: dict[str, list[ItemFacts]] = {}
        for f in sorted(out, key=lambda x: (x.service_date, x.session_id)):
            a = assess(f)  # what the run consolidates tonight (auto-billing on), as the planner
            if disposition(f, a, run_date=run_date, auto_billing=practice.auto_billing) == "consolidate":
                due.setdefault(f.client_id, []).append(f)
        refused: set[str] = set()
        for client_id, fs in due.items():
            card_id = clients[client_id].default_card_id
            for start in range(0, len(fs), MAX_SESSIONS):
                chunk = fs[start : start + MAX_SESSIONS]
                if len(chunk) < 2 or not card_id or not any(f.card_chargeable for f in chunk):
                    continue  # one session: its own check; no card: sent anyway
                if not all(f.card_chargeable for f in chunk) or not self._allows_all(
                    practice, clients[client_id], card_id, chunk
                ):
                    refused |= {f.session_id for f in chunk}
        return [replace(f, card_chargeable=False) if f.session_id in refused else f for f in out]

    def _allows_all(self, practice: Practice, client: ClientFacts, card_id: str, fs: list[ItemFacts]) -> bool:
        """Whether the client's card may take their part of these sessions as one charge."""
        parts: dict[ChargeKind, int] = {}
        for f in fs:
            parts[charge_kind(f)] = parts.get(charge_kind(f), 0) + client.own_part(f)
        if len(parts) > 1:
            parts["balance"] = sum(parts.values())  # charged as a balance: each kind for its part too
        return all(
            self._charges.allows(practice, client.id, card_id, k, v) for k, v in parts.items() if v > 0
        )

    def _base(
        self, practice: Practice, s: Session, client: ClientFacts, *, held: bool, supervised: bool
    ) -> ItemFacts | None:
        price = s.price
        copay = s.copay.amount.amount if s.copay and s.copay.status in _OPEN else 0
        fee = s.fee.amount.amount if s.fee and s.fee.status in _OPEN and s.fee.amount.amount > 0 else 0
        if s.status == "no_show" and not fee:
            return None
        service_date = local_date(s.scheduled_start, practice.time_zone)
        cadence = cadence_of(practice.billing_cadence, client.billing_cadence)
        monthly_on = billing_date_after(service_date, practice.monthly_billing_day)
        return ItemFacts(
            session_id=s.id,
            client_id=s.client_id,
            client_name=client.name,
            status=s.status,
            service_date=service_date,
            currency=practice.currency,
            session_amount=price.amount.amount if price else (0 if s.status == "no_show" else None),
            not_billed=bool(price and price.not_billed) or client.not_billed,
            cpt_code=price.cpt_code if price else None,
            copay_balance=copay,
            fee_balance=fee,
            insured=client.insured_on(service_date) and not self_pay(s),
            unmigrated_insurance=client.unmigrated_insurance,
            practice_can_charge=bool(practice.stripe and practice.stripe.charges_enabled),
            card_chargeable=False,
            payer_email=bool(client.email),
            held=held,
            claims_enabled=self._hooks.claims is not None,
            has_diagnosis=bool(s.diagnoses or client.diagnoses),
            note_required=practice.billing_requires_signed_note,
            note_signed=s.note_signed_at is not None,
            supervised=supervised,
            supervisor_approved=s.supervisor_approved_at is not None,
            autopay=practice.autopay_default if client.autopay is None else client.autopay,
            at_completion=cadence == "at_completion",
            monthly_on=monthly_on if cadence == "monthly" else None,
            before_auto=practice.before_auto_billing(service_date),
        )

    def _candidates(self, practice: Practice, run_date: date, *, tidy: bool) -> list[Session]:
        """Completed and no-show sessions not yet billed by a run. The look-back window: one Query
        per UTC date it touches (the day index); older ones (held back, incomplete for weeks, a
        run skipped): their to-do items, read before the window starts. Never a Scan."""
        tz = zone(practice.time_zone)
        lo = datetime.combine(run_date - timedelta(days=LOOKBACK_DAYS - 1), time(0), tzinfo=tz).astimezone(
            UTC
        )
        hi = datetime.combine(run_date + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        found = self._sessions.billables_starting_between(practice.id, lo, hi)
        # The to-do items are only the sessions no run has finished: few, whatever the history (a
        # monthly client's month of sessions at most), read in one round.
        older = [t for t in self._sessions.to_bill(practice.id) if t.scheduled_start < lo]
        by_id = {t.session_id: t for t in older}
        for billable in self._sessions.billables(practice.id, [(t.client_id, t.session_id) for t in older]):
            if _done(billable) and tidy:  # a crash left its to-do behind (the run tidies; a listing reads)
                self._sessions.forget_to_bill(practice.id, by_id[billable.session.id])
            else:
                found.append(billable)
        return [b.session for b in found if b.session.status in ("completed", "no_show") and not _done(b)]


def _with_provider(f: ItemFacts, roster: Roster, clinician_id: str, *, billing_provider: bool) -> ItemFacts:
    """The facts the clinician's provider record and the practice's billing provider add."""
    record = roster.records.get(clinician_id)
    return replace(
        f,
        has_billing_provider=billing_provider,
        has_rendering_npi=bool(record and record.rendering_npi),
        has_taxonomy=bool(record and record.taxonomy),
    )


def _done(billable: Billable) -> bool:
    return billable.mark is not None and billable.mark.status == "done"
