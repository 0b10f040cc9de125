"""The encryption-library pack (``libraries.py``) on planted library inventories: support by
the distribution or upstream on the audit date, advisories at the counted severities, and FIPS
mode per tier, with the errors of what cannot be judged. The selection
``scripts/mutation.py`` runs against that module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import controls.libraries as libraries

from .judge import Verdict, controls_of, judge, policy, spec_of, system

LIFECYCLES = {
    "upstream": {"openssl": {"source": "https://openssl-library.org/policies releases",
                             "cycles": {"3.0": "2026-09-07", "1.1.1": "2023-09-11"}},
                 "go": {"cycles": {"1.21": "2024-08-13"}}},
    "distributions": {"debian": {"releases": {"12": {"security": "2026-06-10",
                                                     "lts": "2028-06-30"}}}},
}
TODAY = datetime(2026, 12, 5, 12, tzinfo=UTC)


def lib(name: str = "openssl", version: str = "3.0.15", source: str = "dpkg",
        distribution: str | None = "debian 12", **fields: Any) -> dict[str, Any]:
    found = {"name": name, "version": version, "source": source, "package": "libssl3",
             "location": "/var/lib/dpkg/status", **fields}
    if distribution is not None:
        found["distribution"] = distribution
    return found


def host(*found: dict[str, Any], tier: str = "high", **attributes: Any) -> Any:
    return system("web-1", provider="libraries", tier=tier, attributes={
        "libraries": list(found), "lifecycles": LIFECYCLES, **attributes})


def supported(*found: dict[str, Any], now: datetime = TODAY) -> Verdict:
    return judge(libraries.test_library_supported, host(*found), crypto_now=now)


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(libraries)] == [
        "library-supported", "library-advisories", "library-fips-mode"]


def test_applicability() -> None:
    assert spec_of(libraries.test_library_supported).applies_to(host())
    assert not spec_of(libraries.test_library_supported).applies_to(system("kms"))
    advisories = spec_of(libraries.test_library_advisories)
    assert not advisories.applies_to(host())
    assert advisories.applies_to(host(advisory_source="osv.json"))


# -- support -----------------------------------------------------------------------------------

LABEL = "openssl {v} (dpkg libssl3 at /var/lib/dpkg/status)"


def test_distribution_support_decides_over_upstream() -> None:
    verdict = supported(lib("openssl", "1.1.1w"))
    assert verdict == Verdict("passed", notes=(
        f"{LABEL.format(v='1.1.1w')}: upstream support of openssl 1.1.1 ended 2023-09-11; "
        "debian 12 patches it until 2028-06-30, which decides",))


def test_upstream_end_is_noted_only_after_its_last_day() -> None:
    assert supported(lib(), now=datetime(2026, 6, 1, tzinfo=UTC)) == Verdict("passed")
    assert supported(lib(), now=datetime(2026, 9, 7, tzinfo=UTC)) == Verdict("passed")
    assert supported(lib(), now=datetime(2026, 9, 8, tzinfo=UTC)).notes == (
        f"{LABEL.format(v='3.0.15')}: upstream support of openssl 3.0 ended 2026-09-07; "
        "debian 12 patches it until 2028-06-30, which decides",)


def test_distribution_support_on_its_last_day_passes() -> None:
    assert supported(lib(), now=datetime(2028, 6, 30, tzinfo=UTC)).outcome == "passed"


def test_distribution_past_support_fails() -> None:
    verdict = supported(lib(), now=datetime(2028, 7, 1, tzinfo=UTC))
    assert verdict.outcome == "failed"
    assert verdict.message == (f"1 crypto library past support: {LABEL.format(v='3.0.15')}: "
                               "debian 12 security support ended 2028-06-30")


def test_package_of_an_unknown_distribution_is_an_error() -> None:
    verdict = supported(lib(distribution="alpine 3.19"))
    assert verdict == Verdict("error", "CryptoAuditError: cannot judge support: "
                                       f"{LABEL.format(v='3.0.15')}: no security-support data "
                                       "for alpine 3.19")
    unnamed = supported(lib(distribution=None))
    assert unnamed.message.endswith("no security-support data for an unnamed distribution "
                                    "(no os-release)")
    release = supported(lib(distribution="debian 11"))
    assert release.outcome == "error"


def test_unjudged_libraries_are_noted_beside_a_finding() -> None:
    verdict = supported(lib(distribution="alpine 3.19"),
                        lib("go", "1.21.5", "go-binary", None, package="app"),
                        now=TODAY)
    assert verdict.outcome == "failed"
    assert verdict.message.startswith("1 crypto library past support: go 1.21.5 (go-binary "
                                      "app at /var/lib/dpkg/status): upstream support of go "
                                      "1.21 ended 2024-08-13")
    assert verdict.notes == (
        f"cannot judge support: {LABEL.format(v='3.0.15')}: no security-support data for "
        "alpine 3.19",)


def test_vendored_library_judged_on_upstream() -> None:
    wheel = lib("openssl", "3.0.15", "wheel", None, packages=["cryptography"],
                location="site-packages")
    assert supported(wheel, now=datetime(2026, 9, 7, tzinfo=UTC)) == Verdict("passed")
    verdict = supported(wheel, now=datetime(2026, 9, 8, tzinfo=UTC))
    assert verdict == Verdict("failed", (
        "1 crypto library past support: openssl 3.0.15 (wheel cryptography at "
        "site-packages): upstream support of openssl 3.0 ended 2026-09-07 "
        "(https://openssl-library.org/policies)"))


def test_vendored_library_without_data_is_noted() -> None:
    verdict = supported(lib("boringssl", "1", "go-binary", None),
                        lib("boringssl", "1", "go-binary", None), lib("wolfssl", "5", "jar"))
    assert verdict == Verdict("passed", notes=(
        "no support data for boringssl 1, wolfssl 5: support not judged (add its cycle to the "
        "provider's lifecycles file)",))


def test_several_versions_of_one_library_are_noted() -> None:
    verdict = supported(lib(version="3.0.15"), lib(version="3.0.13"), lib("go", "1.21.5", "go"))
    assert "openssl in 2 versions (3.0.13, 3.0.15)" in verdict.notes
    assert not any(n.startswith("go in") for n in verdict.notes)


def test_many_findings_are_counted_and_listed_ten() -> None:
    old = [lib(version=f"1.1.1{c}", source="wheel", distribution=None)
           for c in "abcdefghijklmnopqrstuvwxy"]
    verdict = supported(*old)
    assert verdict.message.startswith("25 crypto libraries past support: ")
    assert verdict.message.count("upstream support of openssl 1.1.1 ended") == 10
    assert verdict.message.endswith("; and 15 more")


def test_lifecycles_unreadable_is_an_error() -> None:
    record = system("web-1", provider="libraries", attributes={"libraries": []},
                    unreadable={"lifecycles": "file missing"})
    assert judge(libraries.test_library_supported, record) == Verdict(
        "error", "lifecycles: file missing")


# -- advisories --------------------------------------------------------------------------------

def advisory(severity: str, ident: str = "CVE-2024-1") -> dict[str, str]:
    return {"id": ident, "severity": severity, "fix": "fixed in 3.0.16"}


def advised(*found: dict[str, Any], counted: list[str] | None = None) -> Verdict:
    chosen = policy(library_advisory_severities=counted) if counted else policy()
    return judge(libraries.test_library_advisories, host(*found, advisory_source="osv.json"),
                 crypto_policy=chosen)


def test_no_advisory_passes() -> None:
    assert advised(lib()) == Verdict("passed")


def test_counted_advisories_fail() -> None:
    verdict = advised(lib(advisories=[advisory("HIGH"), advisory("low", "CVE-2024-2")]))
    assert verdict == Verdict("failed", (
        f"2 advisories affect installed crypto libraries: {LABEL.format(v='3.0.15')}: "
        f"CVE-2024-1 (HIGH; fixed in 3.0.16); {LABEL.format(v='3.0.15')}: CVE-2024-2 (low; "
        "fixed in 3.0.16)"))


def test_uncounted_advisories_are_notes() -> None:
    verdict = advised(lib(advisories=[advisory("low"), advisory("Critical", "CVE-2")]),
                      counted=["CRITICAL"])
    assert verdict == Verdict("failed", (
        f"1 advisory affect installed crypto libraries: {LABEL.format(v='3.0.15')}: CVE-2 "
        "(Critical; fixed in 3.0.16)"), (
        f"{LABEL.format(v='3.0.15')}: CVE-2024-1 (low; fixed in 3.0.16)",))


# -- FIPS --------------------------------------------------------------------------------------

FIPS_ON = {"openssl": {"config": "/etc/ssl/openssl.cnf", "fips_provider_active": True,
                       "default_properties_fips": True}, "kernel_fips_enabled": True}
REQUIRED = policy(library_fips_required={"high": True})


def fips(state: dict[str, Any], required: bool = True) -> Verdict:
    return judge(libraries.test_library_fips_mode, host(fips=state),
                 crypto_policy=REQUIRED if required else policy())


def test_fips_mode_on_passes() -> None:
    assert fips(FIPS_ON) == Verdict("passed")
    assert fips({**FIPS_ON, "kernel_fips_enabled": None}) == Verdict("passed")


@pytest.mark.parametrize(("state", "described"), [
    ({"openssl": None}, "no OpenSSL configuration"),
    ({**FIPS_ON, "kernel_fips_enabled": False},
     "/etc/ssl/openssl.cnf: fips provider active, default fips=yes set; kernel fips_enabled=0"),
    ({"openssl": {**FIPS_ON["openssl"], "fips_provider_active": False}},
     "/etc/ssl/openssl.cnf: fips provider not active, default fips=yes set"),
    ({"openssl": {**FIPS_ON["openssl"], "default_properties_fips": False},
      "kernel_fips_enabled": True},
     "/etc/ssl/openssl.cnf: fips provider active, default fips=yes not set; kernel "
     "fips_enabled=1"),
])
def test_fips_mode_off_fails_where_required(state: dict[str, Any], described: str) -> None:
    assert fips(state) == Verdict("failed", f"tier high requires FIPS mode: {described}")


def test_fips_not_required_is_noted() -> None:
    assert fips({"openssl": None}, required=False) == Verdict("passed", notes=(
        "FIPS mode not required at tier high by policy (no OpenSSL configuration)",))
