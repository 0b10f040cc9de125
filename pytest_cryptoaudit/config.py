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
from pathlib import Path
from typing import Any

import pydantic

from .cadence import effective_cadence
from .config_models import ConfigFile, PolicyDocument, ReviewTable, SystemCore
from .model import Event, RiskTier
from .nesting import TooDeep, load_toml
from .owners import TagNames
from .policy import Policy, PolicyError, PolicySetting
from .providers import ProviderLoadError, ProviderOptions, ProviderRegistry
from .tenancy import TenancyTable
from .validation import describe_validation_error, suggestion

CONFIG_FILE = "cryptoaudit.toml"
SYSTEM_KEYS = tuple(SystemCore.model_fields)
#: Top-level sections besides ``systems`` and ``policy``, kept as given for the ledger.
EXTRA_SECTIONS = ("cadence", "ledger", "events", "auditor", "tags", "tenancy", "review",
                  "notify")


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
        return effective_cadence(self.sections.get("cadence"))

    @property
    def ledger_location(self) -> str | None:
        """The ``ledger`` setting (a path or a ``postgresql://`` URL), if any."""
        setting = self.sections.get("ledger")
        location = setting.get("location") if isinstance(setting, dict) else setting
        return location if isinstance(location, str) else None

    @property
    def ledger_password_env(self) -> str | None:
        """The variable holding the PostgreSQL ledger's password (``[ledger] password_env``)."""
        setting = self.sections.get("ledger")
        variable = setting.get("password_env") if isinstance(setting, dict) else None
        return variable if isinstance(variable, str) else None

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
    def tenancy(self) -> TenancyTable:
        """The ``[tenancy]`` table: tenants and the keys shared between them."""
        return TenancyTable.model_validate(self.sections.get("tenancy", {}))

    @property
    def tags(self) -> TagNames:
        """The ``[tags]`` table: the tag names that carry per-key owners and tiers."""
        return TagNames.model_validate(self.sections.get("tags", {}))

    @property
    def review(self) -> ReviewTable | None:
        """The ``[review]`` table (who signs off audits, within how long), if configured."""
        table = self.sections.get("review")
        return ReviewTable.model_validate(table) if table is not None else None

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
        return load_toml(path.read_text(encoding="utf-8"))
    except TooDeep as exc:
        raise ConfigError(f"{path}: cannot use configuration: {exc}") from None
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
    try:
        checked = ConfigFile.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, f"{where}:", ConfigFile)) from None
    systems = tuple(
        _parse_system(raw, index, registry, where) for index, raw in enumerate(checked.systems)
    )
    _check_unique_names(systems, where)
    policy, document = _parse_policy(checked.policy, policy_settings, where)
    _check_event_systems(checked, {s.name for s in systems}, where)
    canonical = json.dumps(data, sort_keys=True, default=str).encode()
    return AuditConfig(
        path=source,
        sha256=hashlib.sha256(canonical).hexdigest(),
        systems=systems,
        policy=policy,
        sections={**{k: data[k] for k in EXTRA_SECTIONS if k in data},
                  "policy_document": document},
    )


def _parse_policy(raw: Mapping[str, Any], settings: Iterable[PolicySetting],
                  where: str) -> tuple[Policy, dict[str, str]]:
    """Thresholds checked against the registered settings; the document facts beside them."""
    document_keys = set(PolicyDocument.model_fields)
    try:
        document = PolicyDocument.model_validate(
            {k: v for k, v in raw.items() if k in document_keys})
    except pydantic.ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, f"{where}: policy")) from None
    thresholds = {k: v for k, v in raw.items() if k not in document_keys}
    try:
        policy = Policy(settings, thresholds)
    except PolicyError as exc:
        raise ConfigError("\n".join(f"{where}: {line}" for line in str(exc).splitlines())) from None
    return policy, document.as_sections()


def _check_event_systems(checked: ConfigFile, systems: set[str], where: str) -> None:
    for index, event in enumerate(checked.events):
        if event.system not in systems:
            raise ConfigError(f"{where}: events[{index}].system: no configured system named "
                              f"{event.system!r}{suggestion(event.system, systems)}")


def _check_unique_names(systems: tuple[SystemConfig, ...], where: str) -> None:
    seen: set[str] = set()
    for system in systems:
        if system.name in seen:
            raise ConfigError(f"{where}: systems: duplicate system name {system.name!r}")
        seen.add(system.name)


def _parse_system(
    raw: Mapping[str, Any], index: int, registry: ProviderRegistry, where: str
) -> SystemConfig:
    name = raw.get("name")
    at = f"{where}: systems[{index}]" + (f" ({name})" if isinstance(name, str) and name else "")
    for key, instead in MOVED_SYSTEM_KEYS.items():
        if key in raw:
            raise ConfigError(f"{at}.{key}: no longer a system option; {instead}")
    core = _system_core(raw, at)
    if core.provider not in registry:
        known = registry.names()
        raise ConfigError(f"{at}.provider: unknown provider {core.provider!r} (known: "
                          f"{', '.join(known)}){suggestion(core.provider, known)}")
    try:
        provider_class = registry.get(core.provider)
    except ProviderLoadError as exc:
        raise ConfigError(f"{at}.provider: {exc}") from None
    options = {k: v for k, v in raw.items() if k not in SYSTEM_KEYS}
    try:
        validated = provider_class.Options.model_validate(options)
    except pydantic.ValidationError as exc:
        raise ConfigError(describe_validation_error(
            exc, at, provider_class.Options, known=SYSTEM_KEYS)) from None
    if core.owner is not None:
        warnings.warn(f"{at}.owner: deprecated, rename it to ssrm_owner (the SSRM party); "
                      "accountable_owner names the team or person", ConfigDeprecationWarning,
                      stacklevel=3)
    return SystemConfig(
        name=core.name, provider=core.provider, risk_tier=RiskTier(core.risk_tier),
        ssrm_owner=core.ssrm_owner or core.owner or "", options=validated,
        description=core.description, tags=dict(core.tags),
        accountable_owner=core.accountable_owner.strip(),
        require_tier_tag=core.require_tier_tag,
    )


def _system_core(raw: Mapping[str, Any], at: str) -> SystemCore:
    """The provider-independent keys; a mistake in one names the system and the key."""
    try:
        return SystemCore.model_validate({k: v for k, v in raw.items() if k in SYSTEM_KEYS})
    except pydantic.ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, at, SystemCore)) from None
