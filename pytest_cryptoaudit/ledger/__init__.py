"""The audit ledger (CEK-09): one hash-chained record per audited system per run, the
security events and material changes that make a system due, and the corrective actions
that follow findings up.

Public entry points: :func:`open_ledger`, :class:`LedgerHistory`,
:func:`findings_diff` (new and resolved findings since the previous complete run).
"""

from __future__ import annotations

import importlib
from typing import Any

#: The name the ledger's plugin object is registered under.
LEDGER_PLUGIN = "cryptoaudit-ledger"

_EXPORTS = {
    "open_ledger": "store",
    "LedgerStore": "store",
    "LedgerError": "store",
    "Draft": "chain",
    "Entry": "chain",
    "verify": "chain",
    "LedgerHistory": "history",
    "findings_diff": "findings",
    "findings_diff_for": "findings",
    "FindingsDiff": "findings",
}

__all__ = sorted([*_EXPORTS, "LEDGER_PLUGIN"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
