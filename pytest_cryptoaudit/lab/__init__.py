"""Real local stand-ins for KMS, Vault, HSM and TLS, for the tests and `cryptoaudit lab`."""

from __future__ import annotations

import datetime as dt
from typing import Any


def reviewed_policy() -> dict[str, Any]:
    """The review record of the lab's crypto policy (CEK-09 guideline 10): recent, versioned."""
    return {"version": "2026.4", "reviewed_on": dt.date.today() - dt.timedelta(days=45),
            "reviewed_by": "Security and Compliance"}
