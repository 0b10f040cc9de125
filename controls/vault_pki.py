"""HashiCorp Vault / OpenBao PKI: the roles that issue certificates, and their CAs.

CA (issuer) certificates are certificate records, so the generic certificate controls
(key strength, signature hash, expiry) already check them. Roles are system facts: one
result per server lists every role that breaks the policy, by mount and name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from pytest_cryptoaudit.facts import required
from pytest_cryptoaudit.references import (
    CAB_BR,
    ISO27001_A824,
    SP800_57_CRYPTOPERIODS,
    SP800_131A,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_cryptoaudit.clock import Clock
    from pytest_cryptoaudit.model import KeyRecord, RiskTier, SystemRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

#: Which minimum-size setting governs each role key type.
MIN_BITS_SETTING = {"rsa": "min_rsa_bits", "ec": "min_ec_bits"}


def _has_roles(system: SystemRecord) -> bool:
    return system.provider == "vault" and bool(
        system.attributes.get("pki_roles") or "pki_roles" in system.unreadable)


def _vault_issuer(key: KeyRecord) -> bool:
    return (key.provider == "vault" and key.kind == "certificate"
            and key.attributes.get("longest_role_max_ttl_seconds") is not None)


def _role(role: Mapping[str, Any]) -> str:
    return f"{role['mount']}/roles/{role['name']}"


def _key_size_problem(role: Mapping[str, Any], policy: Policy, tier: RiskTier) -> str | None:
    key_type, bits = role["key_type"], role["key_bits"]
    if key_type == "any":
        if policy.for_tier("vault_pki_allow_any_key_type", tier):
            return None
        return f"{_role(role)} signs CSRs of any key type and size (key_type=any)"
    setting = MIN_BITS_SETTING.get(key_type)
    if setting is None:
        return None
    minimum = policy.for_tier(setting, tier)
    if bits is None or bits < minimum:
        return f"{_role(role)} issues {key_type}-{bits} keys, below the {minimum}-bit minimum"
    return None


@pytest.mark.control(
    "CEK-04", check="pki-role-key-size",
    references=[SP800_131A, ISO27001_A824],
    remediation="Set key_type and key_bits on the role to an allowed type and size.",
    applies_to=_has_roles, requires=["pki_roles"],
)
def test_pki_role_key_size(crypto_system: SystemRecord, crypto_policy: Policy) -> None:
    """Every PKI role issues (or signs) keys of an allowed type and at least the minimum size."""
    tier = crypto_system.risk_tier
    problems = [p for role in crypto_system.attributes["pki_roles"]
                if (p := _key_size_problem(role, crypto_policy, tier))]
    assert not problems, f"tier {tier.value}: " + "; ".join(problems)


@pytest.mark.control(
    "CEK-12", check="pki-role-max-ttl",
    references=[SP800_57_CRYPTOPERIODS, CAB_BR],
    remediation="Set max_ttl on the role (or max_lease_ttl on the mount) to at most the "
                "policy's certificate lifetime.",
    applies_to=_has_roles, requires=["pki_roles"],
)
def test_pki_role_max_ttl(crypto_system: SystemRecord, crypto_policy: Policy) -> None:
    """No PKI role issues certificates valid longer than the tier's maximum lifetime."""
    tier = crypto_system.risk_tier
    maximum = crypto_policy.for_tier("max_certificate_lifetime_days", tier)
    problems = [
        f"{_role(role)} allows {role['effective_max_ttl_seconds'] / 86400:g} days"
        f"{'' if role['max_ttl_seconds'] else ' (max_ttl unset: the mount maximum)'}"
        for role in crypto_system.attributes["pki_roles"]
        if role["effective_max_ttl_seconds"] / 86400 > maximum
    ]
    assert not problems, (
        f"tier {tier.value} allows at most {maximum} days: " + "; ".join(problems))


@pytest.mark.control(
    "CEK-11", check="pki-role-names",
    references=[ISO27001_A824, CAB_BR],
    remediation="Restrict the role to allowed_domains; turn off allow_any_name and "
                "allow_wildcard_certificates where the tier forbids them.",
    applies_to=_has_roles, requires=["pki_roles"],
)
def test_pki_role_names(crypto_system: SystemRecord, crypto_policy: Policy) -> None:
    """PKI roles issue only for the names they are meant for (no any-name or wildcards)."""
    tier = crypto_system.risk_tier
    any_name = crypto_policy.for_tier("vault_pki_allow_any_name", tier)
    wildcards = crypto_policy.for_tier("vault_pki_allow_wildcards", tier)
    problems = []
    for role in crypto_system.attributes["pki_roles"]:
        if role.get("allow_any_name") and not any_name:
            problems.append(f"{_role(role)} allows any name")
        if role.get("allow_wildcard_certificates") and not wildcards:
            problems.append(f"{_role(role)} allows wildcard certificates")
    assert not problems, f"tier {tier.value}: " + "; ".join(problems)


@pytest.mark.control(
    "CEK-12", check="pki-ca-outlives-roles",
    references=[SP800_57_CRYPTOPERIODS, "RFC 5280 6.1.3"],
    remediation="Rotate the CA (generate a new issuer and make it the default) before its "
                "remaining validity is shorter than the longest role max_ttl.",
    applies_to=_vault_issuer, requires=["expires"],
)
def test_pki_ca_outlives_roles(crypto_key: KeyRecord, crypto_clock: Clock) -> None:
    """The CA stays valid for at least the longest certificate its mount's roles may issue."""
    longest = timedelta(seconds=crypto_key.attributes["longest_role_max_ttl_seconds"])
    expires = required(crypto_key.uid, "expires", crypto_key.expires)
    remaining = expires - crypto_clock.now
    assert not crypto_clock.passed(expires - longest), (
        f"CA expires {crypto_key.expires:%Y-%m-%d} (in {remaining.days} days) but roles of "
        f"{crypto_key.attributes['mount']} may issue certificates for {longest.days} days"
    )
