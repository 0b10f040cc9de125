"""The Vault PKI pack (``vault_pki.py``) on planted role facts and issuer records: key sizes,
maximum lifetimes and names per tier, and the CA that must outlive its roles. The selection
``scripts/mutation.py`` runs against that module."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import controls.vault_pki as vault_pki

from .judge import NOW, Verdict, controls_of, judge, key, policy, spec_of, system

DAY = 86400


def role(name: str = "web", key_type: str = "rsa", key_bits: int | None = 2048,
         max_ttl_days: float = 90, effective_days: float | None = None,
         **flags: Any) -> dict[str, Any]:
    return {"mount": "pki", "name": name, "key_type": key_type, "key_bits": key_bits,
            "max_ttl_seconds": max_ttl_days * DAY,
            "effective_max_ttl_seconds": (effective_days or max_ttl_days) * DAY, **flags}


def server(*roles: dict[str, Any], tier: str = "high") -> Any:
    return system("vault", provider="vault", tier=tier, attributes={"pki_roles": list(roles)})


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(vault_pki)] == [
        "pki-role-key-size", "pki-role-max-ttl", "pki-role-names", "pki-ca-outlives-roles"]


@pytest.mark.parametrize("control", controls_of(vault_pki)[:3])
def test_role_checks_apply_to_vault_servers_with_roles(control: Any) -> None:
    spec = spec_of(control)
    assert spec.applies_to(server(role()))
    assert not spec.applies_to(server())
    assert not spec.applies_to(system("v", provider="vault"))
    for provider in ("aws-kms", "zz-third-party"):  # before and after "vault"
        assert not spec.applies_to(system("k", provider=provider,
                                          attributes={"pki_roles": [role()]}))
    unreadable = system("vault", provider="vault", unreadable={"pki_roles": "403"})
    assert spec.applies_to(unreadable)
    assert judge(control, unreadable) == Verdict("error", "pki_roles: 403")


@pytest.mark.parametrize(("tier", "made", "outcome", "problem"), [
    ("high", role(), "passed", ""),
    ("high", role(key_bits=2047), "failed", "pki/roles/web issues rsa-2047 keys, below the "
                                            "2048-bit minimum"),
    ("critical", role(), "failed", "pki/roles/web issues rsa-2048 keys, below the 3072-bit "
                                   "minimum"),
    ("high", role(key_type="ec", key_bits=256), "passed", ""),
    ("high", role(key_type="ec", key_bits=224), "failed", "pki/roles/web issues ec-224 keys, "
                                                          "below the 256-bit minimum"),
    ("high", role(key_type="ec", key_bits=None), "failed", "pki/roles/web issues ec-None "
                                                           "keys, below the 256-bit minimum"),
    ("high", role(key_type="ed25519", key_bits=0), "passed", ""),
    ("high", role(key_type="any", key_bits=0), "failed", "pki/roles/web signs CSRs of any "
                                                         "key type and size (key_type=any)"),
    ("low", role(key_type="any", key_bits=0), "passed", ""),
])
def test_role_key_size(tier: str, made: dict[str, Any], outcome: str, problem: str) -> None:
    verdict = judge(vault_pki.test_pki_role_key_size, server(made, tier=tier))
    assert verdict.outcome == outcome
    if problem:
        assert verdict.message == f"tier {tier}: {problem}"


def test_role_key_size_lists_every_bad_role() -> None:
    verdict = judge(vault_pki.test_pki_role_key_size, server(
        role("a", key_bits=1024), role("b"), role("c", key_type="any")))
    assert verdict.message == ("tier high: pki/roles/a issues rsa-1024 keys, below the "
                               "2048-bit minimum; pki/roles/c signs CSRs of any key type and "
                               "size (key_type=any)")


@pytest.mark.parametrize(("tier", "made", "outcome", "problem"), [
    ("high", role(max_ttl_days=398), "passed", ""), ("high", role(), "passed", ""),
    ("high", role(max_ttl_days=398.5), "failed", "pki/roles/web allows 398.5 days"),
    ("high", role(max_ttl_days=398 + 1 / DAY), "failed", "pki/roles/web allows 398 days"),
    ("high", role(max_ttl_days=0, effective_days=3650), "failed",
     "pki/roles/web allows 3650 days (max_ttl unset: the mount maximum)"),
    ("low", role(max_ttl_days=825), "passed", ""),
])
def test_role_max_ttl(tier: str, made: dict[str, Any], outcome: str, problem: str) -> None:
    verdict = judge(vault_pki.test_pki_role_max_ttl, server(made, tier=tier))
    assert verdict.outcome == outcome
    if problem:
        maximum = policy()["max_certificate_lifetime_days"][tier]
        assert verdict.message == f"tier {tier} allows at most {maximum} days: {problem}"


@pytest.mark.parametrize(("tier", "flags", "outcome", "problem"), [
    ("high", {}, "passed", ""),
    ("high", {"allow_any_name": True}, "failed", "pki/roles/web allows any name"),
    ("high", {"allow_wildcard_certificates": True}, "failed",
     "pki/roles/web allows wildcard certificates"),
    ("high", {"allow_any_name": True, "allow_wildcard_certificates": True}, "failed",
     "pki/roles/web allows any name; pki/roles/web allows wildcard certificates"),
    ("medium", {"allow_any_name": True, "allow_wildcard_certificates": True}, "passed", ""),
])
def test_role_names(tier: str, flags: dict[str, Any], outcome: str, problem: str) -> None:
    verdict = judge(vault_pki.test_pki_role_names, server(role(**flags), tier=tier))
    assert verdict.outcome == outcome
    if problem:
        assert verdict.message == f"tier {tier}: {problem}"


def test_names_allowed_separately_by_policy() -> None:
    made = server(role(allow_any_name=True, allow_wildcard_certificates=True))
    only_names = policy(vault_pki_allow_any_name={"high": True})
    verdict = judge(vault_pki.test_pki_role_names, made, crypto_policy=only_names)
    assert verdict.message == "tier high: pki/roles/web allows wildcard certificates"


def issuer(days_left: float, longest_days: float | None = 90) -> Any:
    attributes = {"mount": "pki", "longest_role_max_ttl_seconds":
                  None if longest_days is None else longest_days * DAY}
    return key("vault:pki/issuer/1", provider="vault", kind="certificate",
               expires=NOW + timedelta(days=days_left), attributes=attributes)


def test_ca_check_applies_to_vault_issuers_with_roles() -> None:
    spec = spec_of(vault_pki.test_pki_ca_outlives_roles)
    assert spec.applies_to(issuer(100))
    assert not spec.applies_to(issuer(100, longest_days=None))
    assert spec.applies_to(issuer(100, longest_days=0))
    for provider in ("files", "zz-third-party"):
        assert not spec.applies_to(key("x", provider=provider, kind="certificate",
                                       attributes={"longest_role_max_ttl_seconds": 1}))
    assert not spec.applies_to(key("x", provider="vault", kind="private-key",
                                   attributes={"longest_role_max_ttl_seconds": 1}))


@pytest.mark.parametrize(("days_left", "outcome"), [(91, "passed"), (90, "passed"),
                                                    (89.9, "failed")])
def test_ca_outlives_its_roles(days_left: float, outcome: str) -> None:
    verdict = judge(vault_pki.test_pki_ca_outlives_roles, issuer(days_left))
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message == (f"CA expires {NOW + timedelta(days=days_left):%Y-%m-%d} "
                                   "(in 89 days) but roles of pki may issue certificates for "
                                   "90 days")
