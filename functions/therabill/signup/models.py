"""A practice's sign-up: what the first request chose (the practice id, its name and zone, the
owner's name), and how far the creation got."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from therabill.staff.service import normal_email

# checking: the address has not been found free yet (nothing created); creating: the practice
# and its owner are being made (a retry finishes them); done: both exist.
SignupStatus = Literal["checking", "creating", "done"]
# What a sign-up came to; the public answer is the same for both.
Outcome = Literal["created", "registered", "reinvited", "unfinished"]


def email_key(email: str) -> str:
    """The sign-up's key: a hash of the normalised address (the address itself is never a key)."""
    return hashlib.sha256(normal_email(email).encode()).hexdigest()


class Signup(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    email_key: str
    practice_id: str
    practice_name: str
    time_zone: str
    owner_name: str
    status: SignupStatus
    created_at: datetime
    version: int = 1


class SignupForm(BaseModel):
    """What a sign-up asks for (validated at the edge: the API's body, the operator's script)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    email: str
    practice_name: str
    time_zone: str
    name: str
