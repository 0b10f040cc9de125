"""Reporters turn the results of a run into evidence: terminal, JSON and the formats built on it.

Every report derives from the JSON evidence (``reporting/evidence.py``) or, for the per-test
integrations of pytest-html and Allure, from the ``report.cryptoaudit`` data that travels on
each pytest report. Integrations with optional plugins are separate plugin objects,
registered only when that plugin is active, so a missing plugin costs nothing.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..findings import PREVIOUS_FINDINGS

if TYPE_CHECKING:
    from ..evidence_model import Evidence
    from ..session import AuditSession

__all__ = ["PREVIOUS_FINDINGS", "FileReports", "every_report_arguments", "register_reporters"]



def every_report_arguments(folder: Path) -> list[str]:
    """Options that write every report this installation can produce into ``folder``
    (``cryptoaudit lab run`` uses them)."""
    arguments = [
        "--cryptoaudit-json", str(folder / "evidence.json"),
        "--junitxml", str(folder / "junit.xml"), "-o", "junit_family=xunit1",
        "--cryptoaudit-oscal", str(folder / "oscal.json"),
        "--cryptoaudit-markdown", str(folder / "summary.md"),
        "--cryptoaudit-pq", str(folder / "pq-inventory.csv"),
        "--cryptoaudit-sarif", str(folder / "results.sarif"),
    ]
    if find_spec("pytest_html"):
        arguments += ["--html", str(folder / "report.html"), "--self-contained-html"]
    if find_spec("allure_pytest"):
        arguments += ["--alluredir", str(folder / "allure")]
    if find_spec("cyclonedx"):
        arguments += ["--cryptoaudit-cbom", str(folder / "cbom.json")]
    return arguments


def register_reporters(config: pytest.Config, audit: AuditSession) -> None:
    """Register the report integrations that this run asks for and can serve."""
    manager = config.pluginmanager
    if manager.hasplugin("html") and getattr(config.option, "htmlpath", None):
        from .html import HtmlReporter

        manager.register(HtmlReporter(audit), "cryptoaudit-html")
    if manager.hasplugin("allure_pytest") and getattr(config.option, "allure_report_dir", None):
        from .allure import AllureReporter

        manager.register(AllureReporter(audit), "cryptoaudit-allure")
    if audit.is_controller:
        manager.register(FileReports(config), "cryptoaudit-files")


class FileReports:
    """Writes the file formats derived from the evidence: OSCAL, CBOM, SARIF, Markdown and
    the post-quantum migration inventory."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.oscal = config.getoption("cryptoaudit_oscal")
        self.cbom = config.getoption("cryptoaudit_cbom")
        self.markdown = config.getoption("cryptoaudit_markdown")
        self.pq = config.getoption("cryptoaudit_pq")
        self.sarif = config.getoption("cryptoaudit_sarif")
        if self.pq:
            from .pq_inventory import check_path

            check_path(self.pq)
        if self.cbom:
            from .cbom import require_cyclonedx

            require_cyclonedx()

    def _path(self, option: str) -> Path:
        path = Path(self.config.invocation_params.dir, option)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def pytest_cryptoaudit_evidence(self, evidence: dict[str, Any],
                                    evidence_model: Evidence) -> None:
        """Write each requested format from the finished evidence."""
        if self.oscal:
            from .oscal import write_oscal

            write_oscal(evidence_model, self._path(self.oscal))
        if self.cbom:
            from .cbom import write_cbom

            write_cbom(evidence_model, self._path(self.cbom))
        if self.sarif:
            from .sarif import write_sarif

            write_sarif(evidence_model, self._path(self.sarif),
                        Path(self.config.invocation_params.dir))
        if self.pq:
            from .pq_inventory import write_pq_inventory

            write_pq_inventory(evidence_model, self._path(self.pq))
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if self.markdown or step_summary:
            self._write_markdown(evidence_model, step_summary)

    def _write_markdown(self, evidence: Evidence, step_summary: str | None) -> None:
        from ..ledger.review import SIGN_OFFS
        from .markdown import render_markdown

        text = render_markdown(evidence, self.config.stash.get(PREVIOUS_FINDINGS, None),
                               self.config.stash.get(SIGN_OFFS, None))
        if self.markdown:
            self._path(self.markdown).write_text(text, encoding="utf-8")
        if step_summary:
            with Path(step_summary).open("a", encoding="utf-8") as handle:
                handle.write(text + "\n")
