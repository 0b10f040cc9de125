"""An organisation's own control pack: extra policy settings beside the built-in ones."""

from __future__ import annotations

from pytest_cryptoaudit.policy import PolicySetting


def pytest_cryptoaudit_policy_settings():
    """Declare the thresholds our controls use, overridable under [policy] like any other."""
    return [
        PolicySetting(
            "approved_curves", ["secp256r1", "secp384r1"],
            "Elliptic curves our HSM estate supports.", "Internal standard CS-3"),
    ]
