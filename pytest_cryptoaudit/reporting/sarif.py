"""SARIF 2.1.0 for code scanning (``--cryptoaudit-sarif PATH``), built from the evidence alone.

One rule per check (``CEK-12/kms-rotation-enabled``), one result per finding: a failed check
at its tier's level, a check that could not look as an error, a waived finding as a result
with an external suppression (so code scanning shows it dismissed, with the justification).
Passed checks are not results: a SARIF consumer lists what needs attention.

Each result is located where its subject is declared (``SourceLocation``: the file and
line of a Terraform resource, a manifest, a key file); a subject with no file of its own, a
key in a live service, is located at its system in the configuration file, so code
scanning still shows it. Paths are relative to the folder pytest ran in, the repository's
root in CI. ``partialFingerprints`` carries the finding's stable id, so an alert follows
the finding from run to run instead of its line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .. import version
from ..evidence_model import Evidence, Location, Result
from ..findings import finding_id, is_finding
from ..model import Outcome, RiskTier
from .links import reference_url

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/pytest-cryptoaudit/pytest-cryptoaudit"
#: The level of a failed check by the tier of its subject; a check that could not look is
#: an error whatever the tier (fail closed).
LEVELS = {RiskTier.LOW: "note", RiskTier.MEDIUM: "warning", RiskTier.HIGH: "error",
          RiskTier.CRITICAL: "error"}
#: GitHub code scanning ranks security alerts by this property (0.1 to 10: low < 4 <=
#: medium < 7 <= high < 9 <= critical).
SECURITY_SEVERITY = {RiskTier.LOW: "3.0", RiskTier.MEDIUM: "5.5", RiskTier.HIGH: "8.0",
                     RiskTier.CRITICAL: "9.5"}
FINGERPRINT = "cryptoauditFinding/v1"


def rule_id(control: str, check: str) -> str:
    return f"{control}/{check}"


class _Locator:
    """Finds where each subject is declared, as a SARIF physical location."""

    def __init__(self, evidence: Evidence, base: Path, root: Path) -> None:
        self.base, self.root = base, root
        self.subjects: dict[str, Location] = {}
        for subject in [*evidence.inventory, *evidence.endpoints]:
            if subject.location is not None:
                self.subjects[subject.uid] = subject.location
        for system in evidence.systems:
            for failure in system.discovery_errors:
                if failure.location is not None and failure.key_uid:
                    self.subjects.setdefault(failure.key_uid, failure.location)
        config = evidence.run.config_path
        self.config = Path(config) if config else None
        self.system_lines = _system_lines(self.config)

    def uri(self, path: str) -> str:
        """``path`` (relative to the configuration's folder) relative to the root."""
        full = Path(path) if Path(path).is_absolute() else self.base / path
        try:
            return PurePosixPath(os.path.relpath(full, self.root)).as_posix()
        except ValueError:  # another drive
            return full.as_posix()

    def __call__(self, result: Result) -> dict[str, Any]:
        location = self.subjects.get(result.key_uid)
        if location is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": self.uri(location.path),
                                                             "uriBaseId": "%SRCROOT%"}}
            if location.line:
                region: dict[str, int] = {"startLine": location.line}
                if location.end_line and location.end_line >= location.line:
                    region["endLine"] = location.end_line
                physical["region"] = region
            logical = location.address or result.key_uid
        else:
            physical = self._at_system(result.system)
            logical = result.key_uid
        return {"physicalLocation": physical,
                "logicalLocations": [{"fullyQualifiedName": logical, "kind": "resource"}]}

    def _at_system(self, system: str) -> dict[str, Any]:
        if self.config is None:
            return {"artifactLocation": {"uri": "cryptoaudit.toml", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 1}}
        return {"artifactLocation": {"uri": self.uri(str(self.config)),
                                     "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": self.system_lines.get(system, 1)}}


def _system_lines(config: Path | None) -> dict[str, int]:
    """The line that names each system in the configuration (``name = "..."``)."""
    if config is None:
        return {}
    try:
        text = config.read_text(encoding="utf-8")
    except OSError:
        return {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"""\s*name\s*=\s*["']([^"']+)["']""", line)
        if match:
            lines.setdefault(match.group(1), number)
    return lines


def _rules(evidence: Evidence) -> list[dict[str, Any]]:
    """One rule per check that ran or had no subject, in (control, check) order."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for result in evidence.results:
        key = (result.control, result.check)
        if key not in seen:
            seen[key] = _rule(result.control, result.check, result.title,
                              result.remediation, result.references, result.risk_tier)
    for item in evidence.not_applicable:
        key = (item.control, item.check)
        if key not in seen:
            seen[key] = _rule(item.control, item.check, item.title, "", (), item.risk_tier)
    return [seen[key] for key in sorted(seen)]


def _rule(control: str, check: str, title: str, remediation: str,
          references: Iterable[str], tier: RiskTier) -> dict[str, Any]:
    references = list(references)
    links = [url for url in (reference_url(r) for r in references) if url]
    text = f"{control} {title}".strip() + f": {check}"
    help_lines = [remediation] if remediation else []
    help_lines += [f"- {reference}" for reference in references]
    rule: dict[str, Any] = {
        "id": rule_id(control, check),
        "name": "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", check)),
        "shortDescription": {"text": text},
        "fullDescription": {"text": text + (f". {remediation}" if remediation else "")},
        "defaultConfiguration": {"level": LEVELS[tier]},
        "properties": {"tags": ["security", "cryptography", control],
                       "security-severity": SECURITY_SEVERITY[tier]},
    }
    if help_lines:
        rule["help"] = {"text": "\n".join(help_lines),
                        "markdown": "\n".join(help_lines)}
    if links:
        rule["helpUri"] = links[0]
    return rule


def _result(result: Result, rules: Mapping[str, int], locate: _Locator) -> dict[str, Any]:
    rule = rule_id(result.control, result.check)
    could_not_look = result.outcome == Outcome.ERROR
    message = result.message or result.check
    if could_not_look:
        message = f"Could not check: {message}"
    entry: dict[str, Any] = {
        "ruleId": rule,
        "ruleIndex": rules[rule],
        "kind": "fail",
        "level": "error" if could_not_look else LEVELS[result.risk_tier],
        "message": {"text": f"{message} ({result.key_uid}, system {result.system})"},
        "locations": [locate(result)],
        "partialFingerprints": {FINGERPRINT: finding_id(result.system, result.control,
                                                        result.check, result.key_uid)},
        "properties": {"outcome": str(result.outcome), "risk_tier": str(result.risk_tier),
                       "system": result.system, "subject": result.key_uid,
                       "ssrm_owner": result.owner,
                       "accountable_owner": result.accountable_owner,
                       "security-severity": SECURITY_SEVERITY[result.risk_tier]},
    }
    if result.outcome == Outcome.WAIVED and result.waiver is not None:
        waiver = result.waiver
        entry["suppressions"] = [{
            "kind": "external", "status": "accepted",
            "justification": f"{waiver.justification} (waiver {waiver.id}, approved by "
                             f"{waiver.approver}, expires {waiver.expires})"}]
    return entry


def render_sarif(evidence: Evidence, root: Path) -> dict[str, Any]:
    """The SARIF log of a run; file paths are made relative to ``root``."""
    config = evidence.run.config_path
    base = Path(config).parent if config else root
    locate = _Locator(evidence, base, root)
    rules = _rules(evidence)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    results = [_result(r, index, locate) for r in evidence.results
               if is_finding(r.outcome, accepted=True)]
    unreachable = _unreachable(evidence)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pytest-cryptoaudit", "version": version(),
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "automationDetails": {"id": f"cryptoaudit/{evidence.run.id}"},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
            "invocations": [{"executionSuccessful": not unreachable,
                             "startTimeUtc": evidence.run.started,
                             "endTimeUtc": evidence.run.finished,
                             "toolExecutionNotifications": unreachable}],
            "results": results,
        }],
    }


def _unreachable(evidence: Evidence) -> list[dict[str, Any]]:
    """Systems that could not be read at all: their checks are errors among the results,
    and the invocation says so too."""
    return [{"level": "error",
             "message": {"text": f"system {u.system} could not be audited: {u.reason}"}}
            for u in evidence.scope.unreachable]


def write_sarif(evidence: Evidence, path: Path, root: Path) -> None:
    path.write_text(json.dumps(render_sarif(evidence, root), indent=2) + "\n",
                    encoding="utf-8")
