"""Allure integration (``--alluredir``): labels and links as pytest marks, evidence attached.

Labels and links are the ``allure_label`` / ``allure_link`` marks that allure-pytest reads, so
nothing here imports allure to describe a test. Only the key uid parameter and the evidence
attachment go through ``allure_commons`` (installed with allure-pytest), imported when a
test runs with ``--alluredir``.

Mapping: epic = control domain (CEK), feature = control id and title, story = check,
severity from the subject's risk tier (:data:`TIER_SEVERITY`), tags ``owner:<SSRM owner>``
and ``system:<name>``, Allure's owner label = the accountable owner, one link per reference
with a known public page.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from ..results import METADATA, metadata_of
from .links import reference_url
from .subjects import Subjects

if TYPE_CHECKING:
    from ..session import AuditSession

#: Allure severity for each risk tier of the audited key or system.
TIER_SEVERITY = {"critical": "blocker", "high": "critical", "medium": "normal", "low": "minor"}
DOMAINS = {"CEK": "CEK: Cryptography, Encryption and Key Management"}


def allure_marks(metadata: Mapping[str, Any]) -> list[pytest.MarkDecorator]:
    """The allure-pytest marks that describe one control test."""
    domain = metadata["control"].split("-")[0]
    label = pytest.mark.allure_label
    marks = [
        label(DOMAINS.get(domain, domain), label_type="epic"),
        label(f"{metadata['control']} {metadata['title']}", label_type="feature"),
        label(metadata["check"], label_type="story"),
        label(TIER_SEVERITY[metadata["risk_tier"]], label_type="severity"),
        label(f"system:{metadata['system']}", label_type="tag"),
    ]
    if metadata["owner"]:
        marks.append(label(f"owner:{metadata['owner']}", label_type="tag"))
    if metadata.get("accountable_owner"):
        # Allure's own "owner" label names the person or team; the SSRM party stays a tag.
        marks.append(label(metadata["accountable_owner"], label_type="owner"))
    for reference in metadata["references"]:
        url = reference_url(reference)
        if url:
            marks.append(pytest.mark.allure_link(url, link_type="link", name=reference))
    return marks


class AllureReporter:
    """Labels every control test for Allure and attaches its evidence."""

    def __init__(self, audit: AuditSession) -> None:
        self.audit = audit
        self._subjects: Subjects | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Add the marks before allure-pytest selects tests by label (--allure-epics...)."""
        for item in items:
            metadata = metadata_of(item)
            if metadata is not None:
                for mark in allure_marks(metadata):
                    item.add_marker(mark)

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Show the subject as its uid, not as the record's repr."""
        metadata = metadata_of(item)
        commons = _commons()
        if metadata is None or commons is None:
            return
        callspec = getattr(item, "callspec", None)
        for name in (callspec.params if callspec else {}):
            if name.startswith("crypto_"):
                commons.plugin_manager.hook.add_parameter(
                    name=name, value=metadata["key_uid"], excluded=None, mode=None)

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        """Attach the evidence once the audit session has classified the phase."""
        outcome = yield
        report = outcome.get_result()
        data = getattr(report, "cryptoaudit", None)
        commons = _commons()
        if data is None or commons is None:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            metadata = item.stash[METADATA]
            result = {**metadata, **data}
            result.pop("metadata", None)
            body = json.dumps({"result": result, "subject": self._subject(result)}, indent=2)
            commons.plugin_manager.hook.attach_data(
                body=body, name="evidence", attachment_type="application/json",
                extension="json")

    def _subject(self, data: Mapping[str, Any]) -> dict[str, Any]:
        if self._subjects is None:
            self._subjects = Subjects(self.audit.inventory)
        return self._subjects.of(data)


def _commons() -> Any:
    try:
        import allure_commons
    except ImportError:  # allure-pytest without its commons: labels still work through marks
        return None
    return allure_commons
