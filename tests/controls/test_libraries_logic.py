"""The encryption-library pack (``libraries.py``) on planted library inventories: support by
the distribution or upstream on the audit date, advisories at the counted severities, and FIPS
mode per tier, with the errors of what cannot be judged. The selection
``scripts/mutation.py`` runs against that module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import controls.libraries as libraries
from pytest_cryptoaudit.model import LibraryRecord

from .judge import Verdict, controls_of, fresh, judge, policy, spec_of, system

DEBIAN = {"release": "12", "ends": "2028-06-30", "source": "https://wiki.debian.org/LTS"}
OPENSSL_30 = {"cycle": "3.0", "ends": "2026-09-07",
              "source": "https://openssl-library.org/policies releases"}
OPENSSL_111 = {"cycle": "1.1.1", "ends": "2023-09-11", "source": ""}
TODAY = datetime(2026, 12, 5, 12, tzinfo=UTC)


def library(name: str = "openssl", version: str = "3.0.15", source: str = "dpkg",
            upstream: dict[str, Any] | None = OPENSSL_30,
            distribution: dict[str, Any] | None = DEBIAN,
            distribution_name: str | None = "debian 12", layer: str | None = None,
            tier: str = "high", **attributes: Any) -> LibraryRecord:
    """One library as the provider records it: its lifecycle already matched to the data."""
    lifecycle: dict[str, Any] = {"upstream": upstream}
    if source in libraries.DISTRIBUTION_SOURCES:
        lifecycle["distribution"] = distribution
        attributes.setdefault("distribution", distribution_name)
    attributes.setdefault("packages", ["libssl3"] if source == "dpkg" else [])
    return LibraryRecord(uid=fresh(f"libraries:web-1/{source}/{name}@{version}"),
                         system=fresh("web-1"), provider=fresh("libraries"),
                         risk_tier=tier, owner="CSC", name=name,  # type: ignore[arg-type]
                         version=version, source=source, path="/var/lib/dpkg/status",
                         layer=layer, attributes={"lifecycle": lifecycle, **attributes})


def host(*found: dict[str, Any], tier: str = "high", **attributes: Any) -> Any:
    return system("web-1", provider="libraries", tier=tier, attributes={
        "libraries": list(found), **attributes})


def supported(record: LibraryRecord, now: datetime = TODAY) -> Verdict:
    return judge(libraries.test_library_version_supported, record, crypto_now=now)


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(libraries)] == [
        "library-version-supported", "library-version-advisories", "library-one-version",
        "library-fips-mode"]


def test_applicability() -> None:
    assert spec_of(libraries.test_library_version_supported).applies_to(library())
    advisories = spec_of(libraries.test_library_version_advisories)
    assert not advisories.applies_to(library())
    assert advisories.applies_to(library(advisories=[]))
    for check in (libraries.test_library_one_version, libraries.test_library_fips_mode):
        assert spec_of(check).applies_to(host())
        assert not spec_of(check).applies_to(system("kms"))


# -- support -----------------------------------------------------------------------------------

LABEL = "openssl {v} (dpkg libssl3 at /var/lib/dpkg/status)"


def test_distribution_support_decides_over_upstream() -> None:
    verdict = supported(library(version="1.1.1w", upstream=OPENSSL_111))
    assert verdict == Verdict("passed", notes=(
        "upstream support of openssl 1.1.1 ended 2023-09-11; debian 12 patches it until "
        "2028-06-30, which decides",))


def test_upstream_end_is_noted_only_after_its_last_day() -> None:
    assert supported(library(), now=datetime(2026, 6, 1, tzinfo=UTC)) == Verdict("passed")
    assert supported(library(), now=datetime(2026, 9, 7, tzinfo=UTC)) == Verdict("passed")
    assert supported(library(), now=datetime(2026, 9, 8, tzinfo=UTC)).notes == (
        "upstream support of openssl 3.0 ended 2026-09-07; debian 12 patches it until "
        "2028-06-30, which decides",)


def test_distribution_support_on_its_last_day_passes() -> None:
    assert supported(library(), now=datetime(2028, 6, 30, tzinfo=UTC)).outcome == "passed"


def test_distribution_past_support_fails() -> None:
    verdict = supported(library(), now=datetime(2028, 7, 1, tzinfo=UTC))
    assert verdict.outcome == "failed"
    assert verdict.message == (f"{LABEL.format(v='3.0.15')}: debian 12 security support "
                               "ended 2028-06-30")


def test_the_layer_is_named() -> None:
    verdict = supported(library(layer="sha256:abc"), now=datetime(2028, 7, 1, tzinfo=UTC))
    assert verdict.message.startswith(
        "openssl 3.0.15 (dpkg libssl3 at /var/lib/dpkg/status, layer sha256:abc): ")


def test_package_of_an_unknown_distribution_is_an_error() -> None:
    verdict = supported(library(distribution=None, distribution_name="alpine 3.19"))
    assert verdict == Verdict("error", "CryptoAuditError: cannot judge support of "
                                       f"{LABEL.format(v='3.0.15')}: no security-support data "
                                       "for alpine 3.19")
    unnamed = supported(library(distribution=None, distribution_name=None))
    assert unnamed.message.endswith("no security-support data for an unnamed distribution "
                                    "(no os-release)")


def test_vendored_library_judged_on_upstream() -> None:
    wheel = library(source="python", packages=["cryptography"])
    assert supported(wheel, now=datetime(2026, 6, 1, tzinfo=UTC)) == Verdict("passed")
    assert supported(wheel, now=datetime(2026, 9, 7, tzinfo=UTC)) == Verdict("passed")
    verdict = supported(wheel, now=datetime(2026, 9, 8, tzinfo=UTC))
    assert verdict == Verdict("failed", (
        "openssl 3.0.15 (python cryptography at /var/lib/dpkg/status): upstream support of "
        "openssl 3.0 ended 2026-09-07 (https://openssl-library.org/policies)"))
    unsourced = supported(library(source="python", upstream=OPENSSL_111))
    assert unsourced.message.endswith("upstream support of openssl 1.1.1 ended 2023-09-11")


def test_vendored_library_without_data_is_noted() -> None:
    verdict = supported(library("boringssl", "1", "go-buildinfo", upstream=None))
    assert verdict == Verdict("passed", notes=(
        "no support data for boringssl 1: support not judged (add its cycle to the "
        "provider's lifecycles file)",))


def test_lifecycle_unreadable_is_an_error() -> None:
    record = LibraryRecord(uid="libraries:web-1/dpkg/openssl@3", system="web-1",
                           provider="libraries", risk_tier="high",  # type: ignore[arg-type]
                           owner="CSC", name="openssl", version="3", source="dpkg",
                           path="/var/lib/dpkg/status",
                           unreadable={"lifecycle": "file missing"})
    assert supported(record) == Verdict("error", "lifecycle: file missing")


# -- one version per image ---------------------------------------------------------------------

def test_several_versions_of_one_library_are_noted() -> None:
    found = [{"name": "openssl", "version": v} for v in ("3.0.15", "3.0.13")]
    verdict = judge(libraries.test_library_one_version,
                    host(*found, {"name": "go", "version": "1.21.5"}))
    assert verdict == Verdict("passed", notes=("openssl in 2 versions (3.0.13, 3.0.15)",))
    single = judge(libraries.test_library_one_version, host(*found[:1], *found[:1]))
    assert single == Verdict("passed")


# -- advisories --------------------------------------------------------------------------------

def advisory(severity: str, ident: str = "CVE-2024-1") -> dict[str, str]:
    return {"id": ident, "severity": severity, "fix": "fixed in 3.0.16"}


def advised(*found: dict[str, str], counted: list[str] | None = None) -> Verdict:
    chosen = policy(library_advisory_severities=counted) if counted else policy()
    return judge(libraries.test_library_version_advisories, library(advisories=list(found)),
                 crypto_policy=chosen)


def test_no_advisory_passes() -> None:
    assert advised() == Verdict("passed")


def test_counted_advisories_fail() -> None:
    verdict = advised(advisory("HIGH"), advisory("low", "CVE-2024-2"))
    assert verdict == Verdict("failed", (
        f"{LABEL.format(v='3.0.15')}: 2 advisories: CVE-2024-1 (HIGH; fixed in 3.0.16); "
        "CVE-2024-2 (low; fixed in 3.0.16)"))


def test_uncounted_advisories_are_notes() -> None:
    verdict = advised(advisory("low"), advisory("Critical", "CVE-2"), counted=["CRITICAL"])
    assert verdict == Verdict("failed", (
        f"{LABEL.format(v='3.0.15')}: 1 advisory: CVE-2 (Critical; fixed in 3.0.16)"), (
        "CVE-2024-1 (low; fixed in 3.0.16)",))


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
