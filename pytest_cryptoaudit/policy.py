"""Policy thresholds as data: documented defaults from the standards, overridable in config.

Controls ask the policy; they hold no numbers. A setting is either one value or a table with
one value per risk tier (``low``, ``medium``, ``high``, ``critical``). Overrides under
``[policy]`` are checked against the defaults: unknown names and wrong types are usage errors.
Third-party control packs add their own settings through the
``pytest_cryptoaudit_policy_settings`` hook.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import pydantic

from .model import RiskTier
from .validation import describe_validation_error

_TIERS = tuple(t.value for t in RiskTier)
_STRICT = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)


def tiered(low: Any, medium: Any, high: Any, critical: Any) -> dict[str, Any]:
    return {"low": low, "medium": medium, "high": high, "critical": critical}


@dataclasses.dataclass(frozen=True)
class PolicySetting:
    """One named threshold with its default and the source that justifies it."""

    name: str
    default: Any
    description: str
    source: str = ""

    @property
    def per_tier(self) -> bool:
        return isinstance(self.default, dict) and set(self.default) == set(_TIERS)


SP800_131A = "NIST SP 800-131A Rev 2"
CEK09 = "CSA CCM v4 / AICM CEK-09"
SP800_57 = "NIST SP 800-57 Part 1 Rev 5, 5.3.6"

PQ_SOURCES = ("NIST IR 8547 ipd (Nov 2024); NSA CNSA 2.0; BSI TR-02102-1 (2026); "
              "EU coordinated PQC roadmap (June 2025)")
MOSCA = "Mosca, Cybersecurity in an era with quantum computers (2018): x + y > z"

#: Post-quantum readiness (CEK-04 pq-readiness); the roadmaps' dates are in pq_roadmaps.py.
PQ_SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting(
        "pq_roadmap", "nist-ir-8547",
        "Roadmap that dates quantum-vulnerable assets: nist-ir-8547, cnsa-2.0, bsi-tr-02102 "
        "or eu-roadmap.", PQ_SOURCES),
    PolicySetting(
        "pq_cnsa_category", "everything",
        "CNSA 2.0 category of an asset without a `cnsa-category` tag (software-signing, "
        "networking, browsers-servers-cloud, operating-systems, niche, custom-legacy, "
        "everything).", "NSA CNSA 2.0"),
    PolicySetting(
        "pq_pinned_dates", {"deprecated": "", "disallowed": ""},
        "Your own deprecated/disallowed dates (YYYY-MM-DD) for every quantum-vulnerable "
        "asset, replacing the roadmap's; empty keeps the roadmap's.", PQ_SOURCES),
    PolicySetting(
        "pq_judge_horizon", tiered(False, False, False, False),
        "Judge the protection horizon (Mosca) instead of the disallowed date at this tier.",
        MOSCA),
    PolicySetting(
        "pq_data_shelf_life_years", tiered(1, 3, 7, 10),
        "How long data protected by an encryption or key-establishment key must stay "
        "confidential (harvest now, decrypt later).", MOSCA),
    PolicySetting(
        "pq_migration_years", tiered(3, 3, 3, 3),
        "How long a migration to post-quantum cryptography takes.", MOSCA),
)

BUILTIN_SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting(
        "min_rsa_bits", tiered(2048, 2048, 2048, 3072),
        "Smallest RSA/DSA/finite-field DH modulus allowed.", SP800_131A),
    PolicySetting(
        "min_ec_bits", tiered(224, 224, 256, 256),
        "Smallest elliptic-curve field size allowed.", SP800_131A),
    PolicySetting(
        "min_symmetric_bits", tiered(128, 128, 128, 256),
        "Smallest symmetric key allowed.", SP800_131A),
    PolicySetting(
        "min_pq_strength_bits", tiered(128, 128, 128, 192),
        "Smallest security strength of a post-quantum key (ML-KEM, ML-DSA, SLH-DSA, LMS, "
        "XMSS): 128 is NIST category 1 or 2 (ML-KEM-512, ML-DSA-44), 192 category 3 "
        "(ML-KEM-768, the parameter set FIPS 203 recommends by default), 256 category 5 "
        "(ML-KEM-1024, ML-DSA-87: what CNSA 2.0 requires).",
        "NIST FIPS 203, 204, 205; NSA CNSA 2.0"),
    PolicySetting(
        "disallowed_algorithms", ["DES", "DES3", "RC4", "RC2", "BLOWFISH"],
        "Algorithms not allowed at any tier (3-key TDEA disallowed after 2023).", SP800_131A),
    PolicySetting(
        "disallowed_signature_hashes", ["md5", "sha1"],
        "Hashes not allowed in certificate signatures.", SP800_131A),
    PolicySetting(
        "post_2030_min_rsa_bits", 3072,
        "RSA size below which a post-2030 note is added (112-bit strength deprecated).",
        "NIST SP 800-131A Rev 3 (draft)"),
    PolicySetting(
        "cryptoperiod_days",
        {
            "symmetric": tiered(730, 730, 365, 365),
            "private": tiered(1095, 1095, 730, 365),
        },
        "Longest cryptoperiod per key class (symmetric: originator usage; private: signing).",
        SP800_57),
    PolicySetting(
        "max_certificate_lifetime_days", tiered(825, 825, 398, 398),
        "Longest validity of a leaf certificate.", "CA/Browser Forum BR 6.3.2; " + SP800_57),
    PolicySetting(
        "expiry_warning_days", tiered(14, 30, 30, 60),
        "A certificate or key expiring within this many days is a finding.", SP800_57),
    PolicySetting(
        "allow_private_key_group_readable", tiered(False, False, False, False),
        "Whether a private key file may be readable by its group.", "ISO/IEC 27001:2022 A.8.24"),
    PolicySetting(
        "allow_unencrypted_private_key_files", tiered(True, True, False, False),
        "Whether a private key may be stored in a file without encryption.",
        "ISO/IEC 27001:2022 A.8.24"),
    PolicySetting(
        "allow_mixed_key_usage", tiered(True, False, False, False),
        "Whether one certificate may both sign and encipher (one purpose per key).",
        "NIST SP 800-57 Part 1 Rev 5, 5.2"),
    PolicySetting(
        "event_follow_up_days", tiered(7, 7, 3, 1),
        "Longest time from a security event or material change to the complete audit that "
        "follows it up (never longer than the tier's audit interval).",
        CEK09 + " (audit after any security event)"),
    PolicySetting(
        "finding_triage_days", tiered(30, 14, 7, 3),
        "How long a finding may stay open before it needs a corrective action with an owner "
        "and a due date.", CEK09 + " guideline 6; CCM audit step 2"),
    PolicySetting(
        "procedures_review_max_days", 365,
        "Longest time since the crypto policy and audit procedures were last reviewed.",
        CEK09 + " guideline 10; ISO/IEC 27001:2022 clause 9.2"),
    *PQ_SETTINGS,
)


class PolicyError(ValueError):
    """An override that does not fit the declared settings."""


def value_type(default: Any, name: str) -> Any:
    """The type an override must have: the default's shape, tables partly overridable."""
    if isinstance(default, bool):
        return bool
    if isinstance(default, int | float):
        return type(default)  # strict: no bool for an int; an int is welcome as a float
    if isinstance(default, str):
        return str
    if isinstance(default, list):
        return list[value_type(default[0], name)] if default else list[Any]  # type: ignore[misc]
    if isinstance(default, dict):
        fields: Any = {key: (value_type(value, f"{name}.{key}") | None, None)
                       for key, value in default.items()}
        return pydantic.create_model(name.replace(".", "_"), __config__=_STRICT, **fields)
    return Any


#: Models already built, by what their settings declare: building one costs tens of
#: milliseconds of pydantic schema work, and a process (a test suite's in-process audits, the
#: CLI after a run) asks for the same settings again and again.
_MODELS: dict[tuple[tuple[str, str, str, str], ...], type[pydantic.BaseModel]] = {}


def overrides_model(settings: Iterable[PolicySetting]) -> type[pydantic.BaseModel]:
    """The ``[policy]`` thresholds as a model: one optional field per setting."""
    settings = tuple(settings)
    key = tuple((s.name, repr(s.default), s.description, s.source) for s in settings)
    model = _MODELS.get(key)
    if model is None:
        fields: Any = {s.name: (value_type(s.default, s.name) | None, pydantic.Field(
            default=None, description=f"{s.description} ({s.source})" if s.source
            else s.description, json_schema_extra={"default": s.default})) for s in settings}
        model = _MODELS[key] = pydantic.create_model("policy", __config__=_STRICT, **fields)
    return model


def _merge(default: Any, value: Any) -> Any:
    """A table override replaces only the keys it gives; any other value replaces all."""
    if isinstance(value, pydantic.BaseModel):
        given = {k: getattr(value, k) for k in value.model_fields_set}
        return {**default, **{k: _merge(default[k], v) for k, v in given.items()}}
    return value


class Policy:
    """The effective thresholds of one run (defaults merged with overrides), read-only."""

    def __init__(self, settings: Iterable[PolicySetting], overrides: Mapping[str, Any]) -> None:
        self.settings = {s.name: s for s in settings}
        self._values = {name: s.default for name, s in self.settings.items()}
        self.overrides = dict(overrides)
        if overrides:  # with none there is nothing to check, and no model to build
            self._override(overrides)

    def _override(self, overrides: Mapping[str, Any]) -> None:
        model = overrides_model(self.settings.values())
        # A deprecated name is read as its replacement (the aliases of managed_policy); an
        # error still names what the user wrote.
        current, written = {}, {}
        for name, value in overrides.items():
            new_name, current[new_name] = resolve_alias(name, value)
            written[new_name] = name
        try:
            given = model.model_validate(current)
        except pydantic.ValidationError as exc:
            message = describe_validation_error(exc, "policy", model)
            for new_name, name in written.items():
                message = message.replace(f"policy.{new_name}", f"policy.{name}")
            raise PolicyError(message) from None
        for name in given.model_fields_set:
            self._values[name] = _merge(self._values[name], getattr(given, name))

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def for_tier(self, name: str, tier: RiskTier | str, *path: str) -> Any:
        """The value of a per-tier setting for ``tier``, after descending into ``path``."""
        value = self._values[name]
        for part in path:
            value = value[part]
        return value[RiskTier(tier).value]

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


# Last, because the managed-key settings are built from the classes above; they are builtin
# because generic controls judge facts that any provider may fill.
from .managed_policy import MANAGED_KEY_SETTINGS, resolve_alias  # noqa: E402

BUILTIN_SETTINGS = (*BUILTIN_SETTINGS, *MANAGED_KEY_SETTINGS)
