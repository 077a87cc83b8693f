"""The sandbox clearinghouse's enrollments: how one moves on as it is read (``advance``), and List
Enrollments (GET /enrollments), filtered as Stedi's is by provider NPI (``providerNpis``), Stedi
payer id (``payerIds``, exact) and transaction type (``transactions``), each repeatable; newest
first."""

from __future__ import annotations

from typing import Any


def list_answer(
    query: dict[str, list[str]],
    enrollments: dict[str, dict[str, Any]],
    providers: dict[str, dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    npis, payers, kinds = (set(query.get(name, [])) for name in ("providerNpis", "payerIds", "transactions"))
    items = [
        e
        for e in enrollments.values()
        if (not npis or providers.get(e["provider"]["id"], {}).get("npi") in npis)
        and (not payers or e["payer"]["stediPayerId"] in payers)
        and (not kinds or kinds & set(e["transactions"]))
    ]
    return 200, {"items": sorted(items, key=lambda e: str(e["createdAt"]), reverse=True)}


def advance(enrollment: dict[str, Any], payer: str) -> None:
    """Each read moves a submitted enrollment one step, as the payer would over days; ``payer``
    is SBX-REJECT or SBX-ACTION for a payer known by that id, else empty."""
    status = enrollment["status"]
    if status == "STEDI_ACTION_REQUIRED":
        enrollment["status"] = "PROVISIONING"
        enrollment["reason"] = "Sent to the payer; payers take 1 to 30 days."
    elif status == "PROVISIONING" and payer == "SBX-REJECT":
        enrollment["status"] = "REJECTED"
        enrollment["reason"] = "The payer has no record of this NPI with this tax id."
    elif status == "PROVISIONING" and payer == "SBX-ACTION":
        enrollment["status"] = "PROVIDER_ACTION_REQUIRED"
        enrollment["reason"] = "The provider must sign the payer's EDI agreement."
    elif status == "PROVISIONING":
        enrollment["status"] = "LIVE"
        enrollment.pop("reason", None)
