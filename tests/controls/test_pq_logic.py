"""The post-quantum pack (``pq.py``) on planted keys and endpoints: the roadmap's disallowed
date, the protection horizon where a tier opts in, the notes of a passing key and the error of
one that cannot be classified. The selection ``scripts/mutation.py`` runs against that
module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import controls.pq as pq
from pytest_cryptoaudit.model import CertificateInfo, EndpointRecord

from .judge import Verdict, controls_of, judge, key, policy, spec_of

DISALLOWED = datetime(2036, 1, 1, tzinfo=UTC)
HORIZON = policy(pq_judge_horizon={"high": True})
RSA_PLAN = ("RSA is quantum-vulnerable (encryption): deprecated from 2031-01-01, disallowed "
            "from 2036-01-01 under nist-ir-8547 (112); {days}; plan ML-KEM-768 hybrid")


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def rsa(**fields: Any) -> Any:
    return key("k", kind="private-key", algorithm="RSA", size=2048, **fields)


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(pq)] == ["pq-readiness", "pq-key-exchange"]


def test_resistant_keys_pass_with_a_note() -> None:
    assert judge(pq.test_pq_readiness, key(algorithm="AES", size=256)) == Verdict(
        "passed", notes=("AES is quantum-resistant",))
    assert judge(pq.test_pq_readiness, key(algorithm="AES", size=128)).notes == (
        "AES is quantum-resistant (Grover's algorithm leaves 64-bit strength)",)


@pytest.mark.parametrize(("now", "outcome", "days"), [
    (at(2035, 12, 31), "passed", "1 day left"), (at(2036), "failed", "0 days left"),
    (at(2036, 1, 2), "failed", "1 day past"), (at(2036, 1, 3), "failed", "2 days past"),
    (at(2030), "passed", "2191 days left"),
])
def test_vulnerable_key_fails_from_its_disallowed_date(now: datetime, outcome: str,
                                                       days: str) -> None:
    verdict = judge(pq.test_pq_readiness, rsa(), crypto_now=now)
    assert verdict.outcome == outcome
    text = RSA_PLAN.format(days=days)
    assert (verdict.message, verdict.notes) == (("", (text,)) if outcome == "passed"
                                                else (text, ()))


def test_unclassified_algorithm_is_an_error() -> None:
    verdict = judge(pq.test_pq_readiness, key("odd", algorithm="FOO"))
    assert verdict == Verdict("error", "CryptoAuditError: cannot judge odd (system app) for "
                                       "post-quantum readiness: algorithm 'FOO' has no "
                                       "post-quantum classification")


def test_unreadable_algorithm_is_an_error() -> None:
    verdict = judge(pq.test_pq_readiness, key(algorithm=None,
                                              unreadable={"algorithm": "AccessDenied"}))
    assert verdict == Verdict("error", "algorithm: AccessDenied")


# -- the protection horizon (Mosca), where the tier opts in --------------------------------

def test_encryption_key_past_its_horizon_fails() -> None:
    # tier high: 3 years of migration and 7 of shelf life before 2036
    verdict = judge(pq.test_pq_readiness, rsa(), crypto_now=at(2026, 1, 2),
                    crypto_policy=HORIZON)
    assert verdict.outcome == "failed"
    assert verdict.message.endswith("; the protection horizon (migration and data shelf life "
                                    "at tier high) ended on 2026-01-01")
    assert verdict.message.startswith("RSA is quantum-vulnerable (encryption): ")


def test_encryption_key_before_its_last_safe_day_passes() -> None:
    verdict = judge(pq.test_pq_readiness, rsa(), crypto_now=at(2025, 6, 1),
                    crypto_policy=HORIZON)
    assert verdict.outcome == "passed"


def test_encryption_key_on_its_last_safe_day_passes() -> None:
    verdict = judge(pq.test_pq_readiness, rsa(), crypto_now=at(2026), crypto_policy=HORIZON)
    assert verdict.outcome == "passed"
    assert verdict.notes == (RSA_PLAN.format(days="3652 days left"),)


def signing_certificate(not_after: datetime) -> Any:
    info = CertificateInfo(subject="CN=a", issuer="CN=a", serial="1", not_before=at(2025),
                           not_after=not_after, signature_algorithm="ecdsa-with-SHA256",
                           signature_hash="sha256", is_ca=False, self_signed=True)
    return key("cert", kind="certificate", algorithm="ECDSA", curve="P-256", size=256,
               certificate=info)


@pytest.mark.parametrize(("record", "now", "outcome"), [
    (key("s", kind="private-key", algorithm="Ed25519"), at(2033, 1, 1), "passed"),
    (key("s", kind="private-key", algorithm="Ed25519"), at(2033, 1, 2), "failed"),
    # expiring before the disallowed date, a signing key stays safe
    (key("s", kind="private-key", algorithm="Ed25519", expires=at(2035, 12, 31)),
     at(2034), "passed"),
    (key("s", kind="private-key", algorithm="Ed25519", expires=at(2036)), at(2034), "failed"),
    (signing_certificate(at(2035, 12, 31)), at(2034), "passed"),
    (signing_certificate(at(2036)), at(2034), "failed"),
])
def test_signing_key_horizon(record: Any, now: datetime, outcome: str) -> None:
    verdict = judge(pq.test_pq_readiness, record, crypto_now=now, crypto_policy=HORIZON)
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message.endswith("ended on 2033-01-01")


def test_the_horizon_is_judged_only_where_the_tier_opts_in() -> None:
    verdict = judge(pq.test_pq_readiness, rsa(tier="medium"), crypto_now=at(2030),
                    crypto_policy=HORIZON)
    assert verdict.outcome == "passed"


# -- key exchange on endpoints ---------------------------------------------------------------

def endpoint(probe: dict[str, Any] | None, **fields: Any) -> EndpointRecord:
    attributes = {} if probe is None else {"pq_key_exchange": probe}
    return EndpointRecord(uid="tls:a", system="app", provider="tls", risk_tier="high",  # type: ignore[arg-type]
                          owner="CSC", address="127.0.0.1:1", attributes=attributes, **fields)


X25519 = ("X25519 is quantum-vulnerable (encryption): no deprecation step, disallowed from "
          "2036-01-01 under nist-ir-8547 (128+); {days}; plan ML-KEM-768 hybrid")


def test_hybrid_group_passes_with_the_groups_accepted() -> None:
    verdict = judge(pq.test_pq_key_exchange, endpoint(
        {"negotiated_group": "X25519MLKEM768", "pq_groups": ["X25519MLKEM768", "MLKEM1024"]}))
    assert verdict == Verdict("passed", notes=(
        "negotiates X25519MLKEM768 (hybrid); post-quantum groups accepted: X25519MLKEM768, "
        "MLKEM1024",))


def test_hybrid_group_without_list_says_none() -> None:
    verdict = judge(pq.test_pq_key_exchange, endpoint({"negotiated_group": "X25519MLKEM768"}))
    assert verdict.notes[0].endswith("post-quantum groups accepted: none")


@pytest.mark.parametrize(("now", "outcome", "days"), [
    (at(2035, 12, 31), "passed", "1 day left"), (at(2036), "failed", "0 days left")])
def test_classical_group_fails_from_its_disallowed_date(now: datetime, outcome: str,
                                                        days: str) -> None:
    verdict = judge(pq.test_pq_key_exchange, endpoint({"negotiated_group": "x25519"}),
                    crypto_now=now)
    text = f"classical-only key exchange (x25519): {X25519.format(days=days)}"
    assert verdict == (Verdict("passed", notes=(text,)) if outcome == "passed"
                       else Verdict("failed", text))


def test_no_group_negotiated_is_classical() -> None:
    verdict = judge(pq.test_pq_key_exchange, endpoint({"negotiated_group": None}),
                    crypto_now=at(2036))
    assert verdict.outcome == "failed"
    assert verdict.message.startswith("classical-only key exchange (no TLS 1.3 group): ECDH ")


def test_unknown_group_is_an_error() -> None:
    verdict = judge(pq.test_pq_key_exchange, endpoint({"negotiated_group": "weird"}))
    assert verdict == Verdict("error", "CryptoAuditError: cannot judge tls:a (system app) key "
                                       "exchange: algorithm 'weird' has no post-quantum "
                                       "classification")


def test_key_exchange_not_probed_is_an_error() -> None:
    verdict = judge(pq.test_pq_key_exchange, endpoint(None))
    assert verdict == Verdict("error", "pq_key_exchange: not reported by the provider")


# -- key-strength of post-quantum keys (their size is the parameter set's security strength) --

@pytest.mark.parametrize(("algorithm", "size", "parameter_set", "tier", "outcome"), [
    ("ML-KEM", 128, "ML-KEM-512", "high", "passed"),
    ("ML-KEM", 128, "ML-KEM-512", "critical", "failed"),
    ("ML-KEM", 192, "ML-KEM-768", "critical", "passed"),
    ("ML-DSA", 128, "ML-DSA-44", "critical", "failed"),
    ("ML-DSA", 256, "ML-DSA-87", "critical", "passed"),
    ("SLH-DSA", 128, "SLH-DSA-SHA2-128s", "low", "passed"),
    ("LMS", 256, "HSS/LMS", "critical", "passed"),
])
def test_key_strength_of_post_quantum_keys(algorithm: str, size: int, parameter_set: str,
                                           tier: str, outcome: str) -> None:
    import controls.algorithms as algorithms

    record = key(kind="public-key", tier=tier, algorithm=algorithm, size=size,
                 attributes={"parameter_set": parameter_set})
    verdict = judge(algorithms.test_key_strength, record)
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message == (f"{parameter_set} gives {size}-bit security strength, below "
                                   f"the 192-bit minimum for tier {tier}")


def test_cnsa_2_0_asks_for_category_5() -> None:
    import controls.algorithms as algorithms

    record = key(kind="public-key", tier="high", algorithm="ML-KEM", size=192)
    verdict = judge(algorithms.test_key_strength, record,
                    crypto_policy=policy(min_pq_strength_bits={"high": 256}))
    assert verdict == Verdict("failed", "ML-KEM gives 192-bit security strength, below the "
                                        "256-bit minimum for tier high")
