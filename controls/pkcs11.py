"""PKCS#11 tokens: CEK-10 key generation and protection, CEK-11 purpose, CEK-17 deactivation.

CEK-04 needs nothing token-specific here: the provider reports algorithm and size the
normalized way, so ``key-strength`` and ``algorithm-allowed`` (controls/algorithms.py) audit
every token object, DES and DES3 included. Secret and private keys also carry managed-key
facts (customer-managed, origin from CKA_LOCAL, protection from the slot), so the generic
managed-key checks (controls/managed_keys.py: ``kms-key-origin``, ``kms-protection-level``,
``kms-customer-managed`` ...) judge them too. What stays here is PKCS#11's own: sensitivity,
extractability, login (CKA_PRIVATE), the usage attributes and the end date. Thresholds per
tier come from the ``pkcs11_require_*`` policy settings and ``allow_mixed_key_usage``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.references import (
    ISO27001_A824,
    PCI_DSS_3_6,
    PKCS11,
    SP800_57,
    SP800_57_KEY_USAGE,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_cryptoaudit.clock import Clock
    from pytest_cryptoaudit.model import KeyRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

#: The purposes of SP 800-57 5.2, by the PKCS#11 usage attributes that serve each.
PURPOSES = {
    "encryption": {"encrypt", "decrypt"},
    "signature": {"sign", "verify", "sign_recover", "verify_recover"},
    "key wrapping": {"wrap", "unwrap"},
    "key derivation": {"derive"},
}


def _token_secret(key: KeyRecord) -> bool:
    return key.provider == "pkcs11" and key.kind in ("secret-key", "private-key")


def _token_key(key: KeyRecord) -> bool:
    return key.provider == "pkcs11"


def _with_end_date(key: KeyRecord) -> bool:
    return key.provider == "pkcs11" and (key.expires is not None or "expires" in key.unreadable)


def _flag(key: KeyRecord, name: str) -> bool:
    """A boolean attribute the policy needs; unreadable means the check cannot look."""
    value = key.attributes.get(name)
    if value is None:
        reason = key.unreadable.get(name, "not reported by the provider")
        raise CryptoAuditError(f"cannot audit {key.uid}: {name}: {reason}")
    return bool(value)


def _required(policy: Policy, name: str, key: KeyRecord) -> bool:
    return bool(policy.for_tier(name, key.risk_tier))


@pytest.mark.control(
    "CEK-10",
    check="sensitive",
    references=[PKCS11, SP800_57, PCI_DSS_3_6],
    remediation="Generate a replacement key with CKA_SENSITIVE true on the token, move its "
                "users to it and destroy this key; its value may have been read in the clear.",
    applies_to=_token_secret,
    requires=["sensitive"],
)
def test_sensitive(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """A secret or private key on a token is sensitive, and has always been where required."""
    problems = []
    if _required(crypto_policy, "pkcs11_require_sensitive", crypto_key) \
            and not _flag(crypto_key, "sensitive"):
        problems.append("CKA_SENSITIVE is false: the key value can be read in the clear")
    if _required(crypto_policy, "pkcs11_require_always_sensitive", crypto_key) \
            and not _flag(crypto_key, "always_sensitive"):
        problems.append("CKA_ALWAYS_SENSITIVE is false: the key value was readable once")
    assert not problems, "; ".join(problems)


@pytest.mark.control(
    "CEK-10",
    check="never-extractable",
    references=[PKCS11, SP800_57, PCI_DSS_3_6],
    remediation="Generate a replacement key on the token with CKA_EXTRACTABLE false, move its "
                "users to it and destroy this key (extractability cannot be undone).",
    applies_to=_token_secret,
    requires=["extractable"],
)
def test_never_extractable(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """A secret or private key has never been extractable from the token, where required."""
    extractable = _flag(crypto_key, "extractable")
    if not _required(crypto_policy, "pkcs11_require_never_extractable", crypto_key):
        if extractable:
            crypto_note(f"extractable (allowed by policy at tier {crypto_key.risk_tier.value})")
        return
    problems = []
    if extractable:
        problems.append("CKA_EXTRACTABLE is true: the key can be wrapped off the token")
    if not _flag(crypto_key, "never_extractable"):
        problems.append("CKA_NEVER_EXTRACTABLE is false: the key was extractable once")
    assert not problems, "; ".join(problems)


# Not retired for the generic kms-key-origin, which judges the same fact (managed.origin is
# imported where CKA_LOCAL is false): by default that check allows imported material up to
# tier high (managed_key_allowed_origins), while pkcs11_require_generated_on_token requires
# keys generated on the token from tier high. Retiring this check would drop the finding
# of an imported high-tier key; at tier critical both checks report it.
@pytest.mark.control(
    "CEK-10",
    check="generated-on-token",
    references=[PKCS11, "NIST SP 800-133 Rev 2", ISO27001_A824],
    remediation="Generate the key inside the token (C_GenerateKey / C_GenerateKeyPair) "
                "instead of importing key material made elsewhere.",
    applies_to=_token_secret,
    requires=["local"],
)
def test_generated_on_token(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """A secret or private key was generated on the token (CKA_LOCAL), where required."""
    local = _flag(crypto_key, "local")
    if not _required(crypto_policy, "pkcs11_require_generated_on_token", crypto_key):
        if not local:
            crypto_note(f"imported (allowed by policy at tier {crypto_key.risk_tier.value})")
        return
    assert local, "CKA_LOCAL is false: the key was imported or unwrapped, not generated on " \
                  "the token, so copies of its value may exist elsewhere"


@pytest.mark.control(
    "CEK-10",
    check="login-required",
    references=[PKCS11, SP800_57, PCI_DSS_3_6],
    remediation="Set CKA_PRIVATE true on the key (or replace it with a key created private), "
                "so that only a session logged in with the user PIN can use it.",
    applies_to=_token_secret,
    requires=["private"],
)
def test_login_required(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """A secret or private key that allows any use is a private object: only a session
    logged in with the PIN can use it (a public session sees and uses public objects)."""
    if _flag(crypto_key, "private"):
        return
    usage = ", ".join(sorted(crypto_key.usage))
    if not usage:
        crypto_note("CKA_PRIVATE is false, but no usage attribute is true: the key cannot be "
                    "used")
        return
    if not _required(crypto_policy, "pkcs11_require_login", crypto_key):
        crypto_note(f"CKA_PRIVATE is false (allowed by policy at tier "
                    f"{crypto_key.risk_tier.value})")
        return
    raise AssertionError(
        f"CKA_PRIVATE is false: any session on the token can use the key without the PIN "
        f"({usage})")


@pytest.mark.control(
    "CEK-11",
    check="single-purpose-usage",
    references=[SP800_57_KEY_USAGE, PKCS11, ISO27001_A824],
    remediation="Use one key per purpose: clear the usage attributes of the other purposes "
                "(or generate separate keys for encryption, signing, wrapping, derivation).",
    applies_to=_token_key,
)
def test_single_purpose_usage(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """A token key's usage attributes allow one purpose: encryption, signature, key
    wrapping or key derivation."""
    usage = set(crypto_key.usage)
    purposes = sorted(p for p, flags in PURPOSES.items() if usage & flags)
    if len(purposes) > 1 and crypto_policy.for_tier("allow_mixed_key_usage",
                                                    crypto_key.risk_tier):
        crypto_note(f"several purposes ({', '.join(purposes)}) allowed by policy at tier "
                    f"{crypto_key.risk_tier.value}")
        return
    assert len(purposes) <= 1, (
        f"usage attributes allow {len(purposes)} purposes ({', '.join(purposes)}): "
        f"{', '.join(sorted(usage))}"
    )


@pytest.mark.control(
    "CEK-17",
    check="unusable-after-end-date",
    references=[PKCS11, SP800_57],
    remediation="Tokens do not enforce CKA_END_DATE: clear the key's usage attributes "
                "(CKA_ENCRYPT, CKA_SIGN, CKA_WRAP ...) or destroy it once it is past its end date.",
    applies_to=_with_end_date,
)
def test_unusable_after_end_date(crypto_key: KeyRecord, crypto_clock: Clock) -> None:
    """A token key past its end date (CKA_END_DATE) can no longer be used for anything."""
    if crypto_key.expires is None:
        pytest.skip(f"end date unknown: {crypto_key.unreadable['expires']}")
    if not crypto_clock.reached(crypto_key.expires):
        return
    assert not crypto_key.usage, (
        f"past its end date {crypto_key.attributes.get('end_date')} but still usable for "
        f"{', '.join(crypto_key.usage)}"
    )
