"""Encryption libraries (CEK-03: protection with cryptographic libraries certified to approved
standards; CEK-09 guideline 3: the audit covers encryption libraries): supported versions and
known advisories judged per library (each one a subject of its own, see
``providers/libraries``), and what belongs to the host or image: FIPS mode, and more than one
version of a library in one image.

Who decides "supported": for a package of a distribution (dpkg, apk, rpm), the distribution's
security support of its release (Debian 12 still patches OpenSSL 3.0 after upstream ends it:
a note, not a finding); for a library built or vendored outside one (a Go toolchain in a
binary, a wheel, a jar), the upstream end of life. Dates are data with their sources.

The host-level ``library-supported`` and ``library-advisories`` of earlier releases are
retired in favour of the per-library checks (``findings.RETIRED_CHECKS``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.facts import reported
from pytest_cryptoaudit.references import ISO27001_A824, SP800_131A, ccm

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from pytest_cryptoaudit.model import LibraryRecord, SystemRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

#: Where a library comes from a distribution, whose security support decides.
DISTRIBUTION_SOURCES = frozenset({"dpkg", "apk", "rpm"})
REFERENCES = [ccm("CEK-09"), "CEK-09 guideline 3", ISO27001_A824]


def _libraries(system: SystemRecord) -> bool:
    """A host or image whose provider lists its crypto libraries."""
    return reported(system, "libraries")


def _with_advisories(library: LibraryRecord) -> bool:
    """A library matched against an advisory export the user pointed to."""
    return reported(library, "advisories")


def _label(library: LibraryRecord) -> str:
    packages = ", ".join(library.attributes.get("packages") or ())
    layer = f", layer {library.layer}" if library.layer else ""
    return (f"{library.name} {library.version} ({library.source} {packages} at "
            f"{library.path}{layer})")


def _distributed(library: LibraryRecord, lifecycle: Mapping[str, Any], today: date,
                 note: Callable[[str], None]) -> None:
    distribution = library.attributes.get("distribution")
    release = lifecycle.get("distribution")
    if release is None:
        raise CryptoAuditError(
            f"cannot judge support of {_label(library)}: no security-support data for "
            f"{distribution or 'an unnamed distribution (no os-release)'}")
    end = date.fromisoformat(release["ends"])
    assert today <= end, (
        f"{_label(library)}: {distribution} security support ended {end}")
    upstream = lifecycle.get("upstream")
    if upstream and today > date.fromisoformat(upstream["ends"]):
        note(f"upstream support of {library.name} {upstream['cycle']} ended "
             f"{upstream['ends']}; {distribution} patches it until {end}, which decides")


def _vendored(library: LibraryRecord, lifecycle: Mapping[str, Any], today: date,
              note: Callable[[str], None]) -> None:
    upstream = lifecycle.get("upstream")
    if upstream is None:
        note(f"no support data for {library.name} {library.version}: support not judged "
             "(add its cycle to the provider's lifecycles file)")
        return
    source = upstream.get("source", "")
    assert today <= date.fromisoformat(upstream["ends"]), (
        f"{_label(library)}: upstream support of {library.name} {upstream['cycle']} ended "
        f"{upstream['ends']}" + (f" ({source.split(' ')[0]})" if source else ""))


@pytest.mark.control(
    "CEK-03", check="library-version-supported",
    references=REFERENCES,
    remediation="Upgrade the library (or the distribution release) to a supported version, "
                "or rebuild the image or binary with one.",
    requires=["lifecycle"],
)
def test_library_version_supported(
    crypto_library: LibraryRecord, crypto_now: datetime, crypto_note: Callable[[str], None],
) -> None:
    """The crypto library is within its support on the audit date: the distribution's
    security support for a distribution's package, the upstream end of life otherwise."""
    lifecycle = crypto_library.attributes["lifecycle"]
    judge = _distributed if crypto_library.source in DISTRIBUTION_SOURCES else _vendored
    judge(crypto_library, lifecycle, crypto_now.date(), crypto_note)


@pytest.mark.control(
    "CEK-03", check="library-version-advisories",
    references=[*REFERENCES, "OSV schema 1.6"],
    remediation="Upgrade the library to the version that fixes the advisory, or record an "
                "approved waiver while the fix is rolled out.",
    applies_to=_with_advisories, requires=["advisories"],
)
def test_library_version_advisories(
    crypto_library: LibraryRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """No advisory of the user's export lists the library's version as affected (at the
    severities policy counts; the others are noted)."""
    counted = {s.lower() for s in crypto_policy["library_advisory_severities"]}
    findings = []
    for advisory in crypto_library.attributes["advisories"]:
        text = f"{advisory['id']} ({advisory['severity']}; {advisory['fix']})"
        if advisory["severity"].lower() in counted:
            findings.append(text)
        else:
            crypto_note(text)
    assert not findings, (
        f"{_label(crypto_library)}: {len(findings)} "
        f"advisor{'y' if len(findings) == 1 else 'ies'}: {'; '.join(findings)}")


@pytest.mark.control(
    "CEK-03", check="library-one-version",
    references=REFERENCES,
    remediation="Remove the older copies so one version of each library is patched and judged.",
    applies_to=_libraries, requires=["libraries"],
)
def test_library_one_version(
    crypto_system: SystemRecord, crypto_note: Callable[[str], None],
) -> None:
    """More than one version of the same library in one host or image is noted (each copy
    is judged on its own; the note says where the older ones hide)."""
    versions: dict[str, set[str]] = defaultdict(set)
    for library in crypto_system.attributes["libraries"]:
        versions[library["name"]].add(library["version"])
    for name, found in sorted(versions.items()):
        if len(found) > 1:
            crypto_note(f"{name} in {len(found)} versions ({', '.join(sorted(found))})")


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
