"""The post-quantum verdict per key under each roadmap: status, purpose, dates, horizon."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from pytest_cryptoaudit.model import KeyKind, KeyRecord, RiskTier
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy, PolicyError
from pytest_cryptoaudit.pqverdict import (
    PqStatus,
    Purpose,
    evidence_entry,
    last_safe_date,
    verdict_for_key,
)


def policy(**overrides: Any) -> Policy:
    return Policy(BUILTIN_SETTINGS, overrides)


def key(algorithm: str, size: int | None, *, kind: str = "private-key", tier: str = "high",
        usage: tuple[str, ...] = (), tags: dict[str, str] | None = None) -> KeyRecord:
    return KeyRecord(uid=f"test:{algorithm}-{size}", system="s", provider="test", kind=kind,
                     risk_tier=tier, owner="CSC", algorithm=algorithm, size=size,
                     usage=usage, tags=tags or {})


@pytest.mark.parametrize(("algorithm", "size", "status"), [
    ("RSA", 2048, PqStatus.VULNERABLE), ("EC", 256, PqStatus.VULNERABLE),
    ("Ed25519", 256, PqStatus.VULNERABLE), ("X25519", 256, PqStatus.VULNERABLE),
    ("DSA", 3072, PqStatus.VULNERABLE), ("DH", 2048, PqStatus.VULNERABLE),
    ("SM2", 256, PqStatus.VULNERABLE), ("DES3", 168, PqStatus.VULNERABLE),
    ("AES", 256, PqStatus.RESISTANT), ("AES", 128, PqStatus.RESISTANT),
    ("HMAC", 384, PqStatus.RESISTANT), ("ML-DSA", 192, PqStatus.RESISTANT),
    ("XSalsa20-Poly1305", 256, PqStatus.RESISTANT), ("ChaCha20-Poly1305", 256,
                                                     PqStatus.RESISTANT),
    ("XChaCha20-Poly1305", 256, PqStatus.RESISTANT),
    ("ML-KEM-768", None, PqStatus.RESISTANT), ("SLH-DSA", 128, PqStatus.RESISTANT),
    ("LMS", None, PqStatus.RESISTANT), ("X25519MLKEM768", None, PqStatus.HYBRID),
    ("SecP384r1MLKEM1024", None, PqStatus.HYBRID),
])
def test_status_under_the_default_roadmap(algorithm: str, size: int | None,
                                          status: PqStatus) -> None:
    verdict = verdict_for_key(key(algorithm, size), policy())
    assert verdict.status is status
    assert (verdict.disallowed is None) == (status is not PqStatus.VULNERABLE)


def test_nist_ir_8547_deprecates_112_bit_keys_after_2030() -> None:
    weak = verdict_for_key(key("RSA", 2048), policy())
    strong = verdict_for_key(key("EC", 384), policy())
    assert (weak.category, weak.deprecated, weak.disallowed) == (
        "112", date(2031, 1, 1), date(2036, 1, 1))
    assert (strong.category, strong.deprecated, strong.disallowed) == (
        "128+", None, date(2036, 1, 1))
    assert weak.days_left(date(2035, 12, 31)) == 1


@pytest.mark.parametrize(("tags", "category", "disallowed"), [
    ({}, "everything", date(2036, 1, 1)),
    ({"cnsa-category": "software-signing"}, "software-signing", date(2031, 1, 1)),
    ({"cnsa-category": "browsers-servers-cloud"}, "browsers-servers-cloud", date(2034, 1, 1)),
])
def test_cnsa_2_0_dates_follow_the_category_tag(tags: dict[str, str], category: str,
                                                disallowed: date) -> None:
    verdict = verdict_for_key(key("RSA", 3072, tags=tags), policy(pq_roadmap="cnsa-2.0"))
    assert (verdict.category, verdict.disallowed) == (category, disallowed)


def test_cnsa_2_0_default_category_and_aes_128() -> None:
    chosen = policy(pq_roadmap="cnsa-2.0", pq_cnsa_category="networking")
    assert verdict_for_key(key("EC", 256), chosen).disallowed == date(2031, 1, 1)
    aes128 = verdict_for_key(key("AES", 128, kind="secret-key"), chosen)
    assert aes128.status is PqStatus.VULNERABLE
    assert "256-bit" in aes128.note


def test_unknown_cnsa_category_cannot_be_judged() -> None:
    entry = evidence_entry(key("RSA", 3072, tags={"cnsa-category": "toasters"}),
                           policy(pq_roadmap="cnsa-2.0"), date(2026, 1, 1))
    assert entry["status"] == "unknown"
    assert "toasters" in entry["error"]


def test_bsi_tr_02102_ends_classical_key_agreement_after_2031() -> None:
    verdict = verdict_for_key(key("X25519", 256), policy(pq_roadmap="bsi-tr-02102"))
    assert (verdict.deprecated, verdict.disallowed) == (date(2026, 1, 1), date(2032, 1, 1))
    assert verdict.purpose is Purpose.ENCRYPTION
    assert verdict.replacement == "ML-KEM-768 hybrid"


@pytest.mark.parametrize(("tier", "disallowed"), [
    ("critical", date(2031, 1, 1)), ("high", date(2031, 1, 1)),
    ("medium", date(2036, 1, 1)), ("low", date(2036, 1, 1)),
])
def test_eu_roadmap_dates_follow_the_risk_tier(tier: str, disallowed: date) -> None:
    verdict = verdict_for_key(key("RSA", 4096, tier=tier), policy(pq_roadmap="eu-roadmap"))
    assert verdict.disallowed == disallowed


def test_pinned_dates_replace_the_roadmaps() -> None:
    pinned = policy(pq_pinned_dates={"disallowed": "2029-07-01"})
    verdict = verdict_for_key(key("RSA", 2048), pinned)
    assert (verdict.deprecated, verdict.disallowed) == (date(2031, 1, 1), date(2029, 7, 1))


def test_unknown_roadmap_is_named() -> None:
    entry = evidence_entry(key("RSA", 2048), policy(pq_roadmap="nist-2099"), date(2026, 1, 1))
    assert entry["status"] == "unknown"
    assert "nist-2099" in entry["error"] and "cnsa-2.0" in entry["error"]


def test_pq_settings_are_typed() -> None:
    with pytest.raises(PolicyError):
        policy(pq_data_shelf_life_years={"critical": "ten"})
    with pytest.raises(PolicyError):
        policy(pq_pinned_dates={"retired": "2030-01-01"})


@pytest.mark.parametrize(("usage", "kind", "purpose"), [
    (("SIGN", "VERIFY"), "private-key", Purpose.SIGNING),
    (("ENCRYPT", "DECRYPT"), "private-key", Purpose.ENCRYPTION),
    ((), "private-key", Purpose.ENCRYPTION),  # unknown use: the stricter judgement
    ((), "certificate", Purpose.SIGNING),
])
def test_purpose_from_usage(usage: tuple[str, ...], kind: str, purpose: Purpose) -> None:
    assert verdict_for_key(key("RSA", 3072, kind=kind, usage=usage), policy()).purpose is purpose


def test_mosca_horizon_subtracts_migration_and_shelf_life() -> None:
    chosen = policy()
    encryption = verdict_for_key(key("RSA", 3072, usage=("ENCRYPT",)), chosen)
    # critical: 10 years of shelf life + 3 of migration before 2036-01-01.
    assert last_safe_date(encryption, RiskTier.CRITICAL, chosen, None) == date(2023, 1, 1)
    assert last_safe_date(encryption, RiskTier.LOW, chosen, None) == date(2032, 1, 1)
    signing = verdict_for_key(key("EC", 256, usage=("SIGN",)), chosen)
    assert last_safe_date(signing, RiskTier.CRITICAL, chosen, None) == date(2033, 1, 1)
    assert last_safe_date(signing, RiskTier.CRITICAL, chosen, date(2030, 1, 1)) is None


def test_key_without_algorithm_cannot_be_judged() -> None:
    record = KeyRecord(uid="test:x", system="s", provider="test", kind=KeyKind.SECRET_KEY,
                       risk_tier="low", owner="CSC")
    assert "algorithm not reported" in evidence_entry(record, policy(), date(2026, 1, 1))["error"]
