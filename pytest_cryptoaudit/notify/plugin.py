"""The notifications of a ``pytest --cryptoaudit`` run: once the ledger has recorded the
run's audits (on the controller), send what the ``[[notify]]`` rules owe."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from ..ledger import LEDGER_PLUGIN
from ..text import plural

if TYPE_CHECKING:
    from ..config import AuditConfig


class NotifyPlugin:
    """Sends notifications after the ledger is written; a failed delivery is an error of
    the run, reported in its summary, never dropped."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.session: pytest.Session | None = None
        self.delivered = 0
        self.failures: list[str] = []
        self.skipped = ""

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl(trylast=True)  # after the ledger plugin appended this run
    def pytest_cryptoaudit_evidence(self, audit_config: AuditConfig) -> None:
        from ..ledger.store import LedgerError
        from .deliver import notify, rules_of

        if not rules_of(audit_config):
            return
        ledger = self.config.pluginmanager.get_plugin(LEDGER_PLUGIN)
        if ledger is not None and not ledger.writes:
            return  # --collect-only and the like audit nothing, so owe nothing
        if ledger is None or not ledger.enabled or ledger.error:
            self.skipped = "no notifications: they are sent from the ledger, which this " \
                           "run did not write"
            return
        try:
            with ledger.open(audit_config) as store:
                outcome, _ = notify(audit_config, store, datetime.now(UTC))
        except LedgerError as exc:
            outcome = None
            self.failures = [f"notifications not sent: {exc}"]
        if outcome is not None:
            self.delivered, self.failures = outcome.delivered, outcome.failures
        if self.failures and self.session is not None:
            self.session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.skipped:
            terminalreporter.write_line(f"cryptoaudit: {self.skipped}", yellow=True)
        if self.delivered:
            terminalreporter.write_line(f"cryptoaudit: notify: "
                                        f"{plural(self.delivered, 'finding')} delivered")
        for failure in self.failures:
            terminalreporter.write_line(f"cryptoaudit: {failure}", red=True)
