"""The staff API's path and header parameters, declared once: every route names its ids and its
Idempotency-Key the same way (and the OpenAPI document says so the same way)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Path

ID_PATTERN = r"^[a-z]{2,5}_[0-9a-z]+$"  # a prefixed id: ``cli_…``, ``ses_…``, ``inv_…``

PathId = Annotated[str, Path(min_length=3, max_length=40, pattern=ID_PATTERN)]
ClientId = PathId
ServiceId = PathId
SessionId = PathId
InvoiceId = PathId
ItemId = PathId
StaffId = PathId
# A clinician: a staff id (``stf_…``); the shape is loose so the domain's 400 says which member is wrong.
ClinicianPathId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@:\-]+$")]
IdempotencyKey = Annotated[str, Header(alias="idempotency-key", min_length=8, max_length=255)]
