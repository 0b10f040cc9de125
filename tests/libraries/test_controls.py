"""The per-library checks on planted library records (the memory provider): one result per
library, the distribution's support deciding for its packages, the upstream end for vendored
ones, advisories at the severities policy counts, and a failure to judge an error."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from pytest_cryptoaudit.testing import audit_pytester, library_record

TODAY = date.today()
PAST, FUTURE = (TODAY - timedelta(days=10)).isoformat(), (TODAY + timedelta(days=400)).isoformat()


def _lifecycle(upstream: str | None, release: str | None = None) -> dict:
    found: dict = {"upstream": {"cycle": "3.0", "ends": upstream, "source": "upstream.example"}
                   if upstream else None}
    if release is not None:
        found["distribution"] = {"release": "12", "ends": release, "source": "distro"}
    return found


def _distributed(uid, upstream, release, **attributes):
    return library_record(uid, "openssl", "3.0.19", attributes={
        "packages": ["libssl3"], "distribution": "debian 12",
        "lifecycle": _lifecycle(upstream, release), **attributes})


def _vendored(uid, upstream, **attributes):
    return library_record(uid, "cryptography", "3.4.8", source="python",
                          path="/usr/lib/python3/site-packages", attributes={
                              "packages": ["cryptography"], "lifecycle": _lifecycle(upstream),
                              **attributes})


INVENTORY = [
    _distributed("lib:patched", PAST, FUTURE),
    _distributed("lib:release-ended", PAST, PAST),
    library_record("lib:no-release", "gnutls", "3.7.9", attributes={
        "packages": ["libgnutls30"], "distribution": None,
        "lifecycle": {"upstream": None, "distribution": None}}),
    _vendored("lib:vendored-ended", PAST),
    _vendored("lib:vendored-supported", FUTURE),
    _vendored("lib:vendored-undated", None),
    _distributed("lib:release-ends-today", FUTURE, TODAY.isoformat()),
    _vendored("lib:ended-yesterday", (TODAY - timedelta(days=1)).isoformat()),
    _vendored("lib:advised", FUTURE, advisories=[
        {"id": "GHSA-1", "severity": "high", "fix": "fixed in 3.4.9"}]),
    _vendored("lib:advised-low", FUTURE, advisories=[
        {"id": "GHSA-2", "severity": "low", "fix": "no fixed version"}]),
]


def test_each_library_gets_its_own_verdict(pytester):
    run = audit_pytester(pytester, "--cryptoaudit-control", "CEK-03", inventory=INVENTORY,
                         config={"policy": {"library_advisory_severities": ["high"]}})
    supported = {uid: run.outcome("library-version-supported", uid) for uid in (
        "lib:patched", "lib:release-ended", "lib:no-release", "lib:vendored-ended",
        "lib:vendored-supported", "lib:vendored-undated")}
    assert supported == {"lib:patched": "passed", "lib:release-ended": "failed",
                         "lib:no-release": "error", "lib:vendored-ended": "failed",
                         "lib:vendored-supported": "passed", "lib:vendored-undated": "passed"}
    notes = " ".join(run.result("library-version-supported", "lib:patched")["notes"])
    assert f"upstream support of openssl 3.0 ended {PAST}" in notes
    assert "debian 12 patches it" in notes
    assert f"debian 12 security support ended {PAST}" in run.message(
        "library-version-supported", "lib:release-ended")
    assert "(upstream.example)" in run.message("library-version-supported",
                                               "lib:vendored-ended")
    assert "no os-release" in run.message("library-version-supported", "lib:no-release")
    assert "support not judged" in " ".join(
        run.result("library-version-supported", "lib:vendored-undated")["notes"])
    assert run.outcome("library-version-advisories", "lib:advised") == "failed"
    assert "GHSA-1 (high; fixed in 3.4.9)" in run.message("library-version-advisories",
                                                          "lib:advised")
    assert run.outcome("library-version-advisories", "lib:advised-low") == "passed"
    assert "GHSA-2" in " ".join(run.result("library-version-advisories",
                                           "lib:advised-low")["notes"])
    assert run.outcome("library-version-supported", "lib:release-ends-today") == "passed"
    assert run.outcome("library-version-supported", "lib:ended-yesterday") == "failed"
    advised = {r["key_uid"] for r in run.results(check="library-version-advisories")}
    assert advised == {"lib:advised", "lib:advised-low"}  # no export, no check


def test_the_cbom_lists_each_library(pytester):
    pytest.importorskip("cyclonedx", reason="the [cbom] extra is not installed")
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from pytest_cryptoaudit.reporting.cbom import build_cbom

    layered = library_record("lib:layered", "openssl", "3.0.19", layer="sha256:" + "ab" * 32,
                             attributes={"packages": ["libssl3", "openssl"],
                                         "package_version": "3.0.19-1~deb12u2",
                                         "distribution": "debian 12",
                                         "lifecycle": _lifecycle(FUTURE, FUTURE)})
    run = audit_pytester(pytester, "--cryptoaudit-control", "CEK-03",
                         inventory=[*INVENTORY[:2], layered])
    text = build_cbom(run.evidence)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    components = {c["bom-ref"]: c for c in json.loads(text)["components"]}
    openssl = components["library:lib:layered"]
    assert (openssl["type"], openssl["name"], openssl["version"]) == ("library", "openssl",
                                                                      "3.0.19")
    properties = {p["name"]: p["value"] for p in openssl["properties"]}
    assert properties["cryptoaudit:layer"] == "sha256:" + "ab" * 32
    assert properties["cryptoaudit:packages"] == "libssl3, openssl"
    assert len([ref for ref in components if ref.startswith("library:")]) == 3
