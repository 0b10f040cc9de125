"""CEK-21 Key Inventory Management: every configured system and key was read and classified."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.model import is_valid_owner
from pytest_cryptoaudit.references import ISO27001_A824, SP800_57, ccm

pytestmark = pytest.mark.ssrm("CSC")


@pytest.mark.control(
    "CEK-21",
    check="discovery-complete",
    references=[ccm("CEK-09"), SP800_57],
    remediation="Give the auditing identity read access to the system, or fix the file, so "
                "that the inventory is complete.",
)
def test_discovery_complete(crypto_discovery_error):
    """Every configured system and key could be read (the fixture errors with the reason)."""
    pytest.fail(f"discovery error not raised for {crypto_discovery_error.uid}")


@pytest.mark.control(
    "CEK-21",
    check="classified",
    references=[ISO27001_A824],
    remediation="Tag the key with a valid `risk-tier` (low, medium, high, critical) and an "
                "SSRM `owner`, or fix the system's configuration.",
)
def test_classified(crypto_key):
    """The key has a valid risk tier and SSRM owner (from its system or its tags)."""
    assert "risk_tier" not in crypto_key.unreadable, crypto_key.unreadable.get("risk_tier")
    assert is_valid_owner(crypto_key.owner), f"owner {crypto_key.owner!r} is not an SSRM owner"
