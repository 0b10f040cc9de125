"""CEK-10 Key Generation and storage: private keys at rest in files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.references import ISO27001_A824, PCI_DSS_3_6, SP800_57

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_cryptoaudit.model import KeyRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

PRIVATE_FILE = {"provider": "files", "kind": "private-key"}


@pytest.mark.control(
    "CEK-10",
    check="private-key-encrypted",
    references=[SP800_57, ISO27001_A824, PCI_DSS_3_6],
    remediation="Store the private key encrypted (PKCS#8 with a passphrase) or move it into "
                "an HSM or KMS.",
    applies_to=PRIVATE_FILE,
    requires=["encrypted"],
)
def test_private_key_encrypted(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """A private key file is encrypted where the tier requires it."""
    if crypto_key.attributes["encrypted"]:
        return
    allowed = crypto_policy.for_tier("allow_unencrypted_private_key_files", crypto_key.risk_tier)
    assert allowed, (
        f"private key stored unencrypted in {crypto_key.attributes['path']}; tier "
        f"{crypto_key.risk_tier.value} requires encryption at rest"
    )
    crypto_note(f"stored unencrypted (allowed by policy at tier {crypto_key.risk_tier.value})")


@pytest.mark.control(
    "CEK-10",
    check="private-key-permissions",
    references=[ISO27001_A824, PCI_DSS_3_6],
    remediation="chmod 600 the key file (or 640 where policy allows group read).",
    applies_to=PRIVATE_FILE,
    requires=["file_mode"],
)
def test_private_key_permissions(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """A private key file is not readable by others (nor by its group, unless allowed)."""
    mode = int(crypto_key.attributes["file_mode"], 8)
    group_ok = crypto_policy.for_tier("allow_private_key_group_readable", crypto_key.risk_tier)
    forbidden = 0o037 if group_ok else 0o077
    assert not mode & forbidden, (
        f"mode {crypto_key.attributes['file_mode']} lets "
        f"{'others' if mode & 0o007 else 'its group'} access "
        f"{crypto_key.attributes['path']} (owner {crypto_key.attributes.get('file_owner')})"
    )
