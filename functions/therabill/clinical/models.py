"""Clinical documentation values billing depends on (plain data)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Supervision(BaseModel):
    """A supervised clinician and who approves their sessions before they are billed."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    clinician_id: str
    supervisor_id: str
    updated_at: datetime
    updated_by: str
