"""``[[notify]]`` rules: which findings go to whom, through which channel.

A rule matches findings by risk tier, system, control and accountable owner, and by what
happened to them (``new``, ``resolved``, ``overdue``); it names one channel. Every secret a
channel needs (a webhook URL that carries a token, an SMTP password, an API token) is named
by an environment variable, never written in the configuration.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Annotated, Literal

import pydantic

STRICT = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)
Text = Annotated[str, pydantic.StringConstraints(min_length=1)]
Kind = Literal["new", "resolved", "overdue"]
KINDS: tuple[Kind, ...] = ("new", "resolved", "overdue")
CHANNELS = ("webhook", "slack", "email", "github", "gitlab")
#: What each channel needs besides the common keys.
NEEDS = {"webhook": (), "slack": (), "email": ("smtp_host", "sender", "to"),
         "github": ("repository", "token_env"), "gitlab": ("repository", "token_env")}
API_DEFAULTS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}


class NotifyError(Exception):
    """A rule cannot be used as configured (a missing variable, say)."""


class NotifyRule(pydantic.BaseModel):
    """One ``[[notify]]`` entry."""

    model_config = STRICT

    name: Text = pydantic.Field(description="Unique name; the ledger records deliveries by it.")
    channel: Literal["webhook", "slack", "email", "github", "gitlab"]
    on: list[Kind] = pydantic.Field(default=list(KINDS), description="new, resolved, overdue.")
    tiers: list[Literal["low", "medium", "high", "critical"]] = pydantic.Field(
        default=[], description="Only findings of these risk tiers (default: any).")
    systems: list[Text] = pydantic.Field(default=[], description="System name globs.")
    controls: list[Text] = pydantic.Field(
        default=[], description="Control ids (CEK-04) or id/check pairs (CEK-04/key-strength).")
    owners: list[Text] = pydantic.Field(default=[], description="Accountable owners.")
    url: Text | None = pydantic.Field(
        default=None, description="Webhook URL when it holds no secret (else url_env).")
    url_env: Text | None = pydantic.Field(
        default=None, description="Variable holding the webhook URL (Slack's carry a token).")
    smtp_host: Text | None = None
    smtp_port: int = 587
    starttls: bool = pydantic.Field(default=True, description="Upgrade with STARTTLS.")
    ca_file: Text | None = pydantic.Field(
        default=None, description="CA bundle to trust for the SMTP server or API.")
    sender: Text | None = pydantic.Field(default=None, description="The From address.")
    to: list[Text] = []
    username_env: Text | None = None
    password_env: Text | None = None
    api_url: Text | None = pydantic.Field(
        default=None, description="GitHub or GitLab API root (default: the public service).")
    repository: Text | None = pydantic.Field(
        default=None, description="owner/name (GitHub) or the project path (GitLab).")
    token_env: Text | None = pydantic.Field(default=None, description="Variable with the token.")
    labels: list[Text] = []
    retries: int = pydantic.Field(default=3, ge=0, le=10)
    backoff_seconds: float = pydantic.Field(default=2.0, ge=0, le=300)
    timeout_seconds: float = pydantic.Field(default=10.0, gt=0, le=300)

    @pydantic.model_validator(mode="after")
    def _channel_needs(self) -> NotifyRule:
        missing = [need for need in NEEDS[self.channel] if not getattr(self, need)]
        if self.channel in ("webhook", "slack") and (self.url is None) == (self.url_env is None):
            missing.append("url or url_env (exactly one)")
        if missing:
            raise ValueError(f"channel {self.channel} needs {', '.join(missing)}")
        if self.password_env and not self.username_env:
            raise ValueError("password_env needs username_env")
        return self

    # -- matching ------------------------------------------------------------------------

    def matches(self, kind: str, finding: dict[str, str]) -> bool:
        """Whether ``finding`` (system, control, check, risk_tier, owner) in event ``kind``
        is for this rule."""
        control = f"{finding['control']}/{finding['check']}"
        return (kind in self.on
                and (not self.tiers or finding["risk_tier"] in self.tiers)
                and (not self.systems
                     or any(fnmatch.fnmatchcase(finding["system"], p) for p in self.systems))
                and (not self.controls
                     or any(c in (finding["control"], control) for c in self.controls))
                and (not self.owners or finding.get("owner", "") in self.owners))

    # -- where it goes, without secrets ----------------------------------------------------

    def secret(self, variable: str | None, what: str) -> str:
        """The value of ``variable``; a :class:`NotifyError` naming it when unset."""
        value = os.environ.get(variable or "")
        if not value:
            raise NotifyError(f"notify rule {self.name}: {what}: variable ${variable} is not "
                              "set")
        return value

    def webhook_url(self) -> str:
        return self.url or self.secret(self.url_env, "url_env")

    @property
    def api_root(self) -> str:
        return (self.api_url or API_DEFAULTS.get(self.channel, "")).rstrip("/")

    @property
    def target(self) -> str:
        """Where deliveries go, as the ledger and messages show it: never a secret."""
        if self.channel in ("webhook", "slack"):
            if self.url_env:
                return f"{self.channel} ${self.url_env}"
            from urllib.parse import urlsplit

            parts = urlsplit(self.url or "")
            port = f":{parts.port}" if parts.port else ""
            return f"{self.channel} {parts.scheme}://{parts.hostname}{port}"
        if self.channel == "email":
            return f"email to {', '.join(self.to)} via {self.smtp_host}:{self.smtp_port}"
        return f"{self.channel} issues of {self.repository}"
