"""CEK-03 Data encryption in transit: what TLS endpoints accept and whom they prove to be.

The endpoint controls read what the provider recorded (accepted versions, suites, groups,
Mozilla profile deviations) and ask the policy what the endpoint's tier allows. The
certificates an endpoint presents are ordinary certificate records: the CEK-04, CEK-11,
CEK-12, CEK-15 and CEK-17 certificate controls audit them as they audit files; only chain
validation, which needs a peer and a trust store, is added here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.references import (
    ISO27001_A824,
    MOZILLA_TLS,
    PCI_DSS_4_2_1,
    RFC5280_PATH_VALIDATION,
    RFC8996,
    SP800_52,
    SP800_131A,
)
from pytest_cryptoaudit.tlsinfo import (
    PROTOCOLS,
    SUITE_CLASSES,
    group_bits,
    has_forward_secrecy,
    suite_classes,
)
from pytest_cryptoaudit.tlsprofile import Deviation, describe, judge_all

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from pytest_cryptoaudit.model import EndpointRecord, KeyRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

TLS = {"protocol": "tls"}
MOZILLA_PROFILES = ("modern", "intermediate", "old")
SHOWN = 4


def _accepted_suites(endpoint: EndpointRecord) -> list[str]:
    suites = endpoint.attributes["cipher_suites"]
    return sorted({suite for version in suites for suite in suites[version]})


def _some(names: Iterable[str], shown: int = SHOWN) -> str:
    names = sorted(names)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _read(endpoint: EndpointRecord, name: str) -> Any:
    """An attribute the check needs but cannot declare in ``requires`` (its need depends
    on the policy); missing or unreadable is an error, never a pass."""
    if name in endpoint.unreadable:
        raise CryptoAuditError(
            f"cannot audit {endpoint.uid}: {name}: {endpoint.unreadable[name]}")
    if endpoint.attributes.get(name) is None:
        raise CryptoAuditError(f"cannot audit {endpoint.uid}: {name}: not reported by the provider")
    return endpoint.attributes[name]


@pytest.mark.control(
    "CEK-03",
    check="tls-protocol-versions",
    references=[RFC8996, SP800_52, PCI_DSS_4_2_1],
    remediation="Disable SSL 2.0/3.0, TLS 1.0 and TLS 1.1 on the endpoint; accept TLS 1.2 "
                "and 1.3 only.",
    applies_to=TLS,
    requires=["protocols"],
)
def test_tls_protocol_versions(crypto_endpoint: EndpointRecord, crypto_policy: Policy) -> None:
    """The endpoint accepts no protocol version that the policy disallows for its tier."""
    tier = crypto_endpoint.risk_tier
    disallowed = set(crypto_policy.for_tier("tls_disallowed_protocols", tier))
    accepted = [p for p in PROTOCOLS if p in crypto_endpoint.attributes["protocols"]]
    offending = [p for p in accepted if p in disallowed]
    assert not offending, (
        f"accepts {', '.join(offending)} (disallowed at tier {tier.value}); "
        f"accepted versions: {', '.join(accepted)}"
    )


@pytest.mark.control(
    "CEK-03",
    check="tls-cipher-suites",
    references=[SP800_52, SP800_131A, "RFC 7465"],
    remediation="Remove NULL, anonymous, export, RC4, RC2, (3)DES and IDEA suites (and CBC "
                "suites with a SHA-1 MAC at high tiers); prefer ECDHE with AES-GCM or "
                "ChaCha20-Poly1305.",
    applies_to=TLS,
    requires=["cipher_suites"],
)
def test_tls_cipher_suites(crypto_endpoint: EndpointRecord, crypto_policy: Policy) -> None:
    """The endpoint accepts no cipher suite of a class the policy disallows for its tier."""
    tier = crypto_endpoint.risk_tier
    disallowed = set(crypto_policy.for_tier("tls_disallowed_suite_classes", tier))
    offending: dict[str, set[str]] = defaultdict(set)
    for suite in _accepted_suites(crypto_endpoint):
        for weak_class in suite_classes(suite):
            if weak_class in disallowed:
                offending[weak_class].add(suite)
    assert not offending, (
        f"accepts suites disallowed at tier {tier.value}: "
        + "; ".join(f"{c} ({len(offending[c])}): {_some(offending[c])}"
                    for c in SUITE_CLASSES if c in offending)
    )


@pytest.mark.control(
    "CEK-03",
    check="tls-forward-secrecy",
    references=[SP800_52],
    remediation="Accept only ephemeral (EC)DHE key exchange (every TLS 1.3 suite has it); "
                "remove static RSA and static (EC)DH suites.",
    applies_to=TLS,
    requires=["cipher_suites"],
)
def test_tls_forward_secrecy(crypto_endpoint: EndpointRecord, crypto_policy: Policy) -> None:
    """Every suite the endpoint accepts has forward secrecy, where the policy requires it."""
    tier = crypto_endpoint.risk_tier
    if not crypto_policy.for_tier("tls_require_forward_secrecy", tier):
        pytest.skip(f"forward secrecy not required by policy at tier {tier.value}")
    static = [s for s in _accepted_suites(crypto_endpoint) if not has_forward_secrecy(s)]
    assert not static, (
        f"{len(static)} accepted suites have no forward secrecy (static key exchange): "
        f"{_some(static)}"
    )


@pytest.mark.control(
    "CEK-03",
    check="tls-mozilla-profile",
    references=[MOZILLA_TLS, SP800_52],
    remediation="Configure the endpoint from the Mozilla SSL configuration generator for "
                "the profile the policy names (ssl-config.mozilla.org).",
    applies_to=TLS,
    # read, not required: whether it needs the profile depends on the policy for the tier
    reads=["mozilla_profile_issues"],
)
def test_tls_mozilla_profile(
    crypto_endpoint: EndpointRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """The endpoint offers nothing weaker than the Mozilla server-side TLS profile the policy
    names for its tier (offering more strength, such as X448 or a post-quantum group, is a
    note, not a finding)."""
    tier = crypto_endpoint.risk_tier
    profile = crypto_policy.for_tier("tls_mozilla_profile", tier)
    if profile == "none":
        pytest.skip(f"no Mozilla profile required by policy at tier {tier.value}")
    if profile not in MOZILLA_PROFILES:
        raise ValueError(f"policy tls_mozilla_profile: unknown profile {profile!r} "
                         f"(expected one of {', '.join(MOZILLA_PROFILES)} or none)")
    deviations = judge_all(_read(crypto_endpoint, "mozilla_profile_issues")[profile])
    stronger = [d for d in deviations if not d.weaker]
    if stronger:
        crypto_note(f"beyond the Mozilla {profile} profile, nothing weaker: {describe(stronger)}")
    weaker = [d for d in deviations if d.weaker]
    assert not weaker, (
        f"{len(weaker)} deviations from the Mozilla {profile} profile allow weaker options: "
        + "; ".join(_deviation(d) for d in weaker)
    )


def _deviation(deviation: Deviation) -> str:
    text = f"{deviation.name}: {_shorten(deviation.text)}"
    return text if deviation.why == deviation.text else f"{text} ({deviation.why})"


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "..."


@pytest.mark.control(
    "CEK-04",
    check="tls-key-exchange-strength",
    references=[SP800_131A, SP800_52],
    remediation="Offer only ECDHE groups of at least the policy's curve size (X25519, P-256, "
                "P-384) and finite-field DHE groups of at least its modulus size "
                "(ffdhe2048 or larger).",
    applies_to=TLS,
    requires=["key_exchange_groups"],
)
def test_tls_key_exchange_strength(crypto_endpoint: EndpointRecord, crypto_policy: Policy) -> None:
    """Every key exchange group the endpoint accepts is as strong as the policy requires."""
    tier = crypto_endpoint.risk_tier
    weak = []
    for group in crypto_endpoint.attributes["key_exchange_groups"]:
        setting = "min_rsa_bits" if group["type"] == "DH" else "min_ec_bits"
        minimum = crypto_policy.for_tier(setting, tier)
        size = group["size"] or group_bits(group["name"])
        if size is None:
            raise CryptoAuditError(f"key exchange group {group['name']}: size unknown")
        if size < minimum:
            weak.append(f"{group['name']} ({size} < {minimum} bits)")
    assert not weak, f"accepts weak key exchange groups at tier {tier.value}: {', '.join(weak)}"


def _validated_leaf(key: KeyRecord) -> bool:
    return key.kind == "certificate" and (
        "validated" in key.attributes or "validated" in key.unreadable)


@pytest.mark.control(
    "CEK-03",
    check="certificate-chain-validates",
    references=[RFC5280_PATH_VALIDATION, SP800_52, ISO27001_A824],
    remediation="Serve a chain that leads to the configured trust anchor, with a leaf that "
                "names the host and meets the verifier's policy (key size, validity).",
    applies_to=_validated_leaf,
    requires=["validated"],
)
def test_certificate_chain_validates(crypto_key: KeyRecord) -> None:
    """The chain presented with this leaf validates against the configured trust store."""
    facts = crypto_key.attributes
    assert facts["validated"], (
        f"chain does not validate against {facts.get('trust_store')} for "
        f"{facts.get('validated_for')}: {facts.get('validation_error')}"
    )
