"""Deployment settings, read once from CDK context (cdk.json or ``-c key=value``).

Context keys (all optional):

- ``stage``: names the stack ``Therabill-<stage>`` so every developer or branch can deploy its own
  copy (default ``dev``). Lower-case letters, digits and dashes.
- ``sender_email``: the address the SES identity verifies and every email is sent from.
- ``public_base_url``: where public pages are served, when a custom domain fronts the API;
  by default the API stage URL.
- ``sign_in_url``: where staff sign in (the staff app); emails that say how to sign in point
  there. By default, the public base URL.
- ``stripe_api_base``: override of Stripe's API base (empty in AWS: api.stripe.com).
- ``stripe_js_url``: the Stripe.js URL the public pages load.
- ``log_retention_days``: CloudWatch Logs retention for function and access logs (default 365).
- ``reserved_concurrency``: ``false`` to leave out reserved concurrency in accounts whose
  concurrency quota is too small to reserve any (new accounts start at 10).
- ``waf``: ``false`` to leave out the AWS WAF web ACL (about 10 USD a month) on a throwaway
  developer stack; API Gateway throttling still applies.
- ``use_placeholder_layer``: ``true`` to package the empty placeholder instead of layers/build
  (tests use it to keep synthesis fast).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import aws_logs as logs
from constructs import Node

DEFAULT_STAGE = "dev"
DEFAULT_SENDER_EMAIL = "billing@example.com"
DEFAULT_STRIPE_JS_URL = "https://js.stripe.com/v3/"
PRODUCTION_STAGES = frozenset({"prod", "production"})

_STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """A context value the app cannot deploy with."""


@dataclass(frozen=True)
class Settings:
    stage: str
    sender_email: str
    public_base_url: str | None
    stripe_api_base: str
    stripe_js_url: str
    log_retention: logs.RetentionDays
    reserved_concurrency: bool
    waf: bool
    use_placeholder_layer: bool
    sign_in_url: str = ""

    @property
    def stack_name(self) -> str:
        return f"Therabill-{self.stage}"

    @property
    def is_production(self) -> bool:
        return self.stage in PRODUCTION_STAGES

    @property
    def uses_default_sender(self) -> bool:
        return self.sender_email == DEFAULT_SENDER_EMAIL

    @classmethod
    def from_context(cls, node: Node) -> Settings:
        stage = _text(node, "stage", DEFAULT_STAGE)
        if not _STAGE_PATTERN.match(stage):
            raise SettingsError(
                f"context 'stage' must be lower-case letters, digits and dashes (got {stage!r})"
            )
        sender = _text(node, "sender_email", DEFAULT_SENDER_EMAIL)
        if not _EMAIL_PATTERN.match(sender):
            raise SettingsError(f"context 'sender_email' is not an email address (got {sender!r})")
        public_base_url = _text(node, "public_base_url", "").rstrip("/") or None
        if public_base_url is not None and not public_base_url.startswith("https://"):
            raise SettingsError("context 'public_base_url' must be an https:// URL")
        return cls(
            stage=stage,
            sender_email=sender,
            public_base_url=public_base_url,
            stripe_api_base=_text(node, "stripe_api_base", ""),
            stripe_js_url=_text(node, "stripe_js_url", DEFAULT_STRIPE_JS_URL),
            log_retention=_retention(_text(node, "log_retention_days", "365")),
            reserved_concurrency=_flag(node, "reserved_concurrency", default=True),
            waf=_flag(node, "waf", default=True),
            use_placeholder_layer=_flag(node, "use_placeholder_layer", default=False),
            sign_in_url=_https(_text(node, "sign_in_url", ""), "sign_in_url"),
        )


def _https(url: str, key: str) -> str:
    if url and not url.startswith("https://"):
        raise SettingsError(f"context {key!r} must be an https:// URL")
    return url


def _text(node: Node, key: str, default: str) -> str:
    value = node.try_get_context(key)
    if value is None:
        return default
    return str(value).strip()


def _flag(node: Node, key: str, *, default: bool) -> bool:
    value = node.try_get_context(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"context {key!r} must be true or false (got {value!r})")


_RETENTION_DAYS: dict[int, logs.RetentionDays] = {
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def _retention(days: str) -> logs.RetentionDays:
    try:
        return _RETENTION_DAYS[int(days)]
    except (ValueError, KeyError):
        raise SettingsError(
            f"context 'log_retention_days' must be one of {sorted(_RETENTION_DAYS)} (got {days!r})"
        ) from None
