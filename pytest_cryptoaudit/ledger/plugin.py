"""The ledger's part of a ``pytest --cryptoaudit`` run.

On the controller: read the ledger before discovery (``--cryptoaudit-due`` keeps the systems
that are due), compare each discovered inventory with its last complete audit (material
changes become events of this run), hand the history to xdist workers, and append one
record per audited system, derived from the JSON evidence, when the run ends. Workers only
read what the controller sent; they never open the ledger.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from ..context import NARROWING_OPTIONS, RunContext, policy_sha256
from ..findings import PREVIOUS_FINDINGS
from ..model import Event, Inventory
from ..serialize import record_json, to_jsonable
from ..text import plural
from .chain import Entry
from .findings import previous_findings
from .history import LedgerHistory, event_from
from .records import Changes, audit_drafts, change_event, detect_changes
from .review import SIGN_OFFS, sign_off_lines
from .status import DUE, OVERDUE, statuses
from .store import LedgerError, LedgerStore, open_ledger, redact
from .trail import AuditTrail

if TYPE_CHECKING:
    from ..config import AuditConfig
    from ..evidence_model import Evidence

WORKERINPUT_KEY = "cryptoaudit_ledger"
LOCATION_VARIABLE = "CRYPTOAUDIT_LEDGER"


def ledger_location(config: pytest.Config | None, audit_config: AuditConfig) -> str | None:
    """``--cryptoaudit-ledger``, else ``$CRYPTOAUDIT_LEDGER``, else ``ledger =`` in config."""
    option = config.getoption("cryptoaudit_ledger") if config else None
    return option or os.environ.get(LOCATION_VARIABLE) or audit_config.ledger_location


class LedgerPlugin:
    """Reads the ledger at the start of a run and appends to it at the end (controller)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.enabled = not config.getoption("cryptoaudit_no_ledger")
        # Collecting or planning fixtures audits nothing: read the ledger, never append.
        self.writes = not any(getattr(config.option, name, False)
                              for name in ("collectonly", "setuponly", "setupplan"))
        self.history: LedgerHistory | None = None
        self.error: str | None = None
        self.location = ""
        self.changes: dict[str, Changes] = {}
        self.previous: dict[str, Entry] = {}
        self.change_events: list[Event] = []
        self.due: list[str] | None = None
        self.unreached: list[str] = []  # systems discovery could not reach at all
        self.notice = ""
        self.appended = 0
        self.session: pytest.Session | None = None
        workerinput = getattr(config, "workerinput", None)
        self.is_controller = workerinput is None
        if workerinput is not None and WORKERINPUT_KEY in workerinput:
            self._receive(json.loads(workerinput[WORKERINPUT_KEY]))

    # -- reading, once, on the controller --------------------------------------------------

    def _open(self, audit_config: AuditConfig) -> LedgerStore:
        location = ledger_location(self.config, audit_config)
        store = open_ledger(location, audit_config.base_dir, audit_config.ledger_password_env)
        self.location = store.location
        return store

    def open(self, audit_config: AuditConfig) -> LedgerStore:
        """The ledger this run reads and writes (for plugins that append after the run)."""
        return self._open(audit_config)

    def load(self, audit_config: AuditConfig) -> LedgerHistory | None:
        """The history of the configured systems, read once; None if it cannot be read."""
        if self.history is not None or self.error is not None or not self.enabled:
            return self.history
        names = [s.name for s in audit_config.systems]
        try:
            with self._open(audit_config) as store:
                self.history = LedgerHistory.from_store(store, systems=names)
        except LedgerError as exc:
            self.error = str(exc)
        return self.history

    @pytest.hookimpl
    def pytest_cryptoaudit_select_systems(self, audit_config: AuditConfig,
                                          config: pytest.Config) -> list[str] | None:
        if not config.getoption("cryptoaudit_due"):
            return None
        if not self.is_controller:
            return self.due
        if not self.enabled:
            raise pytest.UsageError("--cryptoaudit-due reads the ledger: drop "
                                    "--cryptoaudit-no-ledger")
        history = self.load(audit_config)
        if history is None:
            raise pytest.UsageError(f"--cryptoaudit-due: {self.error}")
        states = statuses(audit_config, history, datetime.now(UTC))
        self.due = [s.system for s in states if s.state in (DUE, OVERDUE)]
        self.notice = (f"cryptoaudit: --cryptoaudit-due: {len(self.due)} of {len(states)} "
                       f"systems due: {', '.join(self.due) or 'none'}")
        return self.due

    def _write(self, line: str, **markup: bool) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and self.config.get_verbosity() >= 0:
            reporter.write_line(line, **markup)

    # -- material changes, at the start of the run ------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session
        if self.notice:
            self._write(self.notice)

    @pytest.hookimpl
    def pytest_cryptoaudit_inventory_ready(self, inventory: Inventory,
                                           audit_config: AuditConfig, run: RunContext) -> None:
        self.unreached = sorted({e.system for e in inventory.errors if e.key_uid is None})
        if not self.enabled or self.load(audit_config) is None:
            return
        self._share_previous_findings(inventory, run.selected_controls)
        self._share_sign_offs(inventory, audit_config, run)
        if run.selected_controls or narrowed(self.config):
            return  # a narrowed run may not have read everything: no change to compare
        try:
            with self._open(audit_config) as store:
                self.previous = store.latest_audits([s.name for s in inventory.systems])
        except LedgerError as exc:
            self.error = str(exc)
            return
        policy = policy_sha256(audit_config)
        keep = bool(self.config.getoption("cryptoaudit_incremental", False))
        for system in inventory.systems:
            found = detect_changes(_system_json(inventory, audit_config, system.name),
                                   [record_json(k, keep=keep)
                                    for k in inventory.keys_of(system.name)],
                                   policy, self.previous.get(system.name))
            if found:
                self.changes[system.name] = found
        self.change_events = [
            event_from(change_event(name, kind, listed, run.run_id,
                                    run.started.isoformat())).event
            for name, found in sorted(self.changes.items()) for kind, listed in found]

    def _share_previous_findings(self, inventory: Inventory,
                                 controls: frozenset[str] | None) -> None:
        """Give the Markdown summary the findings of the last complete audits, so that it
        can say what is new and what was resolved (not when ``-k`` & co. narrowed the run:
        what it did not look at would look resolved)."""
        if self.history is None or narrowed(self.config):
            return
        reached = [s.name for s in inventory.systems
                   if not any(e.key_uid is None for e in inventory.errors_of(s.name))]
        found = previous_findings(self.history, reached, controls)
        if found is not None:
            self.config.stash[PREVIOUS_FINDINGS] = found

    def _share_sign_offs(self, inventory: Inventory, audit_config: AuditConfig,
                         run: RunContext) -> None:
        """Give the Markdown and HTML reports the sign-offs pending and those this run needs."""
        if self.history is None or audit_config.review is None:
            return
        self.config.stash[SIGN_OFFS] = sign_off_lines(
            audit_config, self.history, run.now, run.run_id,
            [s.name for s in inventory.systems])

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        """Leave out the CEK-09 checks of systems this run could not reach: CEK-21 already
        errors for each, and the ledger records their audit as incomplete."""
        unreached = set(self.unreached)
        drop = [item for item in items if _cek09_subject(item) in unreached]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = [item for item in items if item not in drop]

    @pytest.hookimpl
    def pytest_cryptoaudit_events(self, audit_config: AuditConfig) -> list[Event]:
        recorded = [e.event for e in self.history.events()] if self.history else []
        return recorded + self.change_events

    # -- xdist ---------------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKERINPUT_KEY] = json.dumps({
            "history": self.history.to_json() if self.history else None,
            "error": self.error, "location": self.location, "due": self.due,
            "changes": [to_jsonable(e) for e in self.change_events],
            "unreached": self.unreached,
        })

    def _receive(self, data: dict[str, Any]) -> None:
        self.history = LedgerHistory.from_json(data["history"]) if data["history"] else None
        self.error, self.location, self.due = data["error"], data["location"], data["due"]
        self.change_events = [event_from(e).event for e in data["changes"]]
        self.unreached = data["unreached"]

    # -- what controls see --------------------------------------------------------------------

    def trail(self, run: RunContext) -> AuditTrail:
        """The ``crypto_ledger`` fixture's value; skips or errors when there is no history."""
        from ..errors import CryptoAuditError

        if not self.enabled:
            pytest.skip("the ledger is disabled (--cryptoaudit-no-ledger)")
        audit_config = run.audit_config
        history = self.load(audit_config) if self.is_controller else self.history
        if history is None:
            raise CryptoAuditError(f"cannot read the audit ledger: {self.error}")
        return AuditTrail(history, audit_config.cadence, audit_config.policy, run.now,
                          run.run_id, tuple(audit_config.events), tuple(self.change_events),
                          dict(audit_config.auditor), dict(audit_config.policy_document),
                          self.location)

    # -- writing, at the end of the run --------------------------------------------------------

    @pytest.hookimpl
    def pytest_cryptoaudit_evidence(self, evidence_model: Evidence,
                                    audit_config: AuditConfig) -> None:
        if not (self.enabled and self.writes and self.is_controller):
            return
        if getattr(evidence_model.run, "shard", None):
            return  # one shard is part of an audit: `cryptoaudit merge` records the whole
        try:
            with self._open(audit_config) as store:
                drafts = audit_drafts(evidence_model, self.changes, self.previous)
                self.appended = len(store.append(drafts))
        except LedgerError as exc:
            self.error = f"ledger not written: {exc}"
            if self.session is not None:
                self.session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        nothing_due = self.due is not None and not self.due
        if nothing_due and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK  # a scheduled job with nothing to do

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.is_controller or not self.enabled:
            return
        for name, found in sorted(self.changes.items()):
            for kind, listed in found:
                terminalreporter.write_line(f"cryptoaudit: {name}: {kind}: "
                                            f"{plural(len(listed), 'change')} since the last "
                                            "complete audit")
        if self.error:
            terminalreporter.write_line(f"cryptoaudit: {self.error}", red=True)
        elif self.appended:
            terminalreporter.write_line(f"cryptoaudit: ledger {redact(self.location)}: "
                                        f"{self.appended} entries appended")


#: The checks of ``controls/cek09.py`` that judge the ledger (not a provider's own CEK-09
#: checks, such as Vault's audit device, which look at the system itself).
LEDGER_CHECKS = frozenset({"cadence-met", "event-follow-up", "findings-followed-up",
                           "auditor-independent", "scope-coverage", "procedures-current",
                           "results-reviewed"})


def _cek09_subject(item: pytest.Item) -> str | None:
    """The system one of the ledger's CEK-09 checks audits, or None for any other test."""
    marker = item.get_closest_marker("control")
    callspec = getattr(item, "callspec", None)
    if marker is None or not marker.args or marker.args[0] != "CEK-09" or callspec is None \
            or marker.kwargs.get("check") not in LEDGER_CHECKS:
        return None
    system = callspec.params.get("crypto_system")
    return getattr(system, "name", None)


def narrowed(config: pytest.Config) -> bool:
    """Whether ``-k``, ``-m`` & co. (or no built-in controls) narrowed this run."""
    return any(getattr(config.option, name, None) for name, _flag in NARROWING_OPTIONS) or \
        bool(config.getoption("cryptoaudit_no_builtin"))


def _system_json(inventory: Inventory, audit_config: AuditConfig, name: str) -> dict[str, Any]:
    """The parts of a system's evidence that change detection reads."""
    return {"name": name,
            "discovery_errors": [{"key_uid": e.key_uid, "reason": e.reason}
                                 for e in inventory.errors_of(name)],
            "config_sha256": audit_config.system_sha256(name)}
