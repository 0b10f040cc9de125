"""Controls of our own: they use the plugin's fixtures and markers and join the audit."""

from __future__ import annotations

import pytest


@pytest.mark.control(
    "ORG-01", "Approved curves only",
    check="approved-curve",
    references=["Internal standard CS-3"],
    remediation="Reissue the key on an approved curve.",
    applies_to={"algorithm": "EC"},
    requires=["curve"],
)
@pytest.mark.ssrm("CSC")
def test_approved_curve(crypto_key, crypto_policy):
    """An EC key uses one of the curves our estate supports."""
    assert crypto_key.curve in crypto_policy["approved_curves"], (
        f"curve {crypto_key.curve} is not approved"
    )


@pytest.mark.control(
    "ORG-02", "Key files have a recognisable name",
    check="file-suffix",
    references=["Internal standard CS-9"],
    remediation="Rename key files to end in .key or .pem.",
    applies_to={"provider": "files"},
    requires=["path"],
)
@pytest.mark.risk_tier("high")
@pytest.mark.ssrm("CSC")
def test_file_suffix(crypto_key):
    """Uses a provider-specific attribute: the files provider's ``path``."""
    assert crypto_key.attributes["path"].endswith((".key", ".pem")), (
        f"{crypto_key.attributes['path']} does not end in .key or .pem"
    )
