"""End to end over real key files: every planted weakness is caught, every clean key passes."""

from __future__ import annotations

import jsonschema
import pytest

from pytest_cryptoaudit.reporting.evidence import evidence_schema
from tests.core.conftest import BROKEN, PLANTED, outcomes

#: Records of web-tier: 13 key files (the PKCS#12 bundle holds a key and a certificate) and
#: 9 certificate files (chain.pem holds the leaf and its CA): one per file that was read.
WEB_TIER_RECORDS = 24


def test_every_planted_weakness_fails(audited):
    found = outcomes(audited.evidence)
    missing = {pair for pair in PLANTED if found.get(pair) != "failed"}
    assert not missing, f"planted weaknesses not caught: {sorted(missing)}"


def test_every_clean_check_passes(audited):
    unexpected = {
        pair: outcome for pair, outcome in outcomes(audited.evidence).items()
        if pair not in PLANTED and not pair[0].startswith("files:bad/")
        and outcome != "passed"
        and not (pair[1] == "expiry-window" and outcome == "skipped")
    }
    assert not unexpected, unexpected


def test_each_broken_file_is_one_named_error(audited):
    results = audited.evidence["results"]
    errors = {r["key_uid"]: r for r in results if r["check"] == "discovery-complete"}
    assert set(errors) == BROKEN
    assert all(r["outcome"] == "error" for r in errors.values())
    assert "bad/oversized.pem" in errors["files:bad/oversized.pem"]["message"]
    assert "cap" in errors["files:bad/oversized.pem"]["message"]
    assert "no key or certificate" in errors["files:bad/junk.txt"]["message"]
    assert "broken-files" in errors["files:bad/junk.txt"]["message"]
    assert ("ERROR inventory.py::test_discovery_complete[discovery-complete-files:bad/junk.txt]"
            in audited.output)


def test_evidence_matches_its_schema(audited):
    evidence = audited.evidence
    jsonschema.validate(evidence, evidence_schema())
    assert evidence["run"]["config_sha256"]
    systems = {s["name"]: s for s in evidence["systems"]}
    web_tier = [k for k in evidence["inventory"] if k["system"] == "web-tier"]
    assert systems["web-tier"]["keys_found"] == len(web_tier) == WEB_TIER_RECORDS
    assert len(systems["broken-files"]["discovery_errors"]) == len(BROKEN)


def test_inventory_records_formats_and_encryption(audited):
    keys = {k["uid"]: k for k in audited.evidence["inventory"]}
    assert keys["files:keys/weak-rsa.pem"]["attributes"]["encrypted"] is False
    assert keys["files:keys/clean-rsa.pem"]["attributes"]["encrypted"] is True
    assert keys["files:keys/clean-rsa.pem"]["size"] == 3072
    assert keys["files:keys/clean-sec1.pem"]["curve"] == "secp384r1"
    assert keys["files:keys/clean-ssh"]["attributes"]["format"] == "OpenSSH"
    assert keys["files:keys/world-readable.pem"]["attributes"]["file_mode"] == "0644"
    assert keys["files:certs/chain.pem#2"]["certificate"]["is_ca"] is True
    assert keys["files:certs/clean.der"]["attributes"]["format"] == "DER"
    p12 = [uid for uid in keys if uid.startswith("files:keys/bundle.p12")]
    assert len(p12) == 2
    assert {keys[uid]["location"]["path"] for uid in p12} == {"keys/bundle.p12"}
    assert keys["files:certs/chain.pem#2"]["location"]["path"] == "certs/chain.pem"
    assert all("BEGIN" not in str(k) for k in keys.values())


def test_terminal_summary_groups_by_control(audited):
    lines = audited.output.splitlines()
    summary = lines[next(i for i, line in enumerate(lines) if "cryptoaudit summary" in line):]
    assert any(line.startswith("CEK-04   Encryption Algorithm") for line in summary)
    assert any(line.startswith("CEK-21   Key Inventory Management") for line in summary)
    assert any(line.endswith(" errors:") and " findings (" in line for line in summary)
    assert audited.ret == pytest.ExitCode.TESTS_FAILED


def test_file_keys_are_owned_through_their_systems_accountable_owner(audited):
    results = {(r["key_uid"], r["check"]): r for r in audited.evidence["results"]}
    owned = results[("files:keys/clean-rsa.pem", "has-owner")]
    assert (owned["outcome"], owned["accountable_owner"]) == ("passed", "web-team")
    orphan = results[("files:unowned/orphan.pub", "has-owner")]
    assert (orphan["outcome"], orphan["accountable_owner"]) == ("failed", "")
    assert "system 'unowned' sets no accountable_owner" in orphan["message"]
    systems = {s["name"]: s for s in audited.evidence["systems"]}
    assert systems["web-tier"]["accountable_owner"] == "web-team"
