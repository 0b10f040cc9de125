"""CEK-11 Key Purpose: one purpose per key; CA keys only sign certificates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.facts import required
from pytest_cryptoaudit.references import ISO27001_A824, RFC5280, SP800_57

if TYPE_CHECKING:
    from pytest_cryptoaudit.model import KeyRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

SIGNING = {"digital_signature", "content_commitment"}
ENCIPHERMENT = {"key_encipherment", "data_encipherment"}
LEAF_USES = {"serverAuth", "clientAuth", "codeSigning", "emailProtection"}


def _leaf_certificate(key: KeyRecord) -> bool:
    return key.kind == "certificate" and key.certificate is not None and not key.certificate.is_ca


def _ca_certificate(key: KeyRecord) -> bool:
    return key.kind == "certificate" and key.certificate is not None and key.certificate.is_ca


@pytest.mark.control(
    "CEK-11",
    check="single-purpose",
    references=["NIST SP 800-57 Part 1 Rev 5, 5.2", ISO27001_A824],
    remediation="Issue separate certificates (and keys) for signing and for encipherment.",
    applies_to=_leaf_certificate,
    requires=["certificate"],
)
def test_single_purpose(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """A certificate's key usage does not mix signing with encipherment, unless allowed."""
    usage = set(required(crypto_key.uid, "certificate", crypto_key.certificate).key_usage)
    if crypto_policy.for_tier("allow_mixed_key_usage", crypto_key.risk_tier):
        return
    mixed = usage & SIGNING and usage & ENCIPHERMENT
    assert not mixed, (
        f"key usage mixes signing and encipherment: {', '.join(sorted(usage))}"
    )


@pytest.mark.control(
    "CEK-11",
    check="ca-not-leaf",
    references=[RFC5280, SP800_57],
    remediation="Use the CA key only to sign certificates and CRLs; issue a leaf for the service.",
    applies_to=_ca_certificate,
    requires=["certificate"],
)
def test_ca_not_leaf(crypto_key: KeyRecord) -> None:
    """A CA certificate is not used as an end-entity (server, client or signing) certificate."""
    info = required(crypto_key.uid, "certificate", crypto_key.certificate)
    leaf_uses = LEAF_USES & set(info.extended_key_usage)
    assert not leaf_uses, f"CA certificate carries end-entity uses: {', '.join(sorted(leaf_uses))}"
    assert crypto_key.attributes.get("chain_position") != 0, (
        "CA certificate presented as the leaf of a chain"
    )
