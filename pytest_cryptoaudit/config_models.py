"""The shape of ``cryptoaudit.toml`` as pydantic models: what validates a file and what the
published JSON Schema is generated from (see :mod:`pytest_cryptoaudit.config_schema`).

Provider options are each provider's own ``Options`` model; policy thresholds are checked by
:class:`~pytest_cryptoaudit.policy.Policy` against the registered settings. Everything else
is here, with the wording of its errors.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic

from .cadence import ANNUAL_FLOOR_DAYS
from .ledger.location import LocationError, parse_location
from .model import SSRM_PARTIES, EventKind, is_valid_owner
from .notify.rules import NotifyRule
from .owners import TagNames
from .tenancy import TenancyTable

STRICT = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)
Text = Annotated[str, pydantic.StringConstraints(min_length=1)]
Tier = Literal["low", "medium", "high", "critical"]
SSRM_HELP = (f"SSRM party: {', '.join(SSRM_PARTIES)} or a shared pair such as CSP-MP")


def _ssrm_party(value: str | None) -> str | None:
    if value is not None and not is_valid_owner(value):
        raise ValueError(f"expected an SSRM owner ({', '.join(SSRM_PARTIES)} or a shared pair "
                         f"such as CSP-MP), got {value!r}")
    return value


SsrmParty = Annotated[Text, pydantic.AfterValidator(_ssrm_party)]


class SystemCore(pydantic.BaseModel):
    """The keys every ``[[systems]]`` entry has, whatever its provider."""

    model_config = STRICT

    name: Text = pydantic.Field(description="Unique name of the system.")
    provider: Text = pydantic.Field(description="files, aws-kms, vault, pkcs11, tls, or a "
                                                "third party's provider.")
    risk_tier: Tier = pydantic.Field(description="How much harm a compromise would do.")
    ssrm_owner: SsrmParty | None = pydantic.Field(default=None, description=SSRM_HELP)
    owner: SsrmParty | None = pydantic.Field(
        default=None, description="Deprecated name of ssrm_owner.",
        json_schema_extra={"deprecated": True})
    accountable_owner: str = pydantic.Field(
        default="", description="The team or person that answers for keys without an owner tag.")
    require_tier_tag: bool = pydantic.Field(
        default=False,
        description="Every key must carry its own risk-tier tag (CEK-21 classified).")
    description: str = ""
    tags: dict[str, str] = pydantic.Field(
        default={}, description="Labels of the system itself (not of its keys).")

    @pydantic.model_validator(mode="after")
    def _one_ssrm_owner(self) -> SystemCore:
        if self.ssrm_owner is None and self.owner is None:
            raise ValueError("ssrm_owner: missing (the system's SSRM party, e.g. CSC)")
        if self.ssrm_owner is not None and self.owner is not None:
            raise ValueError("owner: give ssrm_owner only (owner is its deprecated name)")
        return self


def _days(value: int) -> int:
    if value < 1:
        raise ValueError(f"expected a whole number of days >= 1, got {value!r}")
    if value > ANNUAL_FLOOR_DAYS:
        raise ValueError(f"{value} days exceeds the {ANNUAL_FLOOR_DAYS}-day maximum (CEK-09: "
                         "audit at least annually)")
    return value


Days = Annotated[int, pydantic.AfterValidator(_days),
                 pydantic.WithJsonSchema({"type": "integer", "minimum": 1,
                                          "maximum": ANNUAL_FLOOR_DAYS})]


class CadenceTable(pydantic.BaseModel):
    """``[cadence]``: the longest interval between complete audits per tier, in days."""

    model_config = STRICT

    low: Days | None = pydantic.Field(default=None, description="Default 365.")
    medium: Days | None = pydantic.Field(default=None, description="Default 90.")
    high: Days | None = pydantic.Field(default=None, description="Default 30.")
    critical: Days | None = pydantic.Field(default=None, description="Default 1.")


class EventEntry(pydantic.BaseModel):
    """One ``[[events]]`` entry: a security event or material change of one system."""

    model_config = STRICT

    system: Text
    kind: Literal[tuple(k.value for k in EventKind)]  # type: ignore[valid-type]
    at: pydantic.AwareDatetime = pydantic.Field(
        description="When it happened, with an offset, e.g. 2026-01-31T12:00:00Z.")
    note: str = ""
    key: str | None = None
    versions: list[int] = []


class AuditorTable(pydantic.BaseModel):
    """``[auditor]``: the audit function and the identities it must be independent of."""

    model_config = STRICT

    name: str | None = pydantic.Field(default=None, description='e.g. "Internal Audit".')
    administrators: list[Text] = pydantic.Field(
        default=[], description="Glob patterns of identities that administer keys (CEK-09).")


def _no_password(value: str) -> str:
    try:
        location = parse_location(value, Path("."))
    except LocationError as exc:
        raise ValueError(str(exc)) from None
    if location.has_password:
        raise ValueError("the location carries a password; put it in PGPASSWORD, ~/.pgpass or "
                         "the variable [ledger] password_env names, not in the configuration")
    return value


LedgerLocation = Annotated[
    Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1)],
    pydantic.AfterValidator(_no_password)]


class LedgerTable(pydantic.BaseModel):
    """``[ledger]``: where the ledger lives and the variable holding a PostgreSQL password."""

    model_config = STRICT

    location: LedgerLocation | None = pydantic.Field(
        default=None, description="A path or a PostgreSQL URL or keyword string, no password.")
    password_env: Text | None = pydantic.Field(
        default=None, description="Variable holding the PostgreSQL password.")


def _review_date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected a date such as 2026-01-31, got {value!r}") from None
    return value


class PolicyDocument(pydantic.BaseModel):
    """The crypto policy's own facts, beside its thresholds under ``[policy]``."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True, strict=True)

    version: Text | None = None
    reviewed_on: Annotated[date, pydantic.BeforeValidator(_review_date)] | None = None
    reviewed_by: Text | None = None

    def as_sections(self) -> dict[str, str]:
        data = self.model_dump(exclude_none=True)
        if "reviewed_on" in data:
            data["reviewed_on"] = data["reviewed_on"].isoformat()
        return data


class ReviewTier(pydantic.BaseModel):
    """``[review.TIER]``: the roles and days of one risk tier, overriding ``[review]``."""

    model_config = STRICT

    roles: list[Text] | None = pydantic.Field(
        default=None, description="Roles that must sign off; [] means none for this tier.")
    days: Days | None = pydantic.Field(
        default=None, description="Days after an audit by which every role must sign.")


class ReviewTable(pydantic.BaseModel):
    """``[review]``: which roles must sign off a complete audit, and within how many days
    (CEK-09 guideline 6: results reviewed by security and compliance leadership)."""

    model_config = STRICT

    roles: list[Text] = pydantic.Field(
        default=[], description='Roles that must sign off, e.g. ["security", "compliance"].')
    days: Days = pydantic.Field(default=14, description="Days after an audit to sign off.")
    allowed_signers: Text | None = pydantic.Field(
        default=None, description="An ssh-keygen allowed-signers file (relative to the "
                                  "configuration) that `cryptoaudit ledger verify` checks "
                                  "signed sign-offs against.")
    require_signature: bool = pydantic.Field(
        default=False, description="Count only sign-offs signed with an SSH key listed in "
                                   "allowed_signers.")
    low: ReviewTier | None = None
    medium: ReviewTier | None = None
    high: ReviewTier | None = None
    critical: ReviewTier | None = None

    @pydantic.model_validator(mode="after")
    def _signers_for_signatures(self) -> ReviewTable:
        if self.require_signature and not self.allowed_signers:
            raise ValueError("require_signature: needs allowed_signers (the file that says "
                             "whose SSH keys may sign)")
        return self


def _ledger_table(value: Any) -> Any:
    """``ledger = "LOCATION"`` is short for ``[ledger] location = "LOCATION"``."""
    return {"location": value} if isinstance(value, str) else value


class ConfigFile(pydantic.BaseModel):
    """A whole ``cryptoaudit.toml``. Systems and policy are checked further by providers
    and by the policy settings; this model checks everything else."""

    model_config = STRICT

    systems: list[dict[str, Any]] = pydantic.Field(default=[], description="One table per system.")
    policy: dict[str, Any] = pydantic.Field(default={}, description="Threshold overrides.")
    cadence: CadenceTable = CadenceTable()
    ledger: Annotated[LedgerTable, pydantic.BeforeValidator(_ledger_table)] | None = pydantic.Field(
        default=None, description="A path or a postgresql:// URL, or a [ledger] table "
                          "(default: .cryptoaudit/ledger.db "
                          "beside the configuration).")
    events: list[EventEntry] = []
    auditor: AuditorTable = AuditorTable()
    tags: TagNames = TagNames()
    tenancy: TenancyTable = TenancyTable()
    review: ReviewTable | None = pydantic.Field(
        default=None, description="Sign-off of audit results (CEK-09 guideline 6).")
    notify: list[NotifyRule] = pydantic.Field(
        default=[], description="Routing of findings to stakeholders (CEK-09 guideline 7).")

    @pydantic.model_validator(mode="after")
    def _unique_rule_names(self) -> ConfigFile:
        names = [rule.name for rule in self.notify]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"notify: duplicate rule name {repeated[0]!r} (the ledger "
                             "records deliveries by name)")
        return self
