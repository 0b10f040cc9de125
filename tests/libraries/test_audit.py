"""Audits of root filesystems and images: every planted weakness is a finding that names the
library, clean ones pass, a distribution's support decides for its packages, and a failure
to look is an error naming what could not be read."""

from __future__ import annotations

import json
import re
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from pytest_cryptoaudit.findings import finding_id
from pytest_cryptoaudit.providers.libraries.packages import os_release
from pytest_cryptoaudit.testing import AuditRun
from tests.libraries.conftest import (
    BOOKWORM_RELEASE,
    BOOKWORM_STATUS,
    FIPS_FILES,
    audit,
    buster_status,
    dist_info,
    lifecycles_file,
    oci_layout,
    plant_root,
)
from tests.shared import once_per_run

TESTOS_RELEASE = b"ID=testos\nVERSION_ID=99\n"
TODAY = date.today()


def plant_estate(folder: Path) -> Path:
    """Planted roots and an image; the lifecycles override dates test data around today."""
    plant_root(folder / "bookworm", BOOKWORM_STATUS.read_text(), BOOKWORM_RELEASE.read_text())
    plant_root(folder / "buster", buster_status(),
               BOOKWORM_RELEASE.read_text().replace('VERSION_ID="12"', 'VERSION_ID="10"'))
    plant_root(folder / "unnamed", BOOKWORM_STATUS.read_text(), "")
    (folder / "unnamed/etc/os-release").unlink()
    mixed = plant_root(folder / "mixed", BOOKWORM_STATUS.read_text(), "")
    (mixed / "etc/os-release").unlink()
    newer = {name.replace("python3.12", "python3.13"): content
             for name, content in dist_info("cryptography", "46.0.1").items()}
    for name, content in {**dist_info("cryptography", "3.4.8"), **newer}.items():
        (mixed / name).parent.mkdir(parents=True)
        (mixed / name).write_bytes(content)
    fips = plant_root(folder / "fips", BOOKWORM_STATUS.read_text(), BOOKWORM_RELEASE.read_text())
    for name, text in FIPS_FILES.items():
        (fips / name).parent.mkdir(parents=True, exist_ok=True)
        (fips / name).write_text(text)
    oci_layout(folder / "image", [
        {"etc/os-release": TESTOS_RELEASE, "var/lib/dpkg/status": BOOKWORM_STATUS.read_bytes(),
         **dist_info("cryptography", "3.4.8")}])
    data = json.loads(lifecycles_file(folder).read_text())
    data["upstream"]["cryptography"] = {"source": "test", "cycles": {
        "3.4": (TODAY - timedelta(days=30)).isoformat()}}
    (folder / "lifecycles.json").write_text(json.dumps(data))
    (folder / "osv").mkdir()
    (folder / "osv/DSA-TEST.json").write_text(json.dumps({
        "id": "DSA-TEST-1", "database_specific": {"severity": "high"},
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "gnutls28"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [
                          {"introduced": "0"}, {"fixed": "3.7.9-2+deb12u99"}]}]}]}))
    return folder


def audit_estate(folder: Path) -> dict:
    estate = plant_estate(folder)
    common = {"lifecycles": "lifecycles.json"}
    systems = [
        {"name": "bookworm", "risk_tier": "high", "root": "bookworm", "advisories": "osv",
         **common},
        {"name": "buster", "risk_tier": "critical", "root": "buster", **common},
        {"name": "unnamed", "risk_tier": "low", "root": "unnamed", **common},
        {"name": "mixed", "risk_tier": "low", "root": "mixed", **common},
        {"name": "fips", "risk_tier": "critical", "root": "fips", **common},
        {"name": "image", "risk_tier": "medium", "image": "image", **common},
        {"name": "missing", "risk_tier": "low", "image": "nowhere.tar", **common},
    ]
    run = audit(estate, systems, policy={"library_fips_required": {"critical": True}})
    return {"ret": run.ret, "output": run.output, "evidence": run.evidence}


@pytest.fixture(scope="session")
def audited(tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    """The planted estate audited once per run (the xdist workers share it)."""
    _folder, stored = once_per_run(tmp_path_factory, "libraries-estate", audit_estate)
    return AuditRun(stored["ret"], stored["output"], stored["evidence"])


def outcome(run, check, system):
    return run.outcome(check, f"libraries:{system}")


def library(run, system, name, version=None, source=None):
    """The uid of one library of a system in the evidence (exactly one must match)."""
    (found,) = [lib["uid"] for lib in run.evidence["libraries"]
                if lib["system"] == system and lib["name"] == name
                and version in (None, lib["version"]) and source in (None, lib["source"])]
    return found


def outcomes(run, check, system):
    """(library name, version) -> outcome of a per-library check in one system."""
    libraries = {lib["uid"]: lib for lib in run.evidence["libraries"]}
    return {(libraries[r["key_uid"]]["name"], libraries[r["key_uid"]]["version"]): r["outcome"]
            for r in run.results(check=check, system=system)}


def test_each_library_is_a_subject_with_its_own_result(audited):
    found = outcomes(audited, "library-version-supported", "bookworm")
    assert found == {name: "passed" for name in found}
    assert {name for name, _ in found} == {"cryptography", "gnutls", "libgcrypt", "libsodium",
                                           "nss", "openssl"}
    uids = [lib["uid"] for lib in audited.evidence["libraries"] if lib["system"] == "bookworm"]
    ids = {finding_id("bookworm", "CEK-03", "library-version-supported", uid) for uid in uids}
    assert len(ids) == len(uids) == 6  # a finding id of its own each
    assert not [r for r in audited.results(system="bookworm")
                if r["check"] in ("library-supported", "library-advisories")]


def test_a_distributions_support_decides(audited):
    openssl = library(audited, "bookworm", "openssl")
    assert audited.outcome("library-version-supported", openssl) == "passed"
    notes = " ".join(audited.result("library-version-supported", openssl).get("notes", []))
    if date(2026, 9, 7) < TODAY:
        assert "upstream support of openssl 3.0 ended 2026-09-07" in notes
        assert "debian 12 patches it until 2028-06-30" in notes


def test_a_release_past_security_support_is_a_finding(audited):
    found = outcomes(audited, "library-version-supported", "buster")
    assert found and set(found.values()) == {"failed"}
    openssl = library(audited, "buster", "openssl")
    message = audited.message("library-version-supported", openssl)
    assert "openssl 1.1.1n" in message and "libssl1.1" in message
    assert "debian 10 security support ended 2024-06-30" in message
    assert "gnutls" not in message  # each library is its own finding


def test_vendored_library_past_upstream_end_and_versions_noted(audited):
    old = library(audited, "image", "cryptography", source="python")
    assert audited.outcome("library-version-supported", old) == "failed"
    message = audited.message("library-version-supported", old)
    assert "cryptography 3.4.8 (python cryptography at /usr/local/lib/python3.12/site-packages" \
        in message
    packaged = library(audited, "image", "cryptography", source="dpkg")
    assert audited.outcome("library-version-supported", packaged) == "passed"  # testos 99
    assert outcome(audited, "library-one-version", "image") == "passed"
    notes = " ".join(audited.result("library-one-version", "libraries:image")["notes"])
    assert re.search(r"cryptography in 2 versions \(3\.4\.8, 38\.0\.4\)", notes)


def test_a_cycle_not_in_the_data_is_named_never_passed_silently(audited):
    """cryptography is in the data with cycle 3.4 only: 46.0.1 has no support data (a note
    names it); 3.4.8 past its end is a finding; the distribution packages it cannot judge
    (no os-release) are errors of their own."""
    old = library(audited, "mixed", "cryptography", "3.4.8")
    assert audited.outcome("library-version-supported", old) == "failed"
    new = library(audited, "mixed", "cryptography", "46.0.1")
    assert audited.outcome("library-version-supported", new) == "passed"
    assert "no support data for cryptography 46.0.1: support not judged" in " ".join(
        audited.result("library-version-supported", new)["notes"])
    openssl = library(audited, "mixed", "openssl")
    assert audited.outcome("library-version-supported", openssl) == "error"
    assert "an unnamed distribution (no os-release)" in audited.message(
        "library-version-supported", openssl)


def test_unknown_distribution_cannot_be_judged(audited):
    found = outcomes(audited, "library-version-supported", "unnamed")
    assert found and set(found.values()) == {"error"}
    assert "an unnamed distribution (no os-release)" in audited.message(
        "library-version-supported", library(audited, "unnamed", "gnutls"))


def test_advisories_of_an_osv_export(audited):
    gnutls = library(audited, "bookworm", "gnutls")
    assert audited.outcome("library-version-advisories", gnutls) == "failed"
    message = audited.message("library-version-advisories", gnutls)
    assert "gnutls 3.7.9" in message and "DSA-TEST-1 (high; fixed in 3.7.9-2+deb12u99)" in message
    openssl = library(audited, "bookworm", "openssl")
    assert audited.outcome("library-version-advisories", openssl) == "passed"
    checks = {r["check"] for r in audited.results(system="buster")}
    assert "library-version-advisories" not in checks  # no export named for it


def test_fips_mode_where_the_tier_requires_it(audited):
    assert outcome(audited, "library-fips-mode", "fips") == "passed"
    assert outcome(audited, "library-fips-mode", "buster") == "failed"
    assert "tier critical requires FIPS mode: no OpenSSL configuration" in audited.message(
        "library-fips-mode", "libraries:buster")
    assert outcome(audited, "library-fips-mode", "bookworm") == "passed"
    assert "not required at tier high" in " ".join(
        audited.result("library-fips-mode", "libraries:bookworm")["notes"])


def test_an_image_that_is_not_there_is_an_error(audited):
    errors = [r for r in audited.results(system="missing") if r["outcome"] == "error"]
    assert errors and all("nowhere.tar" in r["message"] for r in errors)
    assert not [r for r in audited.results(system="missing") if r["outcome"] == "passed"]


def test_libraries_are_in_the_evidence_with_their_sources(audited):
    system = next(s for s in audited.evidence["systems"] if s["name"] == "bookworm")
    assert system["component"] == "encryption-libraries"
    assert system["libraries_found"] == len(system["attributes"]["libraries"]) == 6
    openssl = next(lib for lib in audited.evidence["libraries"]
                   if lib["system"] == "bookworm" and lib["name"] == "openssl")
    assert sorted(openssl["attributes"]["packages"]) == ["libssl3", "openssl"]
    assert (openssl["source"], openssl["path"], openssl["layer"]) == (
        "dpkg", "/var/lib/dpkg/status", None)
    assert openssl["attributes"]["distribution"] == "debian 12"
    assert "openssl-library.org" in openssl["attributes"]["lifecycle"]["upstream"]["source"]
    assert outcome(audited, "scope-coverage", "bookworm") == "passed"
    assert "encryption-libraries" in audited.evidence["scope"]["components"]
    assert audited.evidence["scope"]["items"] == {
        "encryption-libraries": ["bookworm", "buster", "fips", "image", "mixed", "unnamed"]}
    notes = audited.result("scope-coverage", "libraries:bookworm")["notes"]
    count = len(system["attributes"]["libraries"])
    assert f"scope items audited: encryption-libraries ({count} libraries)" in notes


def test_this_host(tmp_path):
    """This machine as it is: its dpkg database, its interpreter, a Go binary."""
    release = os_release(Path("/")) or {}
    systems = [{"name": "host", "risk_tier": "low", "root": "/", "python": [sys.executable]}]
    run = audit(tmp_path, systems)
    host = next(s for s in run.evidence["systems"] if s["name"] == "host")
    names = {lib["name"] for lib in host["attributes"]["libraries"]}
    assert "cryptography" in names
    if release.get("ID") == "debian" and release.get("VERSION_ID") in ("12", "13"):
        assert "openssl" in names
        openssl = [lib["uid"] for lib in run.evidence["libraries"]
                   if lib["system"] == "host" and lib["name"] == "openssl"]
        assert {run.outcome("library-version-supported", uid) for uid in openssl} == {"passed"}
    assert outcome(run, "scope-coverage", "host") == "passed"
