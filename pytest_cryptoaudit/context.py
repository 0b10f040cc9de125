"""The context of one run that hooks hand to the ledger and the reporters.

Plugins receive it as a hook argument (``pytest_cryptoaudit_inventory_ready``) or through a
fixture, instead of fetching the audit session by its plugin name, so the ledger and the
reporters depend on this small value and not on the session.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from .serialize import to_jsonable

if TYPE_CHECKING:
    from .config import AuditConfig

#: Options that narrow a run, so that it is no complete audit of the systems it touched.
NARROWING_OPTIONS = (("keyword", "-k"), ("markexpr", "-m"), ("deselect", "--deselect"),
                     ("lf", "--last-failed"), ("stepwise", "--stepwise"))


@dataclasses.dataclass(frozen=True)
class RunContext:
    """Which run this is, when it started, what it audits and which controls it selected."""

    run_id: str
    started: datetime
    audit_config: AuditConfig
    #: The controls chosen with ``--cryptoaudit-control``; None when every control runs.
    selected_controls: frozenset[str] | None = None

    @property
    def now(self) -> datetime:
        """The instant the run judges against (its start, the same on every worker)."""
        return self.started


def policy_sha256(audit_config: AuditConfig) -> str:
    """One hash over the effective thresholds and the policy document's version facts."""
    data = {"thresholds": to_jsonable(audit_config.policy.as_dict()),
            "document": dict(audit_config.policy_document)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def narrowing_filters(config: pytest.Config) -> list[str]:
    """The options that narrowed this run (``-k``, ``-m``, ...), as given."""
    filters = [f"{flag} {getattr(config.option, name)}".strip()
               for name, flag in NARROWING_OPTIONS if getattr(config.option, name, None)]
    if config.getoption("cryptoaudit_no_builtin"):
        filters.append("--cryptoaudit-no-builtin")
    return filters
