"""HashiCorp Vault / OpenBao: transit key settings and server-wide controls.

The generic controls (key strength, key age, certificate checks) also run on Vault records;
these add what only a Vault-API server can tell: transit types and settings, compromised
versions, audit devices, the seal and the ACL policies. Transit rotation is judged by the
generic ``kms-rotation-enabled`` / ``kms-rotation-period`` (controls/managed_keys.py) from the
managed-key facts; the retired ``auto-rotate-period`` is an alias of both.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.model import EventKind
from pytest_cryptoaudit.providers.vault.policies import globs_overlap
from pytest_cryptoaudit.references import ISO27001_A824, SP800_131A, ccm

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from pytest_cryptoaudit.model import Event, KeyRecord, SystemRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

VAULT_SYSTEM = {"provider": "vault"}
REFS_ACCESS = [ccm("CEK-08"), ISO27001_A824, "NIST SP 800-57 Part 1 Rev 5, 6.1"]


def _transit(key: KeyRecord) -> bool:
    return key.provider == "vault" and "transit_type" in key.attributes


def _allowed(policy: Policy, name: str, key: KeyRecord) -> bool:
    return bool(policy.for_tier(name, key.risk_tier))


@pytest.mark.control(
    "CEK-04", check="transit-key-type",
    references=[SP800_131A, ISO27001_A824],
    remediation="Create a key of an allowed type, re-encrypt the data under it, and retire "
                "this key.",
    applies_to=_transit, requires=["transit_type"],
)
def test_transit_key_type(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The transit key type is one the policy allows for the key's tier."""
    allowed = crypto_policy.for_tier("vault_transit_key_types", crypto_key.risk_tier)
    key_type = crypto_key.attributes["transit_type"]
    assert key_type in allowed, (
        f"transit key type {key_type} is not allowed at tier {crypto_key.risk_tier.value} "
        f"(allowed: {', '.join(allowed)})"
    )


@pytest.mark.control(
    "CEK-10", check="transit-not-exportable",
    references=[ISO27001_A824, "NIST SP 800-57 Part 1 Rev 5, 6.2.2"],
    remediation="Exportable cannot be turned off: create a non-exportable key, re-encrypt the "
                "data under it, and delete this key.",
    applies_to=_transit, requires=["exportable"],
)
def test_transit_not_exportable(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key cannot be exported from Vault, unless the tier allows it."""
    assert not crypto_key.attributes["exportable"] or _allowed(
        crypto_policy, "vault_allow_exportable_keys", crypto_key), (
        f"key is exportable; tier {crypto_key.risk_tier.value} keeps keys inside Vault"
    )


@pytest.mark.control(
    "CEK-08", check="transit-no-plaintext-backup",
    references=[ISO27001_A824],
    remediation="Create a key without allow_plaintext_backup, re-encrypt the data under it, "
                "and delete this key (the setting cannot be turned off).",
    applies_to=_transit, requires=["allow_plaintext_backup"],
)
def test_transit_no_plaintext_backup(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key does not allow plaintext backups, unless the tier allows it."""
    assert not crypto_key.attributes["allow_plaintext_backup"] or _allowed(
        crypto_policy, "vault_allow_plaintext_backup", crypto_key), (
        f"allow_plaintext_backup is set; tier {crypto_key.risk_tier.value} forbids key "
        "material leaving Vault in the clear"
    )


@pytest.mark.control(
    "CEK-14", check="transit-deletion-protected",
    references=[ISO27001_A824, "NIST SP 800-57 Part 1 Rev 5, 8.3.4"],
    remediation="Set deletion_allowed=false on keys/NAME/config; allow it only in a reviewed "
                "destruction procedure.",
    applies_to=_transit, requires=["deletion_allowed"],
)
def test_transit_deletion_protected(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key cannot be deleted by a single API call, unless the tier allows it."""
    assert not crypto_key.attributes["deletion_allowed"] or _allowed(
        crypto_policy, "vault_allow_deletion", crypto_key), (
        f"deletion_allowed is set; tier {crypto_key.risk_tier.value} protects keys from "
        "deletion"
    )


def _compromises(key: KeyRecord, events: Sequence[Event]) -> list[Event]:
    """The key-compromise events of this key (or of its whole system, when no key is named)."""
    names = {key.uid, f"{key.attributes['mount']}/{key.attributes['name']}"}
    return [e for e in events if e.kind == EventKind.KEY_COMPROMISE
            and e.system == key.system and (e.key is None or e.key in names)]


def _compromised_versions(key: KeyRecord, events: Sequence[Event]) -> set[int]:
    versions: set[int] = set()
    times = key.attributes["versions"]
    for event in events:
        if event.versions:
            versions.update(event.versions)
        elif times:  # no versions named: every version that existed at the event
            versions.update(int(v) for v, at in times.items()
                            if datetime.fromisoformat(at) <= event.at)
        else:
            raise CryptoAuditError(
                f"the event of {event.at:%Y-%m-%d} names no versions and the server reports "
                "no version times for this key: list the compromised versions in the event")
    return versions


@pytest.mark.control(
    "CEK-13", check="compromised-versions-revoked",
    references=[ccm("CEK-19"), "NIST SP 800-57 Part 1 Rev 5, 8.3.1"],
    remediation="Rotate the key, rewrap the data (transit/rewrap), then raise "
                "min_decryption_version above every compromised version.",
    applies_to=_transit, requires=["min_decryption_version", "versions"],
)
def test_compromised_versions_revoked(
    crypto_key: KeyRecord, crypto_events: tuple[Event, ...],
) -> None:
    """After a key compromise, no compromised version can still decrypt or verify."""
    events = _compromises(crypto_key, crypto_events)
    if not events:
        pytest.skip("no key-compromise event recorded for this key")
    compromised = _compromised_versions(crypto_key, events)
    minimum = crypto_key.attributes["min_decryption_version"]
    assert minimum > max(compromised, default=0), (
        f"compromised version(s) {', '.join(map(str, sorted(compromised)))} can still decrypt: "
        f"min_decryption_version is {minimum}"
    )


@pytest.mark.control(
    "CEK-19", check="rotated-after-compromise",
    references=["NIST SP 800-57 Part 1 Rev 5, 8.3.1"],
    remediation="Rotate the key (keys/NAME/rotate) so that new data is protected by a version "
                "that was not compromised.",
    applies_to=_transit, requires=["latest_version", "versions"],
)
def test_rotated_after_compromise(crypto_key: KeyRecord, crypto_events: tuple[Event, ...]) -> None:
    """After a key compromise, the version in use is not a compromised one.

    An event that names no versions compromises every version that existed at its time, so
    the key must have been rotated since.
    """
    events = _compromises(crypto_key, crypto_events)
    if not events:
        pytest.skip("no key-compromise event recorded for this key")
    compromised = _compromised_versions(crypto_key, events)
    latest = crypto_key.attributes["latest_version"]
    assert latest not in compromised, (
        f"latest version {latest} is compromised (compromised: "
        f"{', '.join(map(str, sorted(compromised)))}): new data is still protected by it"
    )


@pytest.mark.control(
    "CEK-09", check="vault-audit-device",
    references=[ISO27001_A824, "ISO/IEC 27002:2022 8.15"],
    remediation="Enable at least one audit device (file, syslog or socket) on the server.",
    applies_to=VAULT_SYSTEM, requires=["audit_devices"],
)
def test_vault_audit_device(crypto_system: SystemRecord) -> None:
    """At least one audit device records the requests made to the server."""
    devices = crypto_system.attributes["audit_devices"]
    assert devices, "no audit device is enabled: key operations leave no audit trail"


@pytest.mark.control(
    "CEK-09", check="vault-seal-type",
    references=[ccm("CEK-08"), ISO27001_A824],
    remediation="Migrate the seal to one the policy allows for the tier (an auto-unseal "
                "backed by a KMS or an HSM).",
    applies_to=VAULT_SYSTEM, requires=["seal_type"],
)
def test_vault_seal_type(
    crypto_system: SystemRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """The seal type is recorded and is one the policy allows for the server's tier."""
    seal = crypto_system.attributes["seal_type"]
    crypto_note(f"seal type: {seal}")
    allowed = crypto_policy.for_tier("vault_allowed_seal_types", crypto_system.risk_tier)
    assert seal in allowed, (
        f"seal type {seal} is not allowed at tier {crypto_system.risk_tier.value} "
        f"(allowed: {', '.join(allowed)})"
    )


def _privileged_patterns(
    policy: Policy, transit_mounts: Iterable[str],
) -> Iterator[tuple[str, set[str]]]:
    for entry in policy["vault_privileged_paths"]:
        for mount in transit_mounts if "{transit}" in entry["path"] else [None]:
            path = entry["path"].replace("{transit}", mount) if mount else entry["path"]
            yield path, set(entry["capabilities"])


def _grants(
    rules: Mapping[str, Sequence[str]], patterns: Sequence[tuple[str, set[str]]],
    exempt: set[str],
) -> Iterator[str]:
    for path, capabilities in sorted(rules.items()):
        if path in exempt or "deny" in capabilities:
            continue
        for pattern, privileged in patterns:
            granted = privileged & set(capabilities)
            if granted and globs_overlap(path, pattern):
                yield f"{', '.join(sorted(granted))} on {path!r} (covers {pattern})"


@pytest.mark.control(
    "CEK-08", check="vault-least-privilege",
    references=REFS_ACCESS,
    remediation="Remove the grant from the policy, or name the policy in admin_policies if "
                "it is an administrators' policy.",
    applies_to=VAULT_SYSTEM, requires=["acl_policies", "transit_mounts"],
)
def test_vault_least_privilege(crypto_system: SystemRecord, crypto_policy: Policy) -> None:
    """No policy but the admin policies grants write or sudo on sys/, key configs or exports."""
    attributes = crypto_system.attributes
    patterns = list(_privileged_patterns(crypto_policy, attributes["transit_mounts"]))
    exempt = set(crypto_policy["vault_exempt_paths"])
    admin = set(attributes.get("admin_policies", ()))
    findings = [f"policy {name!r} grants {grant}"
                for name, rules in sorted(attributes["acl_policies"].items()) if name not in admin
                for grant in _grants(rules, patterns, exempt)]
    assert not findings, "; ".join(findings)
