"""``cryptoaudit merge``: combine the evidence of every shard into one audit.

Writes the merged evidence and the reports derived from it (Markdown, OSCAL, CBOM, JUnit
XML, HTML, post-quantum inventory), and appends one audit per system to the ledger, with
the material changes since each system's last complete audit, exactly as a single run
would. Refuses (exit 2) shards that are not one audit, a missing shard, a configuration
that changed since the shards ran, and an audit the ledger already holds.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from .cli import UsageError
from .evidence_model import Evidence
from .merge import MergeError, merge
from .text import plural


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "merge", help="Merge the evidence of the shards of one audit into one audit.",
        description=__doc__)
    parser.add_argument("shards", nargs="+", metavar="SHARD_JSON",
                        help="The evidence file of each shard (--cryptoaudit-json).")
    parser.add_argument("--json", required=True, metavar="PATH",
                        help="Write the merged evidence here.")
    parser.add_argument("--markdown", metavar="PATH", help="Write a Markdown summary.")
    parser.add_argument("--oscal", metavar="PATH", help="Write OSCAL assessment results.")
    parser.add_argument("--cbom", metavar="PATH", help="Write a CycloneDX 1.6 CBOM.")
    parser.add_argument("--junitxml", metavar="PATH", help="Write JUnit XML.")
    parser.add_argument("--html", metavar="PATH", help="Write an HTML summary.")
    parser.add_argument("--pq", metavar="PATH",
                        help="Write the post-quantum migration inventory (.csv or .json).")
    parser.add_argument("--config", metavar="PATH",
                        help="The configuration the shards ran (for the ledger location; "
                             "default: found in the current folder).")
    parser.add_argument("--ledger", metavar="PATH_OR_URL", help="Ledger location.")
    parser.add_argument("--no-ledger", action="store_true",
                        help="Write the merged reports only; record nothing in the ledger.")
    parser.set_defaults(handler=_merge)


def _merge(args: argparse.Namespace) -> int:
    documents = [_read(Path(path)) for path in args.shards]
    try:
        evidence = merge(documents)
    except MergeError as exc:
        raise UsageError(f"merge refused: {exc}") from None
    appended = 0 if args.no_ledger else _record(args, evidence)
    _write_reports(args, evidence)
    run = evidence.run
    print(f"cryptoaudit merge: {plural(len(documents), 'shard')} of audit "
          f"{documents[0]['run']['shard']['audit_id']} -> run {run.id}: "
          f"{plural(len(evidence.systems), 'system')}, {plural(len(evidence.results), 'result')}"
          + (f"; ledger: {appended} entries appended" if not args.no_ledger else ""))
    return 0  # each shard's own exit status already judged its findings


def _read(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read shard evidence: {exc}") from None
    try:
        Evidence.model_validate(document)
    except ValueError as exc:
        raise UsageError(f"{path}: not valid evidence: {str(exc).splitlines()[0]}") from None
    return document


def _record(args: argparse.Namespace, evidence: Evidence) -> int:
    """Append one audit per system, as a single run would, unless already recorded."""
    from .context import policy_sha256
    from .ledger.cli_support import guarded, load_audit_config, open_store
    from .ledger.records import audit_drafts, detect_changes

    def record(args: argparse.Namespace) -> int:
        audit_config = load_audit_config(args)
        document = evidence.as_json()
        if audit_config.sha256 != document["run"]["config_sha256"]:
            raise UsageError("merge refused: the configuration changed since the shards ran "
                             f"({audit_config.path}); merge with the one they ran")
        names = [s["name"] for s in document["systems"]]
        with open_store(args, audit_config) as store:
            previous = store.latest_audits(names)
            if any(entry.run_id == document["run"]["id"] for entry in previous.values()):
                raise UsageError(f"merge refused: the ledger already holds audit "
                                 f"{document['run']['id']} (merged before)")
            policy = policy_sha256(audit_config)
            changes = {}
            for system in document["systems"]:
                keys = [k for k in document["inventory"] if k["system"] == system["name"]]
                found = detect_changes(system, keys, policy, previous.get(system["name"]))
                if found:
                    changes[system["name"]] = found
            return len(store.append(audit_drafts(document, changes, previous)))

    return guarded(record)(args)


def _write_reports(args: argparse.Namespace, evidence: Evidence) -> None:
    from .reporting.evidence import write_evidence

    write_evidence(evidence, _path(args.json))
    if args.markdown:
        from .reporting.markdown import render_markdown

        _path(args.markdown).write_text(render_markdown(evidence), encoding="utf-8")
    if args.oscal:
        from .reporting.oscal import write_oscal

        write_oscal(evidence, _path(args.oscal))
    if args.cbom:
        from .reporting.cbom import require_cyclonedx, write_cbom

        require_cyclonedx()
        write_cbom(evidence, _path(args.cbom))
    if args.pq:
        from .reporting.pq_inventory import write_pq_inventory

        write_pq_inventory(evidence, _path(args.pq))
    if args.junitxml:
        _path(args.junitxml).write_bytes(junit_xml(evidence))
    if args.html:
        _path(args.html).write_text(html_page(evidence), encoding="utf-8")


def _path(option: str) -> Path:
    path = Path(option)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


#: Outcome -> the JUnit element that carries it (a passed result has none).
_JUNIT = {"failed": "failure", "error": "error", "skipped": "skipped", "waived": "skipped"}


def junit_xml(evidence: Evidence) -> bytes:
    """One test case per result, with its control metadata as properties."""
    results = evidence.results
    suite = ElementTree.Element("testsuite", {
        "name": "cryptoaudit", "tests": str(len(results)),
        "failures": str(sum(r.outcome == "failed" for r in results)),
        "errors": str(sum(r.outcome == "error" for r in results)),
        "skipped": str(sum(r.outcome in ("skipped", "waived") for r in results)),
        "timestamp": evidence.run.started})
    for result in results:
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": result.nodeid.split("::")[0], "name": result.nodeid.split("::")[-1],
            "time": f"{result.duration:.3f}"})
        properties = ElementTree.SubElement(case, "properties")
        pairs = [("control", result.control), ("check", result.check),
                 ("system", result.system), ("key_uid", result.key_uid),
                 ("risk_tier", str(result.risk_tier)), ("owner", result.owner),
                 ("accountable_owner", result.accountable_owner)]
        if result.carried:
            pairs.append(("carried_from", f"{result.carried.run} {result.carried.at}"))
        for name, value in pairs:
            ElementTree.SubElement(properties, "property", {"name": name, "value": value})
        element = _JUNIT.get(str(result.outcome))
        if element:
            ElementTree.SubElement(case, element, {"message": result.message})
    root = ElementTree.Element("testsuites")
    root.append(suite)
    text: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return text


def html_page(evidence: Evidence) -> str:
    """A standalone page: the run, the summary per control, the ranked findings."""
    from html import escape

    from .reporting.html import summary_html

    title = f"Crypto audit {escape(evidence.run.id)}"
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"</head><body><h1>{title}</h1><p>Merged from "
            f"{plural(len(evidence.run.merged_from), 'shard')} on {made}.</p>"
            f"{summary_html(evidence)}</body></html>\n")
