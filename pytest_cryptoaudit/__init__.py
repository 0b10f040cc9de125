"""pytest-cryptoaudit: cryptographic controls (CSA CCM/AICM CEK) as pytest test suites.

Public names are imported lazily, so that loading the plugin without ``--cryptoaudit`` costs
nothing beyond option parsing.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CertificateInfo": "model",
    "DiscoveryError": "model",
    "Inventory": "model",
    "KeyKind": "model",
    "KeyRecord": "model",
    "Outcome": "model",
    "RiskTier": "model",
    "SourceLocation": "model",
    "SystemRecord": "model",
    "CryptoAuditError": "errors",
    "Discovery": "providers",
    "DiscoveryContext": "providers",
    "Provider": "providers",
    "ProviderOptions": "providers",
    "PolicySetting": "policy",
}

__all__ = sorted(_EXPORTS)


def version() -> str:
    """The installed distribution's version: pyproject.toml is its one source."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version("pytest-cryptoaudit")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return version()
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pytest_cryptoaudit' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
