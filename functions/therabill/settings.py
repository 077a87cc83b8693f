"""Settings: validated once at cold start from the environment and the secret, then passed down
as plain values. The domain never reads os.environ."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, HttpUrl, ValidationError

from therabill import contract


class SettingsError(RuntimeError):
    pass


class Settings(BaseModel):
    table_name: str = Field(min_length=3)
    secrets_arn: str = Field(min_length=1)
    stripe_events_queue_url: str | None = None
    email_sender: str | None = None
    public_base_url: HttpUrl | None = None
    stripe_api_base: str | None = None  # None: Stripe's own API
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # The nightly run: its fan-out queue (no queue: runs cannot start) and the per-practice
    # schedules (all three names, or the scheduler is not configured and schedules are not synced).
    nightly_queue_url: str | None = None
    scheduler_group: str | None = None
    nightly_target_arn: str | None = None
    scheduler_role_arn: str | None = None
    user_pool_id: str | None = None  # the staff user pool (None: staff cannot be managed)
    sign_in_url: str | None = None  # where staff sign in (None: the public base URL)
    audit_archive_bucket: str | None = None  # the audit archive function only
    clearinghouse_url: str | None = None  # None: Stedi's own API; locally the sandbox clearinghouse
    documents_bucket: str | None = None  # the private documents bucket (raw 271s, card pictures)
    eligibility_target_arn: str | None = None  # the eligibility function: one-time check schedules

    @property
    def scheduler(self) -> SchedulerSettings | None:
        """Where the practices' schedules go, when all of it is configured."""
        if self.scheduler_group and self.nightly_target_arn and self.scheduler_role_arn:
            return SchedulerSettings(
                group=self.scheduler_group,
                target_arn=self.nightly_target_arn,
                role_arn=self.scheduler_role_arn,
            )
        return None


class SchedulerSettings(BaseModel):
    group: str
    target_arn: str
    role_arn: str


class Secrets(BaseModel):
    stripe_secret_key: str = Field(pattern=r"^(sk|rk)_(test|live)_")
    stripe_publishable_key: str = Field(pattern=r"^pk_(test|live)_")
    stripe_webhook_secrets: list[str] = Field(min_length=1, max_length=2)
    link_signing_key: str = Field(min_length=32)
    platform_fee_bps: int = Field(default=0, ge=0, le=2000)
    stedi_api_key: str = ""  # the clearinghouse's key; empty: no insurance transactions yet


def load_settings(environ: Mapping[str, str]) -> Settings:
    raw: dict[str, Any] = {
        "table_name": environ.get(contract.ENV_TABLE_NAME, ""),
        "secrets_arn": environ.get(contract.ENV_SECRETS_ARN, ""),
        "stripe_events_queue_url": environ.get(contract.ENV_STRIPE_EVENTS_QUEUE_URL) or None,
        "email_sender": environ.get(contract.ENV_EMAIL_SENDER) or None,
        "public_base_url": environ.get(contract.ENV_PUBLIC_BASE_URL) or None,
        "stripe_api_base": environ.get(contract.ENV_STRIPE_API_BASE) or None,
        "nightly_queue_url": environ.get(contract.ENV_NIGHTLY_QUEUE_URL) or None,
        "scheduler_group": environ.get(contract.ENV_SCHEDULER_GROUP) or None,
        "nightly_target_arn": environ.get(contract.ENV_NIGHTLY_TARGET_ARN) or None,
        "scheduler_role_arn": environ.get(contract.ENV_SCHEDULER_ROLE_ARN) or None,
        "user_pool_id": environ.get(contract.ENV_USER_POOL_ID) or None,
        "sign_in_url": environ.get(contract.ENV_SIGN_IN_URL) or None,
        "audit_archive_bucket": environ.get(contract.ENV_AUDIT_ARCHIVE_BUCKET) or None,
        "clearinghouse_url": environ.get(contract.ENV_CLEARINGHOUSE_URL) or None,
        "documents_bucket": environ.get(contract.ENV_DOCUMENTS_BUCKET) or None,
        "eligibility_target_arn": environ.get(contract.ENV_ELIGIBILITY_TARGET_ARN) or None,
    }
    if environ.get(contract.ENV_STRIPE_JS_URL):
        raw["stripe_js_url"] = environ[contract.ENV_STRIPE_JS_URL]
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc


def parse_secrets(secret_string: str) -> Secrets:
    try:
        data = json.loads(secret_string)
        webhook = data.get(contract.SECRET_STRIPE_WEBHOOK_SECRETS)
        if isinstance(webhook, str):
            data[contract.SECRET_STRIPE_WEBHOOK_SECRETS] = [webhook]
        return Secrets.model_validate(data)
    except (ValueError, ValidationError) as exc:
        # Never echo the secret's content.
        raise SettingsError("the Therabill secret is missing keys or malformed") from exc
