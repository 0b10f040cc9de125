"""Load and validate ``cryptoaudit.toml`` (or ``[tool.cryptoaudit]`` in ``pyproject.toml``).

Every problem stops the run with a usage error that names the file, the key and what was
expected. Secrets never live here: options such as ``token_env`` and ``pin_env`` name an
environment variable instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic

from .cadence import CadenceError, parse_cadence
from .ledger.settings import check_auditor, check_ledger_location, split_policy_document
from .model import Event, EventKind, RiskTier, is_valid_owner
from .owners import TagNames
from .policy import Policy, PolicyError, PolicySetting
from .providers import ProviderLoadError, ProviderOptions, ProviderRegistry

CONFIG_FILE = "cryptoaudit.toml"
SYSTEM_KEYS = ("name", "provider", "risk_tier", "ssrm_owner", "owner", "accountable_owner",
               "require_tier_tag", "description", "tags")
#: Top-level sections besides ``systems`` and ``policy``; each is validated by its own module.
EXTRA_SECTIONS = ("cadence", "ledger", "events", "auditor", "tags")


#: Keys that moved: what to write instead (a usage error says so rather than "unknown key").
MOVED_SYSTEM_KEYS = {
    "owner_tag": "name the owner tag once for every system: [tags] accountable_owner = \"...\"",
}


class ConfigDeprecationWarning(FutureWarning):
    """A configuration key that still works but has a new name (shown to end users)."""


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key and expectation.

    The plugin turns it into a pytest usage error; the command line prints it and exits 2.
    """


@dataclasses.dataclass(frozen=True)
class SystemConfig:
    """One configured system: who owns it, how risky it is, and its provider's options.

    ``ssrm_owner`` is the shared-responsibility party (CSP, CSC...); ``accountable_owner``
    the person or team that answers for keys that name no owner of their own.
    """

    name: str
    provider: str
    risk_tier: RiskTier
    ssrm_owner: str
    options: ProviderOptions
    description: str = ""
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    accountable_owner: str = ""
    require_tier_tag: bool = False

    @property
    def owner(self) -> str:
        """The SSRM owner, under the name that records and reports use."""
        return self.ssrm_owner


@dataclasses.dataclass(frozen=True)
class AuditConfig:
    """The validated configuration of one run."""

    path: Path | None
    sha256: str
    systems: tuple[SystemConfig, ...]
    policy: Policy
    sections: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def events(self) -> tuple[Event, ...]:
        """Events recorded in the ``[[events]]`` array of the configuration."""
        return tuple(Event(**raw, source="config") for raw in self.sections.get("events", ()))

    @property
    def cadence(self) -> dict[RiskTier, int]:
        """Longest interval between audits per tier, validated at load time."""
        return parse_cadence(self.sections.get("cadence"))

    @property
    def ledger_location(self) -> str | None:
        """The ``ledger`` setting (a path or a ``postgresql://`` URL), if any."""
        location: str | None = self.sections.get("ledger")
        return location

    @property
    def auditor(self) -> Mapping[str, Any]:
        """The ``[auditor]`` table: ``name`` and ``administrators``."""
        auditor: Mapping[str, Any] = self.sections.get("auditor", {})
        return auditor

    @property
    def policy_document(self) -> Mapping[str, Any]:
        """The crypto policy's ``version``, ``reviewed_on`` and ``reviewed_by``, if given."""
        document: Mapping[str, Any] = self.sections.get("policy_document", {})
        return document

    @property
    def tags(self) -> TagNames:
        """The ``[tags]`` table: the tag names that carry per-key owners and tiers."""
        return TagNames.model_validate(self.sections.get("tags", {}))

    def system_sha256(self, name: str) -> str:
        """A hash of one system's configuration: tier, owners, provider and its options."""
        system = self.system(name)
        data: dict[str, Any] = {
            "provider": system.provider, "risk_tier": system.risk_tier.value,
            "owner": system.ssrm_owner, "options": system.options.model_dump(mode="json")}
        # Only set when used, so that the hash of an older configuration stays the same.
        for key in ("accountable_owner", "require_tier_tag"):
            if getattr(system, key):
                data[key] = getattr(system, key)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def system(self, name: str) -> SystemConfig:
        return next(s for s in self.systems if s.name == name)


def find_config_file(start: Path) -> tuple[Path, bool] | None:
    """Return ``(path, is_pyproject)`` for the first config found in ``start``."""
    candidate = start / CONFIG_FILE
    if candidate.is_file():
        return candidate, False
    pyproject = start / "pyproject.toml"
    if pyproject.is_file() and "cryptoaudit" in _read_toml(pyproject).get("tool", {}):
        return pyproject, True
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from exc


def load_config(
    path: Path,
    registry: ProviderRegistry,
    policy_settings: Iterable[PolicySetting],
    *,
    pyproject: bool = False,
) -> AuditConfig:
    """Read and validate the configuration at ``path``."""
    data = _read_toml(path)
    if pyproject:
        data = data.get("tool", {}).get("cryptoaudit", {})
    return parse_config(data, registry, policy_settings, source=path)


def parse_config(
    data: Mapping[str, Any],
    registry: ProviderRegistry,
    policy_settings: Iterable[PolicySetting],
    *,
    source: Path | None = None,
) -> AuditConfig:
    where = str(source) if source else "<config>"
    allowed = ("systems", "policy", *EXTRA_SECTIONS)
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}: {key}: unknown key (expected one of {', '.join(allowed)})")
    systems_raw = data.get("systems", [])
    if not isinstance(systems_raw, list) or not all(isinstance(s, dict) for s in systems_raw):
        raise ConfigError(f"{where}: systems: expected an array of tables ([[systems]])")
    systems = tuple(
        _parse_system(raw, index, registry, where) for index, raw in enumerate(systems_raw)
    )
    _check_unique_names(systems, where)
    policy_raw = data.get("policy", {})
    if not isinstance(policy_raw, dict):
        raise ConfigError(f"{where}: policy: expected a table")
    try:
        thresholds, policy_document = split_policy_document(policy_raw)
        policy = Policy(policy_settings, thresholds)
        check_ledger_location(data.get("ledger"))
        check_auditor(data.get("auditor"))
    except (PolicyError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    _check_tags(data.get("tags", {}), where)
    _check_events(data.get("events", []), {s.name for s in systems}, where)
    try:
        parse_cadence(data.get("cadence"))
    except CadenceError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    canonical = json.dumps(data, sort_keys=True, default=str).encode()
    return AuditConfig(
        path=source,
        sha256=hashlib.sha256(canonical).hexdigest(),
        systems=systems,
        policy=policy,
        sections={**{k: data[k] for k in EXTRA_SECTIONS if k in data},
                  "policy_document": policy_document},
    )


def _check_unique_names(systems: tuple[SystemConfig, ...], where: str) -> None:
    seen: set[str] = set()
    for system in systems:
        if system.name in seen:
            raise ConfigError(f"{where}: systems: duplicate system name {system.name!r}")
        seen.add(system.name)


def _expect_str(raw: Mapping[str, Any], key: str, at: str) -> str:
    if key not in raw:
        raise ConfigError(f"{at}.{key}: missing (expected a string)")
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{at}.{key}: expected a non-empty string, got {value!r}")
    return value


def _parse_system(
    raw: Mapping[str, Any], index: int, registry: ProviderRegistry, where: str
) -> SystemConfig:
    at = f"{where}: systems[{index}]"
    name = _expect_str(raw, "name", at)
    at = f"{where}: systems[{index}] ({name})"
    provider = _expect_str(raw, "provider", at)
    if provider not in registry:
        raise ConfigError(
            f"{at}.provider: unknown provider {provider!r} (known: {', '.join(registry.names())})"
        )
    tier = _expect_str(raw, "risk_tier", at)
    if tier not in {t.value for t in RiskTier}:
        raise ConfigError(
            f"{at}.risk_tier: expected one of low, medium, high, critical, got {tier!r}"
        )
    owner_key = _ssrm_owner_key(raw, at)
    owner = _expect_str(raw, owner_key, at)
    if not is_valid_owner(owner):
        raise ConfigError(
            f"{at}.{owner_key}: expected an SSRM owner (CSP, CSC, MP, OSP, AP, AIC or a shared "
            f"pair such as CSP-MP), got {owner!r}"
        )
    accountable = raw.get("accountable_owner", "")
    if not isinstance(accountable, str):
        raise ConfigError(f"{at}.accountable_owner: expected a string, got {accountable!r}")
    require_tier_tag = raw.get("require_tier_tag", False)
    if not isinstance(require_tier_tag, bool):
        raise ConfigError(f"{at}.require_tier_tag: expected true or false, "
                          f"got {require_tier_tag!r}")
    tags = raw.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ConfigError(f"{at}.tags: expected a table of strings")
    for key, instead in MOVED_SYSTEM_KEYS.items():
        if key in raw:
            raise ConfigError(f"{at}.{key}: no longer a system option; {instead}")
    options = {k: v for k, v in raw.items() if k not in SYSTEM_KEYS}
    try:
        provider_class = registry.get(provider)
    except ProviderLoadError as exc:
        raise ConfigError(f"{at}.provider: {exc}") from None
    try:
        validated = provider_class.Options.model_validate(options)
    except pydantic.ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, at)) from None
    return SystemConfig(
        name=name,
        provider=provider,
        risk_tier=RiskTier(tier),
        ssrm_owner=owner,
        options=validated,
        description=str(raw.get("description", "")),
        tags=dict(tags),
        accountable_owner=accountable.strip(),
        require_tier_tag=require_tier_tag,
    )


def _ssrm_owner_key(raw: Mapping[str, Any], at: str) -> str:
    """``ssrm_owner``, or the deprecated ``owner`` with a warning (a system's ``owner`` meant
    its SSRM party, while an ``owner`` tag on a key names a team)."""
    if "owner" not in raw:
        return "ssrm_owner"
    if "ssrm_owner" in raw:
        raise ConfigError(f"{at}.owner: give ssrm_owner only (owner is its deprecated name)")
    warnings.warn(f"{at}.owner: deprecated, rename it to ssrm_owner (the SSRM party); "
                  "accountable_owner names the team or person", ConfigDeprecationWarning,
                  stacklevel=2)
    return "owner"


def _check_tags(raw: Any, where: str) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: tags: expected a table")
    try:
        TagNames.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, f"{where}: tags")) from None


def _describe_validation_error(exc: pydantic.ValidationError, at: str) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(f"{at}.{key}: unknown key")
        elif error["type"] == "missing":
            lines.append(f"{at}.{key}: missing")
        else:
            lines.append(f"{at}.{key}: {error['msg'].lower()}, got {error['input']!r}")
    return "\n".join(lines)


EVENT_KEYS = {"system": str, "kind": str, "at": datetime, "note": str, "key": str,
              "versions": list}


def _check_events(events: Any, systems: set[str], where: str) -> None:
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ConfigError(f"{where}: events: expected an array of tables ([[events]])")
    kinds = [k.value for k in EventKind]
    for index, event in enumerate(events):
        at = f"{where}: events[{index}]"
        for key, value in event.items():
            expected = EVENT_KEYS.get(key)
            if expected is None:
                raise ConfigError(f"{at}.{key}: unknown key (expected one of "
                                  f"{', '.join(EVENT_KEYS)})")
            if not isinstance(value, expected):
                raise ConfigError(f"{at}.{key}: expected {expected.__name__}, got {value!r}")
        for required in ("system", "kind", "at"):
            if required not in event:
                raise ConfigError(f"{at}.{required}: missing")
        if event["kind"] not in kinds:
            raise ConfigError(f"{at}.kind: expected one of {', '.join(kinds)}, "
                              f"got {event['kind']!r}")
        if event["system"] not in systems:
            raise ConfigError(f"{at}.system: no configured system named {event['system']!r}")
        if event["at"].tzinfo is None:
            raise ConfigError(f"{at}.at: expected a date-time with an offset, e.g. "
                              "2026-01-31T12:00:00Z")
