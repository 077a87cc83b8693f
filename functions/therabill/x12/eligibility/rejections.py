"""AAA: why a payer could not answer an eligibility inquiry, in words staff can act on.

Codes are X12 element 901 (reject reason) as 005010X279A1 uses them in the 271; follow-up actions
are element 889."""

from __future__ import annotations

from dataclasses import dataclass

# code: (what the payer said, in plain English; what staff should do next)
REASONS: dict[str, tuple[str, str]] = {
    "04": ("Authorized quantity exceeded", "Too many inquiries were sent; try again later."),
    "15": (
        "Required application data missing",
        "Check the inquiry has the member id, name and date of birth, then resend.",
    ),
    "33": ("Input errors", "Check the inquiry's details against the insurance card, then resend."),
    "35": ("Out of network", "The provider is out of this plan's network; tell the client before booking."),
    "41": (
        "Authorization or access restrictions",
        "The practice is not allowed to ask this payer; check enrollment with the clearinghouse.",
    ),
    "42": (
        "Payer unable to respond right now",
        "The payer's system is down or busy; retry later (the check is repeated automatically).",
    ),
    "43": (
        "Invalid or missing provider identification",
        "Check the practice's NPI in insurance settings, then resend.",
    ),
    "44": ("Invalid or missing provider name", "Check the provider name matches the NPI registry."),
    "45": ("Invalid or missing provider specialty", "Check the provider's taxonomy, then resend."),
    "47": ("Invalid or missing provider state", "Check the provider's address, then resend."),
    "48": (
        "Invalid or missing referring provider identification",
        "Add the referring provider's NPI, then resend.",
    ),
    "49": ("Provider is not the primary care physician", "The plan needs a referral from the PCP."),
    "50": (
        "Provider ineligible for inquiries",
        "The payer does not accept inquiries from this provider; check enrollment for eligibility.",
    ),
    "51": (
        "Provider not on file",
        "The payer does not know this NPI; enroll the provider with the payer or check the NPI.",
    ),
    "52": (
        "Service dates not within provider plan enrollment",
        "The provider was not enrolled with the plan on that date; check the enrollment dates.",
    ),
    "53": (
        "Inquired benefit inconsistent with provider type",
        "Ask for a service type that fits the provider (e.g. 30 or MH), then resend.",
    ),
    "54": ("Inappropriate product or service id qualifier", "Resend with service type codes only."),
    "55": ("Inappropriate product or service id", "Resend with service type codes only."),
    "56": ("Inappropriate date", "Check the date of service, then resend."),
    "57": (
        "Invalid or missing date of service",
        "Check the date of service (payers answer for today and a limited window around it).",
    ),
    "58": (
        "Invalid or missing date of birth",
        "Check the date of birth against the insurance card, then resend.",
    ),
    "60": ("Date of birth follows date of service", "Check the date of birth and the date of service."),
    "61": ("Date of death precedes date of service", "Check with the client or the payer before booking."),
    "62": (
        "Date of service not within allowable inquiry period",
        "Ask for a date of service closer to today, then resend.",
    ),
    "63": ("Date of service in the future", "Ask for today's date, or a date the payer allows, then resend."),
    "64": ("Invalid or missing patient id", "Check the patient's member id on the card, then resend."),
    "65": ("Invalid or missing patient name", "Check the patient's name on the card, then resend."),
    "66": ("Invalid or missing patient gender", "Check the patient's gender on file, then resend."),
    "67": (
        "Patient not found",
        "Check the patient's details; if the patient is a dependent, send them as one.",
    ),
    "68": (
        "Duplicate patient id number",
        "The payer has more than one match; add the date of birth and name.",
    ),
    "69": ("Inconsistent with patient's age", "The service asked for does not fit the patient's age."),
    "70": ("Inconsistent with patient's gender", "The service asked for does not fit the patient's gender."),
    "71": (
        "Patient birth date does not match the payer's records",
        "Check the date of birth with the client and the card, then resend.",
    ),
    "72": (
        "Invalid or missing subscriber member id",
        "Check the member id on the insurance card (with any prefix or suffix), then resend.",
    ),
    "73": (
        "Invalid or missing subscriber name",
        "Check the subscriber's name exactly as on the card, then resend.",
    ),
    "74": ("Invalid or missing subscriber gender", "Check the subscriber's gender on file, then resend."),
    "75": (
        "Subscriber not found",
        "Check member id, name and date of birth with the client; the plan may have changed.",
    ),
    "76": (
        "Duplicate subscriber id number",
        "The payer has more than one match; add the name and date of birth, then resend.",
    ),
    "77": ("Subscriber found, patient not found", "Check the dependent's name and date of birth."),
    "78": (
        "Subscriber not in the group or plan identified",
        "Check the group number and the payer with the client.",
    ),
    "79": (
        "Invalid participant identification",
        "The payer or clearinghouse rejected who sent the inquiry; check the payer id and enrollment.",
    ),
    "80": ("No response received; transaction terminated", "Retry later."),
    "97": ("Invalid or missing provider address", "Check the provider's address, then resend."),
    "T4": ("Payer name or identifier missing", "Check the payer's id in the client's insurance."),
}

FOLLOW_UP: dict[str, str] = {
    "C": "Please correct and resubmit",
    "N": "Resubmission not allowed",
    "P": "Please resubmit original transaction",
    "R": "Resubmission allowed",
    "S": "Do not resubmit; inquiry initiated to a third party",
    "W": "Please wait 30 days and resubmit",
    "X": "Please wait 10 days and resubmit",
    "Y": "Do not resubmit; we will hand deliver",
}

# Reasons that go away on their own: the same inquiry, later.
RETRY_LATER = frozenset({"04", "42", "80"})

LEVELS = {
    "2100A": "payer",
    "2100B": "provider",
    "2100C": "subscriber",
    "2110C": "subscriber benefit",
    "2100D": "dependent",
    "2110D": "dependent benefit",
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """One AAA: where (the loop), the reason code and the payer's follow-up action."""

    loop: str
    code: str
    follow_up: str
    valid_request: bool | None

    @property
    def explanation(self) -> str:
        known = REASONS.get(self.code)
        return known[0] if known else "A reason code this product does not know"

    @property
    def next_step(self) -> str:
        known = REASONS.get(self.code)
        if known:
            return known[1]
        return "Read the payer's follow-up action; check the inquiry's details and resend, or call the payer."

    @property
    def follow_up_text(self) -> str:
        return FOLLOW_UP.get(self.follow_up, "")

    @property
    def retry_later(self) -> bool:
        return self.code in RETRY_LATER or self.follow_up == "P"

    @property
    def about(self) -> str:
        """Which part of the inquiry: payer, provider, subscriber, dependent."""
        return LEVELS.get(self.loop, "inquiry")
