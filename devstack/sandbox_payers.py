"""The sandbox clearinghouse's payer directory: a few payers as Stedi's Payers API lists them
(stediId, displayName, primaryPayerId, aliases, names, transactionSupport), and its search.

| id    | payer                          | primary | 270    | claims | status | ERA    | enrolling ends  |
|-------|--------------------------------|---------|--------|--------|--------|--------|-----------------|
| SBXHP | Sandbox Health Plan            | SBX01   | open   | open   | open   | enroll | live            |
| PRAIR | Prairie Blue Cross Blue Shield | 00621   | open   | enroll | open   | enroll | live            |
| LAKES | Great Lakes Medicaid           | GLMCD   | enroll | enroll | no     | enroll | action required |
| HRBOR | Harbor Mutual Health           | 60054   | open   | open   | open   | enroll | rejected        |
| CEDAR | Cedar Valley Health Alliance   | 39113   | open   | open   | no     | no     | live            |

(270: eligibility; open: SUPPORTED, no enrollment; enroll: ENROLLMENT_REQUIRED; no: NOT_SUPPORTED.)
Every payer answers eligibility from the sandbox payer's table of test members (`devstack.sandbox_payer`).
An enrollment with a payer whose aliases hold SBX-ACTION waits for the provider; SBX-REJECT is
rejected (the sandbox's rules; see `devstack.sandbox_clearinghouse`).

Search, as Stedi's is: case-insensitive, by name (every word of the query begins a word of the
payer's name or one of its other names) or by id (the stediId, the primary id or an alias, whole);
id matches first, then names, each in the directory's order.
"""

from __future__ import annotations

import re
from typing import Any

SUPPORTED, ENROLL, NO = "SUPPORTED", "ENROLLMENT_REQUIRED", "NOT_SUPPORTED"


def _payer(
    stedi_id: str,
    name: str,
    primary: str,
    aliases: tuple[str, ...],
    names: tuple[str, ...],
    support: tuple[str, str, str, str],
) -> dict[str, Any]:
    eligibility, claims, status, remittance = support
    return {
        "stediId": stedi_id,
        "displayName": name,
        "primaryPayerId": primary,
        "aliases": sorted(aliases),
        "names": list(names),
        "coverageTypes": ["medical"],
        "operatingStates": ["IL"],
        "transactionSupport": {
            "eligibilityCheck": eligibility,
            "claimStatus": status,
            "claimSubmission": claims,
            "professionalClaimSubmission": claims,
            "institutionalClaimSubmission": NO,
            "dentalClaimSubmission": NO,
            "claimPayment": remittance,
            "coordinationOfBenefits": NO,
            "unsolicitedClaimAttachment": NO,
        },
    }


DIRECTORY: tuple[dict[str, Any], ...] = (
    _payer(
        "SBXHP",
        "Sandbox Health Plan",
        "SBX01",
        ("SBX01", "SBX02", "SANDBOX"),
        ("Sandbox Health", "Sandbox Health Plan of Illinois"),
        (SUPPORTED, SUPPORTED, SUPPORTED, ENROLL),
    ),
    _payer(
        "PRAIR",
        "Prairie Blue Cross Blue Shield",
        "00621",
        ("00621", "PRBCBS", "BCBSPR"),
        ("Blue Cross Blue Shield of the Prairie", "Prairie BCBS"),
        (SUPPORTED, ENROLL, SUPPORTED, ENROLL),
    ),
    _payer(
        "LAKES",
        "Great Lakes Medicaid",
        "GLMCD",
        ("GLMCD", "77031", "SBX-ACTION"),
        ("Great Lakes Medicaid Managed Care", "GL Medicaid"),
        (ENROLL, ENROLL, NO, ENROLL),
    ),
    _payer(
        "HRBOR",
        "Harbor Mutual Health",
        "60054",
        ("60054", "HMH01", "SBX-REJECT"),
        ("Harbor Mutual", "Harbor Mutual Health Insurance Company"),
        (SUPPORTED, SUPPORTED, SUPPORTED, ENROLL),
    ),
    _payer(
        "CEDAR",
        "Cedar Valley Health Alliance",
        "39113",
        ("39113", "CVHA"),
        ("Cedar Valley Health",),
        (SUPPORTED, SUPPORTED, NO, NO),
    ),
)

_WORD = re.compile(r"[a-z0-9]+")


def _invalid(path: str, message: str) -> tuple[int, dict[str, Any]]:
    return 400, {
        "message": f"1 validation error detected. {message}",
        "fieldList": [{"path": path, "message": message}],
    }


def search_answer(query: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """GET /payers/search: its status and body for the query string's parameters."""
    size = query.get("pageSize", "20")
    if not size.isdigit() or not 10 <= int(size) <= 100:
        return _invalid("/pageSize", "Value must be between 10 and 100")
    if len(query.get("query", "")) > 200:
        return _invalid("/query", "Member must have length less than or equal to 200")
    found = search(query.get("query", ""))[: int(size)]
    items = [{"payer": payer, "score": len(found) - rank} for rank, payer in enumerate(found)]
    return 200, {"items": items, "stats": {"total": len(found)}}


def payer_answer(stedi_id: str) -> tuple[int, dict[str, Any]]:
    """GET /payer/{stediId}: its status and body."""
    if not re.fullmatch(r"[A-Z]{5}", stedi_id):
        return _invalid("/stediId", "Value must match the pattern ^[A-Z]{5}$")
    payer = by_id(stedi_id)
    if payer is None:
        return 404, {"code": "ResourceNotFoundException", "message": "Payer not found"}
    return 200, {"payer": payer}


def by_id(stedi_id: str) -> dict[str, Any] | None:
    return next((payer for payer in DIRECTORY if payer["stediId"] == stedi_id), None)


def resolve(id_or_alias: str) -> dict[str, Any] | None:
    """The payer an enrollment names (its stediId or any of its payer ids), or None."""
    wanted = id_or_alias.strip().upper()
    return next((payer for payer in DIRECTORY if wanted in _ids(payer)), None)


def search(query: str) -> list[dict[str, Any]]:
    words = _WORD.findall(query.lower())
    if not words:
        return []
    by_ids = [payer for payer in DIRECTORY if query.strip().upper() in _ids(payer)]
    by_name = [payer for payer in DIRECTORY if payer not in by_ids and _named(payer, words)]
    return by_ids + by_name


def _ids(payer: dict[str, Any]) -> set[str]:
    return {payer["stediId"], payer["primaryPayerId"], *payer["aliases"]}


def _named(payer: dict[str, Any], words: list[str]) -> bool:
    for name in (payer["displayName"], *payer["names"]):
        own = _WORD.findall(name.lower())
        if all(any(word.startswith(query) for word in own) for query in words):
            return True
    return False
