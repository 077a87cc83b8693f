"""Request and response models of the staff credit routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from therabill.api.inputs import PositiveMinorUnits, Text
from therabill.api.outputs import Amount
from therabill.ledger.grants import CreditReason


class CreditCreate(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    amount: PositiveMinorUnits
    reason: CreditReason = Field(
        description="goodwill and discount are the practice's adjustments; paid_outside_stripe is money "
        "received some other way"
    )
    memo: Text = Field(default="", max_length=200)
    contact_id: str | None = Field(
        default=None,
        pattern=r"^con_[0-9a-z]+$",
        description="the billing contact whose account is credited (split billing); omit: the client's",
    )


class CreditTakeBack(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    amount: PositiveMinorUnits | None = Field(
        default=None, description="minor units; omit: all that is unused"
    )
    memo: Text = Field(default="", max_length=200)


class TakenBackOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    entry_id: str
    amount: Amount
    memo: str
    posted_at: datetime


class CreditOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    client_id: str
    contact_id: str | None = Field(description="the credited billing contact; null: the client")
    reason: CreditReason
    amount: Amount
    currency: str
    memo: str
    entry_id: str
    posted_at: datetime
    taken_back: TakenBackOut | None
