"""``--cryptoaudit-incremental``: the part of a run that carries unchanged results forward.

On the controller, once discovery is done and the ledger has read each system's last
complete audit, decide which systems must be audited in full and gather the stored results
of the others (``incremental.py`` holds the rules). The stored results travel to xdist
workers as JSON. Wherever tests are collected, a (check, subject) pair whose inputs hash
equals the stored one, and whose result is young enough, gets no test item: its stored
result joins the run's results, marked as carried (from one xdist worker: all collect the
same tests). The evidence and every report derived from it (terminal summary, Markdown,
HTML, OSCAL, CBOM, the ledger) show it; JUnit XML lists the tests that ran.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from .context import RunContext, policy_sha256
from .incremental import CARRIED_OUTCOMES, carries_from, full_audit_reason, pair_key, still_fresh
from .ledger import LEDGER_PLUGIN
from .model import Inventory, Outcome, RiskTier
from .results import Result, result_from_dict, subject_metadata
from .text import plural
from .waivers import decide

if TYPE_CHECKING:
    from .catalog import ControlSpec
    from .config import AuditConfig
    from .ledger.plugin import LedgerPlugin
    from .session import AuditSession

WORKERINPUT_KEY = "cryptoaudit_carry"


class CarryForward:
    """Carries results whose inputs did not change since the last complete audit."""

    def __init__(self, config: pytest.Config, audit: AuditSession) -> None:
        if config.getoption("cryptoaudit_no_ledger"):
            raise pytest.UsageError("--cryptoaudit-incremental carries results from the "
                                    "ledger: drop --cryptoaudit-no-ledger")
        self.config = config
        self.audit = audit
        self.stored: dict[str, list[Any]] = {}
        self.full: dict[str, str] = {}  # system -> why it is audited in full
        self.carried_results: list[Result] = []  # on an xdist worker
        #: (check, system) pairs with a carried result: applicable, though no test ran.
        self.covered: set[tuple[str, str]] = set()
        #: Whether stored results may still be carried, per (established at, valid until,
        #: tier): see :meth:`_carriable`.
        self._fresh: dict[tuple[str, str | None, str], bool] = {}
        self.received = False
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and WORKERINPUT_KEY in workerinput:
            self.stored = json.loads(workerinput[WORKERINPUT_KEY])

    # -- on the controller ---------------------------------------------------------------

    @pytest.hookimpl(trylast=True)  # after the ledger has read the last complete audits
    def pytest_cryptoaudit_inventory_ready(self, inventory: Inventory,
                                           audit_config: AuditConfig, run: RunContext) -> None:
        ledger: LedgerPlugin | None = self.config.pluginmanager.get_plugin(LEDGER_PLUGIN)
        if ledger is None or ledger.history is None:
            why = ledger.error if ledger and ledger.error else "the ledger could not be read"
            self.full = {s.name: why for s in inventory.systems}
            return
        from .ledger.plugin import narrowed
        from .ledger.status import all_events

        if run.selected_controls or narrowed(self.config):
            # Carried results would fill in what a narrowed run chose not to look at.
            why = "a narrowed run (-k, -m, --cryptoaudit-control) carries nothing"
            self.full = {s.name: why for s in inventory.systems}
            return
        policy = policy_sha256(audit_config)
        for system in inventory.systems:
            previous = ledger.previous.get(system.name)
            reason = full_audit_reason(
                system.risk_tier, previous,
                events=all_events(ledger.history, system.name, audit_config.events),
                cadence=audit_config.cadence, now=run.now,
                system_config_sha256=_system_sha256(audit_config, system.name),
                policy_sha256=policy)
            if reason is not None or previous is None:
                self.full[system.name] = reason or "no complete audit"
                continue
            self.stored.update(carries_from(previous.detail))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKERINPUT_KEY] = json.dumps(self.stored)

    # -- wherever tests are collected ------------------------------------------------------

    def split(self, metafunc: pytest.Metafunc, spec: ControlSpec,
              subjects: list[Any]) -> list[Any]:
        """The subjects to test; each other one's stored result is carried instead, so a
        carried pair costs no test item at all."""
        if not self.stored:  # every system is audited in full: nothing to hash twice
            return subjects
        hasher = self.audit.hasher
        code = hasher.code(metafunc)
        if code is None:  # the check reads something no hash captures: it always runs
            return subjects
        keep = []
        pair = pair_key(spec.check, "")
        nodeid = f"{metafunc.definition.nodeid}[{spec.check}-"
        for subject in subjects:
            if subject.system in self.full:
                keep.append(subject)
                continue
            metadata = subject_metadata(spec, subject)
            inputs = hasher.subject_inputs(code, metadata, subject)
            stored = self.stored.get(pair + metadata["key_uid"]) if inputs else None
            if stored is None or not self._carriable(stored, inputs, metadata["risk_tier"]):
                keep.append(subject)
                continue
            metadata["inputs_sha256"] = inputs
            self._carry(self._result(f"{nodeid}{metadata['key_uid']}]", metadata, stored))
        return keep

    def _carriable(self, stored: list[Any], inputs: str | None, tier: str) -> bool:
        """Whether a stored result of the same inputs may be carried: an outcome worth
        carrying, still fresh (decided once per origin, deadline and tier: a stored audit's
        results share their origin)."""
        if stored[1] != inputs or stored[0] not in CARRIED_OUTCOMES:
            return False
        key = (stored[3], stored[6] if len(stored) > 6 else None, tier)
        fresh = self._fresh.get(key)
        if fresh is None:
            fresh = self._fresh[key] = still_fresh(
                stored, RiskTier(tier), self.audit.audit_config.cadence, self.audit.now)
        return fresh

    def _result(self, nodeid: str, metadata: dict[str, Any], stored: list[Any]) -> Result:
        """The carried result, built directly (this is once per carried pair)."""
        outcome, _inputs, run_id, at, message, notes, valid_until = stored
        waiver = None
        if outcome == Outcome.WAIVED.value:
            waiver = decide(self.audit.waivers, metadata, self.audit.now.date())
        metadata["risk_tier"] = RiskTier(metadata["risk_tier"])
        metadata["references"] = tuple(metadata["references"])
        return Result(nodeid=nodeid, outcome=Outcome(outcome), message=message,
                      notes=tuple(notes), waiver=waiver, carried={"run": run_id, "at": at},
                      valid_until=valid_until, **metadata)

    def _carry(self, result: Result) -> None:
        self.covered.add((result.check, result.system))
        if self.audit.is_controller:
            self.audit.results[result.nodeid] = result
        else:
            self.carried_results.append(result)

    # -- xdist: every worker collects the same tests, so one worker's carried results do -----

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKERINPUT_KEY] = json.dumps(
                [result.as_dict() for result in self.carried_results])

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        payload = getattr(node, "workeroutput", {}).get(WORKERINPUT_KEY)
        if payload is None or self.received:
            return
        self.received = True
        for data in json.loads(payload):
            result = result_from_dict(data)
            self.audit.results.setdefault(result.nodeid, result)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Let go of the stored results (see ``AuditSession.pytest_unconfigure``)."""
        self.stored, self.carried_results = {}, []

    # -- the terminal ---------------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if getattr(self.config, "workerinput", None) is not None:
            return
        results = self.audit.results.values()
        carried = sum(1 for r in results if r.carried)
        terminalreporter.write_line(
            f"cryptoaudit: incremental: {plural(carried, 'result')} carried from earlier "
            f"complete audits, {len(self.audit.results) - carried} checked in this run")
        for system, reason in sorted(self.full.items()):
            terminalreporter.write_line(f"cryptoaudit: incremental: {system} audited in "
                                        f"full: {reason}")


def _system_sha256(audit_config: AuditConfig, name: str) -> str | None:
    try:
        return audit_config.system_sha256(name)
    except StopIteration:
        return None
