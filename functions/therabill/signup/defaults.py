"""What a sign-up does not ask for: the nightly cutoff, and the country and currency, read from
the practice's time zone (the Stripe account's country and the practice's currency; a practice
whose zone is not listed here gets the United States and US dollars)."""

from __future__ import annotations

CUTOFF_HOUR = 23  # the nightly run at 23:00 in the practice's zone, the staff API's default too
DEFAULT_COUNTRY, DEFAULT_CURRENCY = "US", "usd"

_CANADA = (
    "America/Toronto",
    "America/Vancouver",
    "America/Edmonton",
    "America/Winnipeg",
    "America/Halifax",
    "America/St_Johns",
    "America/Regina",
    "America/Moncton",
    "America/Whitehorse",
    "America/Yellowknife",
    "America/Iqaluit",
)
_EURO = {
    "Europe/Dublin": "IE",
    "Europe/Paris": "FR",
    "Europe/Berlin": "DE",
    "Europe/Madrid": "ES",
    "Europe/Rome": "IT",
    "Europe/Amsterdam": "NL",
    "Europe/Brussels": "BE",
    "Europe/Vienna": "AT",
    "Europe/Lisbon": "PT",
    "Europe/Helsinki": "FI",
}


def country_and_currency(time_zone: str) -> tuple[str, str]:
    """The practice's country (ISO 3166 alpha-2) and currency for its IANA zone."""
    if time_zone in _CANADA:
        return "CA", "cad"
    if time_zone in _EURO:
        return _EURO[time_zone], "eur"
    if time_zone in ("Europe/London", "Europe/Belfast"):
        return "GB", "gbp"
    if time_zone.startswith("Australia/"):
        return "AU", "aud"
    if time_zone in ("Pacific/Auckland", "Pacific/Chatham"):
        return "NZ", "nzd"
    return DEFAULT_COUNTRY, DEFAULT_CURRENCY
