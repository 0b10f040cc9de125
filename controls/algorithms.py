"""CEK-04 Encryption Algorithm: algorithms and key strengths allowed by policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.facts import required
from pytest_cryptoaudit.pqoids import PQ_OIDS
from pytest_cryptoaudit.references import ISO27001_A824, SP800_57, SP800_131A

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_cryptoaudit.model import KeyRecord, RiskTier
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

FINITE_FIELD = {"RSA", "DSA", "DH"}
ELLIPTIC = {"EC"}
FIXED_STRENGTH = {"Ed25519", "Ed448", "X25519", "X448"}
#: Signature algorithms that hash internally and so name no separate hash.
HASHLESS = {"ed25519", "ed448",
            *(name.lower() for family, _, name in PQ_OIDS.values() if family != "ML-KEM")}
SYMMETRIC = {"AES", "HMAC", "ChaCha20", "Camellia", "SM4", "DES", "DES3",
             "XSalsa20-Poly1305"}  # secretbox (libsodium, Kubernetes)
#: Post-quantum families, whose size is the security strength of their parameter set.
POST_QUANTUM = {"ML-KEM", "ML-DSA", "SLH-DSA", "LMS", "XMSS"}


def _minimum_bits(algorithm: str, policy: Policy, tier: RiskTier) -> int | None:
    if algorithm in FINITE_FIELD:
        setting = "min_rsa_bits"
    elif algorithm in ELLIPTIC:
        setting = "min_ec_bits"
    elif algorithm in SYMMETRIC:
        setting = "min_symmetric_bits"
    elif algorithm in POST_QUANTUM:
        setting = "min_pq_strength_bits"
    else:
        return None
    minimum: int = policy.for_tier(setting, tier)  # overrides are checked against the int default
    return minimum


@pytest.mark.control(
    "CEK-04",
    check="key-strength",
    references=[SP800_131A, SP800_57, ISO27001_A824],
    remediation="Replace the key with one of at least the policy's size for its tier "
                "(RSA/DSA/DH >= 2048 bits, curves >= 224 bits, symmetric >= 128 bits; "
                "post-quantum: ML-KEM-768 or ML-DSA-65 and above at critical).",
    applies_to=lambda key: key.algorithm is None or key.algorithm not in FIXED_STRENGTH,
    requires=["algorithm", "size"],
)
def test_key_strength(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """The key is at least as strong as the policy requires for its risk tier."""
    algorithm = required(crypto_key.uid, "algorithm", crypto_key.algorithm)
    size = required(crypto_key.uid, "size", crypto_key.size)
    minimum = _minimum_bits(algorithm, crypto_policy, crypto_key.risk_tier)
    if minimum is None:
        pytest.skip(f"no strength rule for algorithm {crypto_key.algorithm}")
    if algorithm in POST_QUANTUM:
        named = crypto_key.attributes.get("parameter_set") or algorithm
        assert size >= minimum, (
            f"{named} gives {size}-bit security strength, below the {minimum}-bit minimum "
            f"for tier {crypto_key.risk_tier.value}")
        return
    assert size >= minimum, (
        f"{crypto_key.algorithm}-{crypto_key.size} is below the {minimum}-bit minimum "
        f"for tier {crypto_key.risk_tier.value}"
    )
    post_2030 = crypto_policy["post_2030_min_rsa_bits"]
    if algorithm in FINITE_FIELD and size < post_2030:
        crypto_note(
            f"{crypto_key.algorithm}-{crypto_key.size} gives 112-bit strength, deprecated "
            f"after 2030 (SP 800-131A Rev 3 draft): plan a move to {post_2030} bits"
        )


@pytest.mark.control(
    "CEK-04",
    check="algorithm-allowed",
    references=[SP800_131A, ISO27001_A824],
    remediation="Migrate data protected by this key to an approved algorithm (AES, RSA, "
                "ECDSA/EdDSA) and retire the key.",
    requires=["algorithm"],
)
def test_algorithm_allowed(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key's algorithm is not on the policy's list of disallowed algorithms."""
    disallowed = {a.upper() for a in crypto_policy["disallowed_algorithms"]}
    algorithm = required(crypto_key.uid, "algorithm", crypto_key.algorithm)
    assert algorithm.upper() not in disallowed, (
        f"algorithm {crypto_key.algorithm} is disallowed by policy"
    )


@pytest.mark.control(
    "CEK-04",
    check="certificate-signature-hash",
    references=[SP800_131A, ISO27001_A824],
    remediation="Reissue the certificate with a SHA-256 (or stronger) signature.",
    applies_to={"kind": "certificate"},
    requires=["certificate"],
)
def test_certificate_signature_hash(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The certificate is not signed with a disallowed hash (MD5, SHA-1)."""
    info = required(crypto_key.uid, "certificate", crypto_key.certificate)
    if info.signature_hash is None and info.signature_algorithm.lower() not in HASHLESS:
        # An algorithm we cannot name is a failure to look, never a pass.
        raise CryptoAuditError(
            f"signature algorithm {info.signature_algorithm!r} not recognised: its hash "
            "cannot be judged"
        )
    disallowed = {h.lower() for h in crypto_policy["disallowed_signature_hashes"]}
    assert (info.signature_hash or "").lower() not in disallowed, (
        f"signed with {info.signature_algorithm}: {info.signature_hash} is disallowed"
    )
