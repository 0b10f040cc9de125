"""CEK-04 pq-readiness over real key files with a frozen clock: it fails on time, not on
principle, under each roadmap, and on the protection horizon where a tier opts in."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec

from tests import factories

CONFIG = """
[[systems]]
name = "estate"
provider = "files"
risk_tier = "{tier}"
ssrm_owner = "CSC"
accountable_owner = "crypto-team"
paths = ["keys"]

[policy]
{policy}
"""
RSA = "files:keys/rsa-2048.pem"
EC = "files:keys/ec-384.pem"
CERT = "files:keys/leaf.pem"


@pytest.fixture
def estate(pytester: pytest.Pytester) -> pytest.Pytester:
    factories.write(pytester.path / "keys/rsa-2048.pem",
                    factories.private_pem(factories.rsa_key(2048)))
    factories.write(pytester.path / "keys/ec-384.pem", factories.private_pem(
        factories.ec_key(ec.SECP384R1())))
    factories.write(pytester.path / "keys/leaf.pem", factories.cert_pem(
        factories.certificate(factories.ec_key(), days_valid=90)))
    return pytester


def audit(pytester: pytest.Pytester, today: dt.date, policy: str = "",
          tier: str = "high") -> dict[tuple[str, str], dict[str, Any]]:
    (pytester.path / "cryptoaudit.toml").write_text(CONFIG.format(tier=tier, policy=policy))
    moment = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    with time_machine.travel(moment, tick=False):
        pytester.runpytest("--cryptoaudit", "--cryptoaudit-control", "CEK-04",
                           "--cryptoaudit-json", "evidence.json", "--cryptoaudit-no-ledger")
    evidence = json.loads((pytester.path / "evidence.json").read_text())
    return {(r["key_uid"], r["check"]): r for r in evidence["results"]
            if r["check"] == "pq-readiness"}


def test_passes_with_dates_and_days_left_before_the_disallowed_date(
        estate: pytest.Pytester) -> None:
    results = audit(estate, dt.date(2035, 12, 31))
    rsa = results[(RSA, "pq-readiness")]
    assert rsa["outcome"] == "passed"
    assert rsa["notes"] == [
        "RSA is quantum-vulnerable (encryption): deprecated from 2031-01-01, disallowed from "
        "2036-01-01 under nist-ir-8547 (112); 1 day left; plan ML-KEM-768 hybrid"]
    assert results[(EC, "pq-readiness")]["outcome"] == "passed"
    assert "no deprecation step" in results[(EC, "pq-readiness")]["notes"][0]


def test_fails_once_the_disallowed_date_has_passed(estate: pytest.Pytester) -> None:
    results = audit(estate, dt.date(2036, 1, 1))
    assert {uid: r["outcome"] for (uid, _), r in results.items()} == {
        RSA: "failed", EC: "failed", CERT: "failed"}
    assert "disallowed from 2036-01-01" in results[(RSA, "pq-readiness")]["message"]
    assert "0 days left" in results[(RSA, "pq-readiness")]["message"]
    assert "plan ML-DSA-65" in results[(CERT, "pq-readiness")]["message"]


def test_the_eu_roadmap_dates_a_high_tier_as_high_risk_use(estate: pytest.Pytester) -> None:
    # Each roadmap's date, either side, on the lab's classical keys (a critical tier):
    # tests/pq/test_lab_pq.py. The EU roadmap keys its dates by tier: a high one too is
    # high-risk use, due at the end of 2030.
    policy = 'pq_roadmap = "eu-roadmap"'
    assert audit(estate, dt.date(2030, 12, 31), policy)[(RSA, "pq-readiness")][
        "outcome"] == "passed"
    assert audit(estate, dt.date(2031, 1, 1), policy)[(RSA, "pq-readiness")][
        "outcome"] == "failed"


def test_opt_in_horizon_fails_long_lived_encryption_keys_today(estate: pytest.Pytester) -> None:
    policy = "pq_judge_horizon = {critical = true}"
    results = audit(estate, dt.date(2026, 12, 5), policy, tier="critical")
    rsa = results[(RSA, "pq-readiness")]
    assert rsa["outcome"] == "failed"
    assert "horizon" in rsa["message"] and "2023-01-01" in rsa["message"]
    # A certificate that expires long before 2036 is a signing key within its horizon.
    assert results[(CERT, "pq-readiness")]["outcome"] == "passed"
    # Where the tier does not opt in, the same estate passes today.
    default = audit(estate, dt.date(2026, 12, 5), tier="critical")
    assert default[(RSA, "pq-readiness")]["outcome"] == "passed"


def test_an_unknown_roadmap_is_an_error_naming_the_key(estate: pytest.Pytester) -> None:
    results = audit(estate, dt.date(2026, 12, 5), 'pq_roadmap = "nist-2099"')
    rsa = results[(RSA, "pq-readiness")]
    assert rsa["outcome"] == "error"
    assert RSA in rsa["message"] and "nist-2099" in rsa["message"]
