"""``--cryptoaudit-incremental``: the part of a run that carries unchanged results forward.

On the controller, once discovery is done and the ledger has read each system's last
complete audit, decide which systems must be audited in full and gather the stored results
of the others (``incremental.py`` holds the rules). The stored results travel to xdist
workers as JSON. Whichever process runs a control test compares its inputs hash with the
stored one and, when they match and the result is young enough, reports the stored result
through the usual report hooks instead of running the test.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from .context import RunContext, policy_sha256
from .incremental import CARRIED_OUTCOMES, carries_from, full_audit_reason, pair_key, still_fresh
from .ledger import LEDGER_PLUGIN
from .model import Inventory, Outcome, RiskTier
from .results import METADATA, phase_data
from .text import plural
from .waivers import decide, show_as_waived

if TYPE_CHECKING:
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
        self.carried = 0
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
        from .ledger.status import all_events

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

    # -- wherever a test runs ------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any) -> bool | None:
        metadata = item.stash.get(METADATA, None)
        stored = self._stored_for(metadata)
        if metadata is None or stored is None:
            return None
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for report in self._reports(item, metadata, stored):
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        # Tear down what the previous test left set up for this one (a module, a class),
        # as pytest's own protocol does after each test.
        item.session._setupstate.teardown_exact(nextitem)
        return True

    def _stored_for(self, metadata: dict[str, Any] | None) -> list[Any] | None:
        if metadata is None or not metadata.get("inputs_sha256"):
            return None
        stored = self.stored.get(pair_key(metadata["check"], metadata["key_uid"]))
        if stored is None or stored[0] not in CARRIED_OUTCOMES \
                or stored[1] != metadata["inputs_sha256"]:
            return None
        tier = RiskTier(metadata["risk_tier"])
        if not still_fresh(stored, tier, self.audit.audit_config.cadence, self.audit.now):
            return None
        return stored

    def _reports(self, item: pytest.Item, metadata: dict[str, Any],
                 stored: list[Any]) -> list[pytest.TestReport]:
        outcome, _inputs, run_id, at, message, notes = stored
        carried = {"run": run_id, "at": at}
        waiver = None
        if outcome == Outcome.WAIVED.value:
            waiver = decide(self.audit.waivers, metadata, self.audit.now.date())
        passed = outcome == Outcome.PASSED.value
        setup = _report(item, "setup", "passed", None)
        setup.cryptoaudit = {  # type: ignore[attr-defined]
            **phase_data(Outcome.PASSED, "", [], None), "metadata": metadata}
        call = _report(item, "call", "passed" if passed else "failed",
                       None if passed else f"{message} (carried from {_when(at)})")
        call.cryptoaudit = phase_data(  # type: ignore[attr-defined]
            Outcome(outcome), message, list(notes), waiver, carried)
        if waiver is not None:
            show_as_waived(item, call, waiver)
        # JUnit XML writes a test's properties from its teardown report.
        teardown = _report(item, "teardown", "passed", None,
                           [("carried_from", f"{run_id} {at}")])
        teardown.cryptoaudit = phase_data(Outcome.PASSED, "", [], None)  # type: ignore[attr-defined]
        self.carried += 1
        return [setup, call, teardown]

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


def _report(item: pytest.Item, when: str, outcome: str, text: str | None,
            extra: list[tuple[str, object]] | None = None) -> pytest.TestReport:
    """A report as pytest would make it; JUnit shows a carried result's origin."""
    properties = [*item.user_properties, *extra] if extra else item.user_properties
    return pytest.TestReport(item.nodeid, item.location, {}, outcome,  # type: ignore[arg-type]
                             text, when, user_properties=properties)  # type: ignore[arg-type]


def _when(at: str) -> str:
    return f"{datetime.fromisoformat(at):%Y-%m-%d %H:%M} UTC"


def _system_sha256(audit_config: AuditConfig, name: str) -> str | None:
    try:
        return audit_config.system_sha256(name)
    except StopIteration:
        return None
