"""Who pays what share of a client's charges (split billing). Pure.

A client's responsibility is a list of rule sets; each names the charge kinds it covers (none: all
kinds not named by another set) and its shares across billing parties (the client themself or one
of their billing contacts). A share is ``fixed`` (minor units), ``percent`` (basis points) or ``rest``.
A rule set has exactly one ``rest`` share, or none and percents summing to 10000.

``split`` divides an amount with integer math: fixed shares first (each capped at what is left),
then percents of what the fixed shares left (rounded down), then the rest share takes the
remainder (with no rest share, the first percent share does), so the parts always sum to the
amount exactly and none is negative.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

SplitKind = Literal["copay", "session_fee", "cancellation_fee"]
ShareType = Literal["percent", "fixed", "rest"]
FULL = 10_000  # basis points


class Share(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    owner_id: str  # the client's id or one of their contacts' ids
    type: ShareType
    value: int | None = None  # basis points for percent, minor units for fixed, None for rest


class RuleSet(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    kinds: tuple[SplitKind, ...] = ()  # empty: every kind no other rule set names
    shares: tuple[Share, ...]


class Responsibility(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    client_id: str
    rules: tuple[RuleSet, ...]
    updated_at: datetime
    updated_by: str
    version: int


class RuleError(ValueError):
    """A rule set that cannot be applied: the message says why."""


def validate(rules: tuple[RuleSet, ...] | list[RuleSet], allowed_parties: set[str]) -> None:
    """Raise RuleError unless every rule set can split any amount among allowed billing parties."""
    if not rules:
        raise RuleError("at least one rule set is needed")
    seen_kinds: set[str] = set()
    catch_all = 0
    for rule in rules:
        if not rule.kinds:
            catch_all += 1
        if len(set(rule.kinds)) != len(rule.kinds):
            raise RuleError("a rule set names a charge kind twice")
        for kind in rule.kinds:
            if kind in seen_kinds:
                raise RuleError(f"more than one rule set covers {kind}")
            seen_kinds.add(kind)
        _validate_shares(rule.shares, allowed_parties)
    if catch_all > 1:
        raise RuleError("at most one rule set may apply to all kinds")


def _validate_shares(shares: tuple[Share, ...], allowed_parties: set[str]) -> None:
    if not shares:
        raise RuleError("a rule set needs at least one share")
    owners = [s.owner_id for s in shares]
    if len(set(owners)) != len(owners):
        raise RuleError("a payer appears twice in one rule set")
    for share in shares:
        if share.owner_id not in allowed_parties:
            raise RuleError(f"{share.owner_id} is not the client or one of their billing contacts")
        if share.type == "rest":
            if share.value is not None:
                raise RuleError("a rest share takes no value")
        elif share.value is None:
            raise RuleError(f"a {share.type} share needs a value")
        elif share.type == "percent" and not 1 <= share.value <= FULL:
            raise RuleError("a percent share is 1 to 10000 basis points")
        elif share.type == "fixed" and share.value < 1:
            raise RuleError("a fixed share is a positive amount in minor units")
    rests = sum(1 for s in shares if s.type == "rest")
    percents = sum(s.value or 0 for s in shares if s.type == "percent")
    if rests > 1:
        raise RuleError("a rule set has at most one rest share")
    if rests == 1 and percents > FULL:
        raise RuleError("percent shares add up to more than 10000 basis points")
    if rests == 0 and percents != FULL:
        raise RuleError("without a rest share, percent shares must add up to 10000 basis points")


def rule_for(rules: tuple[RuleSet, ...], kind: SplitKind) -> RuleSet | None:
    """The rule set naming the kind, else the one without kinds, else None."""
    for rule in rules:
        if kind in rule.kinds:
            return rule
    for rule in rules:
        if not rule.kinds:
            return rule
    return None


def split(amount: int, rules: Responsibility | None, kind: SplitKind) -> list[tuple[str, int]]:
    """The amount as (owner id, part) in share order; with no rule for the kind, the client pays
    it all. Parts are non-negative and sum to the amount."""
    if amount < 0:
        raise ValueError("split amounts are non-negative")
    rule = rule_for(rules.rules, kind) if rules is not None else None
    if rule is None:
        if rules is None:
            raise ValueError("no rules and no client to charge")
        return [(rules.client_id, amount)]
    parts: dict[str, int] = {s.owner_id: 0 for s in rule.shares}
    left = amount
    for share in rule.shares:
        if share.type == "fixed":
            part = min(share.value or 0, left)
            parts[share.owner_id] = part
            left -= part
    base = left
    for share in rule.shares:
        if share.type == "percent":
            part = min(base * (share.value or 0) // FULL, left)
            parts[share.owner_id] = part
            left -= part
    taker = next((s for s in rule.shares if s.type == "rest"), None)
    if taker is None:
        taker = next((s for s in rule.shares if s.type == "percent"), None)
    if taker is None:  # only fixed shares and a rest is required by validate; be safe anyway
        taker = rule.shares[0]
    parts[taker.owner_id] += left
    return [(s.owner_id, parts[s.owner_id]) for s in rule.shares]
