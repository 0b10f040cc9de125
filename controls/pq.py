"""CEK-04 Encryption algorithm: post-quantum readiness, judged on time, not on principle.

Every key and certificate gets a verdict (quantum-vulnerable, quantum-resistant or hybrid)
with the dates the policy's roadmap deprecates and disallows it. By default a vulnerable
asset fails only once its disallowed date has passed; before that it passes with a note, so
the check raises no false alarm today. A policy may opt in per tier to judge the protection
horizon instead (Mosca's inequality: harvest now, decrypt later).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.pqverdict import (
    PqStatus,
    PqVerdict,
    last_safe_date,
    verdict_for_group,
    verdict_for_key,
)
from pytest_cryptoaudit.references import (
    BSI_TR_02102_1,
    CNSA_2_0,
    EU_PQC_ROADMAP,
    FIPS_203_204,
    NIST_IR_8547,
)
from pytest_cryptoaudit.text import plural

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_cryptoaudit.clock import Clock
    from pytest_cryptoaudit.model import EndpointRecord, KeyRecord
    from pytest_cryptoaudit.policy import Policy

PQ_REFERENCES = [NIST_IR_8547, CNSA_2_0, BSI_TR_02102_1, EU_PQC_ROADMAP, FIPS_203_204]

pytestmark = pytest.mark.ssrm("CSC")


def _valid_until(crypto_key: KeyRecord) -> date | None:
    if crypto_key.certificate is not None:
        return crypto_key.certificate.not_after.date()
    return crypto_key.expires.date() if crypto_key.expires else None


def _dated(verdict: PqVerdict, today: date) -> str:
    deprecated = (f"deprecated from {verdict.deprecated.isoformat()}" if verdict.deprecated
                  else "no deprecation step")
    return (f"{verdict.algorithm} is {verdict.status.value} ({verdict.purpose.value}): "
            f"{deprecated}, disallowed from {verdict.disallowed} under "
            f"{verdict.roadmap}" + (f" ({verdict.category})" if verdict.category else "")
            + f"; {_days(verdict.days_left(today) or 0)}; plan {verdict.replacement}")


def _days(left: int) -> str:
    return f"{plural(left, 'day')} left" if left >= 0 else f"{plural(-left, 'day')} past"


def _judge_horizon(crypto_key: KeyRecord, verdict: PqVerdict, policy: Policy,
                   clock: Clock) -> None:
    last_safe = last_safe_date(verdict, crypto_key.risk_tier, policy, _valid_until(crypto_key))
    assert last_safe is None or not clock.reached_on(last_safe + timedelta(days=1)), (
        f"{_dated(verdict, clock.today)}; the protection horizon (migration and data shelf "
        f"life at tier {crypto_key.risk_tier.value}) ended on {last_safe}")


@pytest.mark.control(
    "CEK-04",
    check="pq-readiness",
    references=PQ_REFERENCES,
    remediation="Plan the migration before the roadmap's disallowed date: ML-DSA-65 (or a "
                "composite) for signing, ML-KEM-768 hybrid for key establishment, AES-256 "
                "for symmetric encryption.",
    requires=["algorithm"],
)
def test_pq_readiness(crypto_key: KeyRecord, crypto_policy: Policy,
                      crypto_note: Callable[[str], None], crypto_clock: Clock) -> None:
    """The key is quantum-resistant, or its roadmap's disallowed date has not passed
    (or, where the policy opts in for the tier, its protection horizon has not)."""
    try:
        verdict = verdict_for_key(crypto_key, crypto_policy)
    except ValueError as exc:
        raise CryptoAuditError(f"cannot judge {crypto_key.uid} (system {crypto_key.system}) "
                               f"for post-quantum readiness: {exc}") from None
    if verdict.status is not PqStatus.VULNERABLE:
        crypto_note(f"{verdict.algorithm} is {verdict.status.value}"
                    + (f" ({verdict.note})" if verdict.note else ""))
        return
    if crypto_policy.for_tier("pq_judge_horizon", crypto_key.risk_tier):
        _judge_horizon(crypto_key, verdict, crypto_policy, crypto_clock)
    else:
        assert verdict.disallowed is not None \
            and not crypto_clock.reached_on(verdict.disallowed), (
                f"{_dated(verdict, crypto_clock.today)}")
    crypto_note(_dated(verdict, crypto_clock.today))


@pytest.mark.control(
    "CEK-04",
    check="pq-key-exchange",
    references=PQ_REFERENCES,
    remediation="Offer a hybrid post-quantum key exchange on the endpoint before the "
                "roadmap's disallowed date: for TLS X25519MLKEM768 first (OpenSSL 3.5+ does "
                "by default), for SSH mlkem768x25519-sha256 (OpenSSH 9.9+) or "
                "sntrup761x25519-sha512 (OpenSSH 9.0+).",
    # Every endpoint, whatever its protocol: a provider that cannot tell the key exchange
    # makes the check error (fail closed), never skip.
    requires=["pq_key_exchange"],
)
def test_pq_key_exchange(crypto_endpoint: EndpointRecord, crypto_policy: Policy,
                         crypto_note: Callable[[str], None], crypto_clock: Clock) -> None:
    """The endpoint negotiates a hybrid or post-quantum key exchange (a TLS group, an SSH
    kex method) with a client that offers one, or the roadmap's disallowed date for
    classical key exchange has not passed."""
    probe = crypto_endpoint.attributes["pq_key_exchange"]
    group = probe.get("negotiated_group")
    try:
        verdict = verdict_for_group(group, crypto_endpoint.risk_tier, crypto_policy)
    except ValueError as exc:
        raise CryptoAuditError(f"cannot judge {crypto_endpoint.uid} (system "
                               f"{crypto_endpoint.system}) key exchange: {exc}") from None
    accepted = ", ".join(probe.get("pq_groups") or ()) or "none"
    if verdict.status is not PqStatus.VULNERABLE:
        crypto_note(f"negotiates {group} ({verdict.status.value}); post-quantum groups "
                    f"accepted: {accepted}")
        return
    chosen = group or "no TLS 1.3 group"
    message = f"classical-only key exchange ({chosen}): {_dated(verdict, crypto_clock.today)}"
    assert verdict.disallowed is not None \
        and not crypto_clock.reached_on(verdict.disallowed), message
    crypto_note(message)
