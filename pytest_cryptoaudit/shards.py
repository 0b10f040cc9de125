"""``--cryptoaudit-shard K/N``: one of N runs that together audit every configured system.

Whole systems are assigned to shards: sorted by a hash of their name, then dealt out in
turn, so the assignment depends only on the configuration (every shard, on any machine,
computes the same one) and shard sizes differ by at most one system. Each shard writes its
own evidence, marked with its index, the shard count, the systems it audited, every
configured system and the audit id that the shards share; it appends nothing to the ledger.
``cryptoaudit merge`` (``merge.py``) checks that the shards fit together and records one
audit.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .config import AuditConfig

AUDIT_ID_VARIABLE = "CRYPTOAUDIT_AUDIT_ID"
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``; anything else is a usage error that says what is expected."""
    match = _SHARD.match(text)
    index, count = (int(match[1]), int(match[2])) if match else (0, 0)
    if not match or count < 1 or not 1 <= index <= count:
        raise pytest.UsageError(f"--cryptoaudit-shard {text!r}: expected K/N with "
                                "1 <= K <= N, e.g. 2/3")
    return index, count


def assign(systems: Sequence[str], count: int) -> dict[str, int]:
    """System name -> shard index (1-based), balanced and stable for a given set."""
    ordered = sorted(systems, key=lambda name: hashlib.sha256(name.encode()).hexdigest())
    return {name: position % count + 1 for position, name in enumerate(ordered)}


def audit_id_from_environment(environ: Any = os.environ) -> str | None:
    """The id that the shards of one audit share: ``$CRYPTOAUDIT_AUDIT_ID``, else the CI
    run that started them (GitHub Actions run and attempt, GitLab pipeline)."""
    if environ.get(AUDIT_ID_VARIABLE):
        return str(environ[AUDIT_ID_VARIABLE])
    if environ.get("GITHUB_RUN_ID"):
        return f"github-{environ['GITHUB_RUN_ID']}-{environ.get('GITHUB_RUN_ATTEMPT', '1')}"
    if environ.get("CI_PIPELINE_ID"):
        return f"gitlab-{environ['CI_PIPELINE_ID']}"
    return None


class ShardSelector:
    """Keeps the systems of this shard (on the controller and on every xdist worker)."""

    def __init__(self, config: pytest.Config) -> None:
        self.index, self.count = parse_shard(config.getoption("cryptoaudit_shard"))
        audit_id = config.getoption("cryptoaudit_audit_id") or audit_id_from_environment()
        if not audit_id:
            raise pytest.UsageError(
                "--cryptoaudit-shard: the shards of one audit need a shared id, so that "
                "`cryptoaudit merge` can refuse shards of another run: pass "
                f"--cryptoaudit-audit-id ID or set ${AUDIT_ID_VARIABLE}")
        self.audit_id = str(audit_id)
        self.all_systems: list[str] = []
        self.systems: list[str] = []

    @pytest.hookimpl
    def pytest_cryptoaudit_select_systems(self, audit_config: AuditConfig,
                                          config: pytest.Config) -> list[str]:
        self.all_systems = sorted(s.name for s in audit_config.systems)
        shards = assign(self.all_systems, self.count)
        self.systems = [name for name in self.all_systems if shards[name] == self.index]
        return self.systems

    def evidence_entry(self) -> dict[str, Any]:
        """What the shard's evidence says about it (``run.shard``)."""
        return {"index": self.index, "count": self.count, "audit_id": self.audit_id,
                "systems": list(self.systems), "all_systems": list(self.all_systems)}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(
            f"cryptoaudit: shard {self.index}/{self.count} of audit {self.audit_id}: "
            f"{len(self.systems)} of {len(self.all_systems)} systems "
            f"({', '.join(self.systems) or 'none'}); the ledger is written by "
            "`cryptoaudit merge` once every shard is in")
