"""The body of an API Gateway (REST, proxy integration) request as the caller sent it, bounded in
size before anything decodes, parses or stores it."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from therabill.core.errors import InvalidRequestError, PayloadTooLargeError


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"the body is larger than {limit // 1024} KiB", limit_bytes=limit)


def body_bytes(event: Mapping[str, Any], *, limit: int) -> bytes:
    """The raw body (empty when there is none). PayloadTooLargeError over ``limit`` bytes (checked
    on the text's length first, so an oversized body is never decoded); InvalidRequestError for a
    base64 body that is not base64 or a text body that cannot be UTF-8."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        if len(body) > 4 * -(-limit // 3):  # the base64 length of ``limit`` bytes
            raise _too_large(limit)
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise InvalidRequestError("the body is not valid base64", reason="body_not_base64") from exc
    else:
        if len(body) > limit:  # every character is at least one byte
            raise _too_large(limit)
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: no UTF-8 text has it
            raise InvalidRequestError("the body is not UTF-8 text", reason="body_not_utf8") from exc
    if len(raw) > limit:
        raise _too_large(limit)
    return raw


def body_text(event: Mapping[str, Any], *, limit: int) -> str:
    """The body as UTF-8 text, with the checks of ``body_bytes``; InvalidRequestError when its
    bytes are not UTF-8."""
    raw = body_bytes(event, limit=limit)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(
            f"the body is not UTF-8 text (invalid at byte {exc.start})",
            reason="body_not_utf8",
        ) from exc
