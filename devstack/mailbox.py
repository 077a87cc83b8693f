"""Reads back the mail the emulated SES has "sent".

moto keeps every message SES (v1 or v2) accepts: raw MIME sends as ``RawMessage`` and simple sends
as ``Message`` models. In server mode they are readable over HTTP from the moto dashboard's model
dump, ``GET <moto>/moto-api/data.json`` (``ses.RawMessage`` / ``ses.Message``), so this works with
moto in another process; the local moto server answers the same for SES alone, quickly, at
``GET <moto>/_devstack/ses.json``. Raw messages come first, then simple ones, each kind in sending order.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import requests

MAIL_PATH = "/_devstack/ses.json"  # devstack/moto_server.py serves it


def _dedupe(values: list[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _parts(message: EmailMessage) -> dict[str, Any]:
    text = html = None
    attachments: list[dict[str, Any]] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if disposition == "attachment" or part.get_filename():
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "size": len(payload),
                }
            )
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and text is None:
            text = part.get_content()
        elif content_type == "text/html" and html is None:
            html = part.get_content()
    return {"text": text, "html": html, "attachments": attachments}


def parse_raw(
    raw: str, *, message_id: str = "", source: str = "", destinations: list[str] | None = None
) -> dict[str, Any]:
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    to = _dedupe(destinations or []) or [
        a.strip() for a in str(message.get("To", "")).split(",") if a.strip()
    ]
    return {
        "id": message_id,
        "from": str(message.get("From") or source),
        "to": to,
        # A long subject arrives folded; a reader wants it on one line, as a mail client shows it.
        "subject": " ".join(str(message.get("Subject") or "").split()),
        **_parts(message),
        "raw": raw,
    }


def from_model_data(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The sent mail in a moto ``/moto-api/data.json`` document."""
    ses = data.get("ses", {})
    mails = [
        parse_raw(
            m.get("raw_data", ""),
            message_id=m.get("id", ""),
            source=m.get("source", ""),
            destinations=list(m.get("destinations") or []),
        )
        for m in ses.get("RawMessage", [])
    ]
    for m in ses.get("Message", []):
        destinations = m.get("destinations") or {}
        to = _dedupe(
            [
                *destinations.get("ToAddresses", []),
                *destinations.get("CcAddresses", []),
                *destinations.get("BccAddresses", []),
            ]
        )
        mails.append(
            {
                "id": m.get("id", ""),
                "from": m.get("source", ""),
                "to": to,
                "subject": m.get("subject", ""),
                "text": m.get("body"),
                "html": None,
                "attachments": [],
                "raw": None,
            }
        )
    return mails


def sent_emails(moto_url: str, *, to: str | None = None, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every email sent through the emulated SES, optionally only those to ``to``: from the local
    moto server's mail route (``devstack/moto_server.py``), else (another moto) its model dump."""
    base = moto_url.rstrip("/")
    response = requests.get(f"{base}{MAIL_PATH}", timeout=timeout)
    if response.status_code == 404:
        response = requests.get(f"{base}/moto-api/data.json", timeout=timeout)
    response.raise_for_status()
    mails = from_model_data(response.json())
    if to:
        wanted = to.lower()
        mails = [m for m in mails if any(wanted in addr.lower() for addr in m["to"])]
    return mails
