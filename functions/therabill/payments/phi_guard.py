"""Keeps health information out of everything sent to Stripe.

Stripe sees amounts, our opaque ids and a generic description ("Payment to <practice>"), nothing
else. This guard is applied by the gateway adapter to every outbound description, statement
descriptor and metadata map, so a future caller cannot leak a diagnosis, CPT code or therapy type
by mistake: the request is refused before it leaves.
"""

from __future__ import annotations

import re

from therabill.payments.gateway import PhiLeakError

# Metadata keys we send, each with the shape its value must have (our opaque ids).
_ID_VALUE = re.compile(r"^[a-z]{2,5}_[0-9a-z]{10,40}$")
ALLOWED_METADATA_KEYS = frozenset(
    {
        "therabill_practice_id",
        "therabill_client_id",
        "therabill_contact_id",
        "therabill_payment_id",
        "therabill_setup_link_id",
        "therabill_consent_id",
        "therabill_refund_id",
        "therabill_card_owner_id",
    }
)

# Clinical vocabulary and code shapes that must never reach Stripe.
_CPT = re.compile(r"\b\d{4}[0-9FTU]\b")  # CPT / HCPCS level I shapes: 90834, 0001F, 0042T
_HCPCS = re.compile(r"\b[A-V]\d{4}\b")  # HCPCS level II: G0151, E0114
_ICD10 = re.compile(r"\b[A-TV-Z]\d[0-9AB](?:\.[0-9A-TV-Z]{1,4})?\b")  # F41.1, R69
_CLINICAL_WORDS = re.compile(
    r"\b(diagnos\w*|therap\w*|psycho\w*|counsel\w*|cpt|icd|hcpcs|session note\w*|"
    r"autism|adhd|anxiety|depress\w*|ptsd|occupational|physical therapy|speech|"
    r"rehab\w*|mental|behavio\w*|evaluation|treatment|disorder)\b",
    re.IGNORECASE,
)


def check_text(field_name: str, text: str) -> None:
    for pattern, what in (
        (_CPT, "a procedure code"),
        (_HCPCS, "a procedure code"),
        (_ICD10, "a diagnosis code"),
        (_CLINICAL_WORDS, "clinical wording"),
    ):
        if pattern.search(text):
            raise PhiLeakError(
                f"{field_name} looks like it carries {what}; refused before sending", field=field_name
            )


def check_metadata(metadata: dict[str, str]) -> None:
    for key, value in metadata.items():
        if key not in ALLOWED_METADATA_KEYS:
            raise PhiLeakError(f"metadata key {key!r} is not on the allow-list", field=key)
        if not _ID_VALUE.match(value):
            raise PhiLeakError(f"metadata {key!r} must be an opaque id", field=key)


def check_outbound(
    *,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    statement_descriptor: str | None = None,
) -> None:
    if description is not None:
        check_text("description", description)
    if statement_descriptor is not None:
        check_text("statement_descriptor", statement_descriptor)
    if metadata:
        check_metadata(metadata)
