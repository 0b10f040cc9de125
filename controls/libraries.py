"""Encryption libraries (CEK-03: protection with cryptographic libraries certified to approved
standards; CEK-09 guideline 3: the audit covers encryption libraries): supported versions,
known advisories and FIPS mode, judged per host or image over the libraries its provider
found (``attributes["libraries"]``, see ``providers/libraries``).

Who decides "supported": for a package of a distribution (dpkg, apk, rpm), the distribution's
security support of its release (Debian 12 still patches OpenSSL 3.0 after upstream ends it:
a note, not a finding); for a library built or vendored outside one (a Go toolchain in a
binary, a wheel, a jar), the upstream end of life. Dates are data with their sources.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.facts import reported
from pytest_cryptoaudit.providers.libraries.versions import cycle_of
from pytest_cryptoaudit.references import ISO27001_A824, SP800_131A, ccm

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from pytest_cryptoaudit.model import SystemRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

#: Where a library comes from a distribution, whose security support decides.
DISTRIBUTION_SOURCES = frozenset({"dpkg", "apk", "rpm"})
REFERENCES = [ccm("CEK-09"), "CEK-09 guideline 3", ISO27001_A824]
SHOWN = 10


def _libraries(system: SystemRecord) -> bool:
    """A host or image whose provider lists its crypto libraries."""
    return reported(system, "libraries")


def _with_advisories(system: SystemRecord) -> bool:
    """A library inventory matched against an advisory export the user pointed to."""
    return reported(system, "libraries") and reported(system, "advisory_source")


def _label(library: Mapping[str, Any]) -> str:
    packages = ", ".join(library.get("packages") or [library.get("package", "")])
    return (f"{library['name']} {library['version']} ({library['source']} {packages} at "
            f"{library['location']})")


def _listing(items: list[str]) -> str:
    more = f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


def _upstream_end(library: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[str, date] | None:
    """The upstream cycle of the library's version and the day its support ends."""
    cycles = data["upstream"].get(library["name"], {}).get("cycles", {})
    cycle = cycle_of(library["version"], cycles)
    return (cycle, date.fromisoformat(cycles[cycle])) if cycle else None


def _distribution_end(distribution: str, data: Mapping[str, Any]) -> date | None:
    """The last day the distribution release gets security fixes (LTS included)."""
    name, _, version = distribution.partition(" ")
    releases = data["distributions"].get(name, {}).get("releases", {})
    release = cycle_of(version, releases)
    if release is None:
        return None
    return max(date.fromisoformat(day) for day in releases[release].values())


def _judge_distributed(library: Mapping[str, Any], data: Mapping[str, Any], today: date,
                       verdict: dict[str, list[str]]) -> None:
    label, distribution = _label(library), library.get("distribution")
    end = _distribution_end(distribution, data) if distribution else None
    if end is None:
        verdict["unjudged"].append(f"{label}: no security-support data for "
                                   f"{distribution or 'an unnamed distribution (no os-release)'}")
    elif today > end:
        verdict["findings"].append(f"{label}: {distribution} security support ended {end}")
    else:
        upstream = _upstream_end(library, data)
        if upstream and today > upstream[1]:
            verdict["notes"].append(
                f"{label}: upstream support of {library['name']} {upstream[0]} ended "
                f"{upstream[1]}; {distribution} patches it until {end}, which decides")


def _judge_vendored(library: Mapping[str, Any], data: Mapping[str, Any], today: date,
                    verdict: dict[str, list[str]]) -> None:
    upstream = _upstream_end(library, data)
    if upstream is None:
        verdict["undated"].append(f"{library['name']} {library['version']}")
    elif today > upstream[1]:
        source = data["upstream"][library["name"]].get("source", "")
        verdict["findings"].append(
            f"{_label(library)}: upstream support of {library['name']} {upstream[0]} ended "
            f"{upstream[1]}" + (f" ({source.split(' ')[0]})" if source else ""))


def _several_versions(libraries: list[Mapping[str, Any]]) -> list[str]:
    versions: dict[str, set[str]] = defaultdict(set)
    for library in libraries:
        versions[library["name"]].add(library["version"])
    return [f"{name} in {len(found)} versions ({', '.join(sorted(found))})"
            for name, found in sorted(versions.items()) if len(found) > 1]


@pytest.mark.control(
    "CEK-03", check="library-supported",
    references=REFERENCES,
    remediation="Upgrade the library (or the distribution release) to a supported version, "
                "or rebuild the image or binary with one.",
    applies_to=_libraries, requires=["libraries", "lifecycles"],
)
def test_library_supported(
    crypto_system: SystemRecord, crypto_now: datetime, crypto_note: Callable[[str], None],
) -> None:
    """Every crypto library is within its support on the audit date: the distribution's
    security support for a distribution's package, the upstream end of life otherwise."""
    data = crypto_system.attributes["lifecycles"]
    libraries = list(crypto_system.attributes["libraries"])
    today = crypto_now.date()
    verdict: dict[str, list[str]] = defaultdict(list)
    for library in libraries:
        judge = (_judge_distributed if library["source"] in DISTRIBUTION_SOURCES
                 else _judge_vendored)
        judge(library, data, today, verdict)
    for note in [*verdict["notes"], *_several_versions(libraries)]:
        crypto_note(note)
    if verdict["undated"]:
        crypto_note("no lifecycle data (add it to the provider's lifecycles file): "
                    + ", ".join(sorted(set(verdict["undated"]))))
    assert not verdict["findings"], (
        f"{len(verdict['findings'])} crypto librar{'y' if len(verdict['findings']) == 1 else 'ies'}"
        f" past support: {_listing(verdict['findings'])}")
    if verdict["unjudged"]:
        raise CryptoAuditError(f"cannot judge support: {_listing(verdict['unjudged'])}")


@pytest.mark.control(
    "CEK-03", check="library-advisories",
    references=[*REFERENCES, "OSV schema 1.6"],
    remediation="Upgrade the library to the version that fixes the advisory, or record an "
                "approved waiver while the fix is rolled out.",
    applies_to=_with_advisories, requires=["libraries", "advisory_source"],
)
def test_library_advisories(
    crypto_system: SystemRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """No crypto library is at a version an advisory of the user's export lists as affected
    (at the severities policy counts)."""
    counted = {s.lower() for s in crypto_policy["library_advisory_severities"]}
    findings = []
    for library in crypto_system.attributes["libraries"]:
        for advisory in library.get("advisories", ()):
            text = (f"{_label(library)}: {advisory['id']} ({advisory['severity']}; "
                    f"{advisory['fix']})")
            if advisory["severity"].lower() in counted:
                findings.append(text)
            else:
                crypto_note(text)
    assert not findings, (
        f"{len(findings)} advisor{'y' if len(findings) == 1 else 'ies'} affect installed "
        f"crypto libraries: {_listing(findings)}")


@pytest.mark.control(
    "CEK-03", check="library-fips-mode",
    references=["FIPS 140-3", SP800_131A, *REFERENCES],
    remediation="Install and activate the OpenSSL FIPS provider (fipsmodule.cnf included, "
                "`fips = fips_sect` with `activate = 1`, `default_properties = fips=yes`) "
                "and boot with fips=1.",
    applies_to=_libraries, requires=["fips"],
)
def test_library_fips_mode(
    crypto_system: SystemRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """OpenSSL runs in FIPS mode where the tier's policy requires it: the FIPS provider
    active, algorithms fetched with ``fips=yes``, and the kernel flag set where readable."""
    fips = crypto_system.attributes["fips"]
    openssl, kernel = fips.get("openssl"), fips.get("kernel_fips_enabled")
    state = ("no OpenSSL configuration" if openssl is None else
             f"{openssl['config']}: fips provider "
             f"{'active' if openssl['fips_provider_active'] else 'not active'}, "
             f"default fips=yes {'set' if openssl['default_properties_fips'] else 'not set'}")
    state += "" if kernel is None else f"; kernel fips_enabled={int(kernel)}"
    tier = crypto_system.risk_tier.value
    if not crypto_policy.for_tier("library_fips_required", tier):
        crypto_note(f"FIPS mode not required at tier {tier} by policy ({state})")
        return
    assert openssl is not None and openssl["fips_provider_active"] and \
        openssl["default_properties_fips"] and kernel is not False, (
            f"tier {tier} requires FIPS mode: {state}")
