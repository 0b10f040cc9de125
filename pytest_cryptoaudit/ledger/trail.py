"""What the CEK-09 controls read through the ``crypto_ledger`` fixture."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..model import Event, RiskTier
from ..policy import Policy
from .history import LedgerHistory, RecordedEvent
from .status import SystemStatus, all_events, follow_up, system_status


@dataclasses.dataclass(frozen=True)
class AuditTrail:
    """The ledger as it stood before this run, with the settings that judge it.

    ``history`` holds the audits, events and corrective actions recorded before the run
    started; ``changes`` the material changes this run detected (followed up by this run).
    """

    history: LedgerHistory
    cadence: Mapping[RiskTier, int]
    policy: Policy
    now: datetime
    run_id: str
    config_events: tuple[Event, ...] = ()
    changes: tuple[Event, ...] = ()
    auditor: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    policy_document: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    location: str = ""

    def status(self, system: str, tier: RiskTier) -> SystemStatus:
        """Where ``system`` stood against its cadence when this run started."""
        return system_status(system, tier, self.history, self.cadence, self.policy, self.now,
                             self.config_events)

    def events(self, system: str) -> list[RecordedEvent]:
        """Every event of ``system`` recorded before this run (ledger and ``[[events]]``)."""
        return all_events(self.history, system, self.config_events)

    def follow_up(self, tier: RiskTier) -> Any:
        return follow_up(tier, self.cadence, self.policy)
