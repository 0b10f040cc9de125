"""CEK-21 Key Inventory Management: every configured system and key was read and classified."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.model import is_valid_owner
from pytest_cryptoaudit.references import ISO27001_A824, SP800_57, ccm

if TYPE_CHECKING:
    from pytest_cryptoaudit.model import DiscoveryError, KeyRecord

pytestmark = pytest.mark.ssrm("CSC")


@pytest.mark.control(
    "CEK-21",
    check="discovery-complete",
    references=[ccm("CEK-09"), SP800_57],
    remediation="Give the auditing identity read access to the system, or fix the file, so "
                "that the inventory is complete.",
)
def test_discovery_complete(crypto_discovery_error: DiscoveryError) -> None:
    """Every configured system and key could be read (the fixture errors with the reason)."""
    pytest.fail(f"discovery error not raised for {crypto_discovery_error.uid}")


@pytest.mark.control(
    "CEK-21",
    check="classified",
    references=[ISO27001_A824],
    remediation="Fix the system's `risk_tier` / `ssrm_owner`, or the key's override tags "
                "(`cryptoaudit:risk-tier`: low, medium, high, critical; "
                "`cryptoaudit:ssrm-owner`: CSP, CSC, MP, OSP, AP, AIC or a shared pair).",
)
def test_classified(crypto_key: KeyRecord) -> None:
    """The key has a valid risk tier and SSRM owner (from its system or its override tags)."""
    invalid = [crypto_key.unreadable[field] for field in ("risk_tier", "ssrm_owner")
               if field in crypto_key.unreadable]
    assert not invalid, "; ".join(invalid)
    assert is_valid_owner(crypto_key.owner), f"{crypto_key.owner!r} is not an SSRM owner"


@pytest.mark.control(
    "CEK-21",
    check="has-owner",
    references=[SP800_57, ISO27001_A824],
    remediation="Tag the key with the team or person that answers for it (`owner` tag, or the "
                "name set in `[tags] accountable_owner`), or set `accountable_owner` on its "
                "system.",
)
def test_has_owner(crypto_key: KeyRecord) -> None:
    """The key has an accountable owner: its owner tag, else its system's accountable_owner."""
    assert crypto_key.accountable_owner, (
        f"nobody answers for this key: no owner tag, and system {crypto_key.system!r} sets no "
        "accountable_owner"
    )
