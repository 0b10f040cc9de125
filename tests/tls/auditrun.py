"""Run ``pytest --cryptoaudit`` in a child process, as a user would, and read its evidence."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pytest_cryptoaudit.testing import audit_subprocess


@dataclasses.dataclass(frozen=True)
class AuditRun:
    """The outcome of one ``pytest --cryptoaudit`` run: exit code, output and evidence."""

    returncode: int
    output: str
    evidence: dict[str, Any]

    def outcomes(self, system: str) -> dict[tuple[str, str], str]:
        """``(key uid, check) -> outcome`` of every result of ``system``, but the
        system-level CEK-09 checks of the audit ledger (tests/ledger covers them)."""
        return {(r["key_uid"], r["check"]): r["outcome"]
                for r in self.evidence["results"]
                if r["system"] == system and r["control"] != "CEK-09"}

    def result(self, key_uid: str, check: str) -> dict[str, Any]:
        return next(r for r in self.evidence["results"]
                    if r["key_uid"] == key_uid and r["check"] == check)

    def endpoint(self, uid: str) -> dict[str, Any]:
        return next(e for e in self.evidence["endpoints"] if e["uid"] == uid)

    def key(self, uid: str) -> dict[str, Any]:
        return next(k for k in self.evidence["inventory"] if k["uid"] == uid)


def run_audit(folder: Path, config: str, *args: str) -> AuditRun:
    """Run the audit in a child pytest (as a user would) and read its evidence."""
    done = audit_subprocess(folder, "-q", "-rN", *args, config=config, timeout=120)
    return AuditRun(done.ret, done.output, done.evidence)
