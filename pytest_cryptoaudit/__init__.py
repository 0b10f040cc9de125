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
    "SystemRecord": "model",
    "CryptoAuditError": "errors",
    "Discovery": "providers",
    "DiscoveryContext": "providers",
    "Provider": "providers",
    "ProviderOptions": "providers",
    "PolicySetting": "policy",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pytest_cryptoaudit' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
