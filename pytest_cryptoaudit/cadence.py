"""Audit cadence proportional to risk (CEK-09): the longest interval allowed per risk tier.

Defaults: critical 1 day (and after every change), high 30 days, medium 90, low 365. The
``[cadence]`` table of the configuration may shorten them; nothing may exceed 365 days, the
"at least annually" floor of CEK-09, and a configuration that tries is a usage error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .model import RiskTier

DEFAULT_CADENCE_DAYS: Mapping[RiskTier, int] = {
    RiskTier.CRITICAL: 1,
    RiskTier.HIGH: 30,
    RiskTier.MEDIUM: 90,
    RiskTier.LOW: 365,
}
ANNUAL_FLOOR_DAYS = 365


def effective_cadence(table: Mapping[str, Any] | None) -> dict[RiskTier, int]:
    """The ``[cadence]`` table (validated by the configuration's model) over the defaults."""
    cadence = dict(DEFAULT_CADENCE_DAYS)
    cadence.update({RiskTier(tier): days for tier, days in (table or {}).items()
                    if days is not None})
    return cadence


def interval(tier: RiskTier | str, cadence: Mapping[RiskTier, int] | None = None) -> timedelta:
    return timedelta(days=(cadence or DEFAULT_CADENCE_DAYS)[RiskTier(tier)])


def next_due(tier: RiskTier | str, last_audit: datetime | None,
             cadence: Mapping[RiskTier, int] | None = None) -> datetime | None:
    """When the next audit is due; ``None`` means never audited, so due now."""
    if last_audit is None:
        return None
    return last_audit + interval(tier, cadence)
