"""The authorization texts a client agrees to when saving a card. Versions are never edited: a
change is a new version, and every consent record names the version (and keeps the text) it
agreed to, so the evidence for a disputed charge shows exactly what was shown."""

from __future__ import annotations

CURRENT_VERSION = "2026-11-22"

TEXTS: dict[str, str] = {
    "2026-11-01": (
        "I authorize {practice} to save this card and to charge it, without my being present, "
        "for the following: {scope}. {limit}Each charge is followed by an emailed receipt. This "
        "authorization lasts until {expiry} or until I revoke it by telling {practice}; revoking "
        "it does not cancel amounts already owed."
    ),
    # 2026-11-01 read "lasts until I revoke it or until I revoke it" when there was no expiry.
    "2026-11-22": (
        "I authorize {practice} to save this card and to charge it, without my being present, "
        "for the following: {scope}. {limit}Each charge is followed by an emailed receipt. This "
        "authorization lasts {duration}; revoking it does not cancel amounts already owed."
    ),
}

SCOPE_LABELS: dict[str, str] = {
    "copay": "copays at check-in",
    "session_fee": "session fees",
    "cancellation_fee": "late-cancellation and no-show fees",
    "balance": "outstanding balances",
    "product": "equipment purchases",
}


def render(
    version: str, *, practice: str, kinds: list[str], limit_text: str | None, expiry_text: str | None
) -> str:
    template = TEXTS[version]
    scope = ", ".join(SCOPE_LABELS[k] for k in kinds)
    limit = f"No single charge will exceed {limit_text}. " if limit_text else ""
    duration = (
        f"until {expiry_text} or until I revoke it by telling {practice}"
        if expiry_text
        else f"until I revoke it by telling {practice}"
    )
    # str.format ignores names a template does not use, so every version renders from these.
    return template.format(
        practice=practice, scope=scope, limit=limit, expiry=expiry_text or "I revoke it", duration=duration
    )
