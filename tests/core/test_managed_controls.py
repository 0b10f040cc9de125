"""The generic managed-key controls on planted records, no service needed.

Every key store that fills :class:`~pytest_cryptoaudit.facts.ManagedKeyFacts` gets these
checks; here the in-memory provider plants one record per weakness (and clean ones around
each threshold) at three tiers, and the table says which checks each must fail. This is also
the selection ``scripts/mutation.py`` runs against ``controls/managed_keys.py`` and
``controls/managed_access.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.facts import Deletion, Grant, ImportWrapping, ManagedKeyFacts, Rotation
from pytest_cryptoaudit.testing import AuditRun, key_record

ROOT = Grant("arn:aws:iam::111:root", "account", ("use", "manage"), "key-policy", ref="root")
MANAGED_CHECKS = {
    "kms-rotation-enabled", "kms-rotation-period", "kms-not-pending-deletion",
    "kms-key-material-imported", "kms-key-enabled", "kms-key-store-connected",
    "kms-key-origin", "kms-imported-material-expiry", "kms-customer-managed",
    "kms-policy-not-public", "kms-policy-principals", "kms-grantees", "kms-destroy-delay",
    "kms-protection-level", "kms-import-wrapping",
}
#: When the planted records are made: an expiry half a day past a whole number of days from
#: now is that many days away when the audit starts, seconds later.
NOW = datetime.now(UTC)
#: Policy of the audit: medium-tier keys must be protected by an HSM (by default every level
#: is allowed at every tier, and the protection check could not fail).
POLICY = {"managed_key_allowed_protection": {"medium": ["hsm"]}}


def days_ahead(days: int) -> datetime:
    return NOW + timedelta(days=days, hours=12)


def facts(**changes: Any) -> ManagedKeyFacts:
    base: dict[str, Any] = {
        "manager": "customer", "origin": "generated", "protection": "software",
        "state": "enabled", "can_rotate": True, "rotation": Rotation(True, 365),
        "access": (ROOT,)}
    return ManagedKeyFacts(**{**base, **changes})


def imported(scheme: str, digest: str | None, bits: int | None, native: str,
             **changes: Any) -> ManagedKeyFacts:
    """Facts of imported material wrapped as the service recorded it."""
    return facts(origin="imported", material_expires=True,
                 import_wrapping=ImportWrapping(scheme, digest, bits, native), **changes)


def grant(principal: str, kind: str = "account", source: str = "key-policy",
          **flags: Any) -> tuple[Grant, ...]:
    return (ROOT, Grant(principal, kind, ("use",), source, ref=f"ref-{principal}", **flags))


#: uid -> (system = tier, key fields, the checks it must fail).
PLANTED: dict[str, tuple[str, dict[str, Any], set[str]]] = {
    "clean": ("high", {"managed": facts()}, set()),
    "no-rotation": ("high", {"managed": facts(rotation=Rotation(False))},
                    {"kms-rotation-enabled"}),
    "long-rotation": ("high", {"managed": facts(rotation=Rotation(True, 366))},
                      {"kms-rotation-period"}),
    "private-rotation": ("high", {"kind": "private-key", "algorithm": "RSA", "size": 3072,
                                  "managed": facts(rotation=Rotation(True, 730))}, set()),
    "private-long": ("high", {"kind": "private-key", "algorithm": "RSA", "size": 3072,
                              "managed": facts(rotation=Rotation(True, 731))},
                     {"kms-rotation-period"}),
    "not-rotatable": ("high", {"managed": facts(can_rotate=False, rotation=None)}, set()),
    # rotation the provider could not read: an error, and no period check on a guess
    "rotation-unreadable": ("high", {"managed": facts(rotation=None),
                                     "unreadable": {"managed.rotation": "AccessDenied"}},
                            set()),
    "pending-deletion": ("high", {"managed": facts(
        state="pending-deletion", deletion=Deletion(datetime(2030, 1, 2, tzinfo=UTC), 7))},
        {"kms-not-pending-deletion"}),
    "disabled": ("high", {"managed": facts(state="disabled", native_state="Disabled")},
                 {"kms-key-enabled"}),
    "pending-import": ("high", {"managed": facts(origin="imported", state="pending-import",
                                                 material_expires=True)},
                       {"kms-key-material-imported"}),
    "imported-forever": ("high", {"managed": facts(origin="imported", material_expires=False)},
                         {"kms-imported-material-expiry"}),
    "imported-expiring": ("high", {"managed": facts(origin="imported", material_expires=True)},
                          set()),
    "service-managed": ("high", {"managed": facts(manager="service", can_rotate=False,
                                                  rotation=None)}, {"kms-customer-managed"}),
    "store-down": ("high", {"managed": facts(origin="external", key_store="xks-1",
                                             state="unavailable")},
                   {"kms-key-store-connected"}),
    "store-up": ("high", {"managed": facts(origin="hsm", key_store="cks-1")}, set()),
    # the store's own state, where the provider reads it: connected passes, failed does not
    "store-connected": ("high", {"managed": facts(origin="external", key_store="xks-2",
                                                  key_store_state="connected")}, set()),
    "store-failed": ("high", {"managed": facts(origin="external", key_store="xks-3",
                                               key_store_state="failed",
                                               key_store_detail="XKS_PROXY_TIMED_OUT")},
                     {"kms-key-store-connected"}),
    "public": ("high", {"managed": facts(access=grant("*", "anyone"))},
               {"kms-policy-not-public"}),
    "public-restricted": ("high", {"managed": facts(access=grant("*", "anyone",
                                                                 restricted=True))}, set()),
    "foreign": ("high", {"managed": facts(access=grant("arn:aws:iam::999:root",
                                                       outside=True))},
                {"kms-policy-principals"}),
    "foreign-grant": ("high", {"managed": facts(access=grant(
        "arn:aws:iam::999:role/x", "role", "grant", outside=True))}, {"kms-grantees"}),
    # a policy source that sorts before "grant" is still a policy, not a delegation
    "foreign-access-policy": ("high", {"managed": facts(access=grant(
        "user@other-tenant", "user", "access-policy", outside=True))},
        {"kms-policy-principals"}),
    "foreign-service": ("high", {"managed": facts(access=grant(
        "logs.amazonaws.com", "service", outside=True))}, set()),
    "no-access-reported": ("high", {"managed": facts(access=None)}, set()),
    "crit-imported": ("critical", {"managed": facts(origin="imported",
                                                    material_expires=True)},
                      {"kms-key-origin"}),
    "crit-hsm": ("critical", {"managed": facts(origin="hsm", rotation=Rotation(True, 365))},
                 set()),
    "low-disabled": ("low", {"managed": facts(state="disabled")}, set()),
    "low-service": ("low", {"managed": facts(manager="service", can_rotate=False,
                                             rotation=None)}, set()),
    "low-imported-forever": ("low", {"managed": facts(origin="imported",
                                                      material_expires=False)}, set()),
    "low-long-rotation": ("low", {"managed": facts(rotation=Rotation(True, 730))}, set()),
    "low-too-long": ("low", {"managed": facts(rotation=Rotation(True, 731))},
                     {"kms-rotation-period"}),
    # automatic rotation reported by a provider as 1, not True: rotation-enabled passes it,
    # so the period is judged too
    "truthy-automatic": ("high", {"managed": facts(rotation=Rotation(1, 400))},  # type: ignore[arg-type]
                         {"kms-rotation-period"}),
    # a period the service did not state, but documents: noted, and judged all the same
    "default-period": ("high", {"managed": facts(rotation=Rotation(
        True, 365, period_source="service's documented default"))}, set()),
    # at a tier whose policy allows waiving it, the finding says a waiver may accept it
    "low-pending-deletion": ("low", {"managed": facts(state="pending-deletion")},
                             {"kms-not-pending-deletion"}),
    # imported material whose expiry date the service reports: past, at the cryptoperiod
    # (symmetric 365 days, private 730 at tier high) and one day beyond it
    "imported-expired": ("high", {"expires": days_ahead(-2), "managed": facts(
        origin="imported", material_expires=True)}, {"kms-imported-material-expiry"}),
    "imported-365": ("high", {"expires": days_ahead(365), "managed": facts(
        origin="imported", material_expires=True)}, set()),
    "imported-366": ("high", {"expires": days_ahead(366), "managed": facts(
        origin="imported", material_expires=True)}, {"kms-imported-material-expiry"}),
    "imported-private-730": ("high", {
        "kind": "private-key", "algorithm": "RSA", "size": 3072, "expires": days_ahead(730),
        "managed": facts(origin="imported", material_expires=True, can_rotate=False,
                         rotation=None)}, set()),
    "imported-private-731": ("high", {
        "kind": "private-key", "algorithm": "RSA", "size": 3072, "expires": days_ahead(731),
        "managed": facts(origin="imported", material_expires=True, can_rotate=False,
                         rotation=None)}, {"kms-imported-material-expiry"}),
    # whether imported material expires is not reported: nothing to judge
    "imported-unreported": ("high", {"managed": facts(origin="imported")}, set()),
    # unavailable is not pending import: the material is there, its expiry is judged
    "imported-unavailable": ("high", {"managed": facts(origin="imported", state="unavailable",
                                                       material_expires=True)}, set()),
    # destruction delay: tier high requires 7 days
    "destroy-6": ("high", {"managed": facts(destroy_delay_days=6)}, {"kms-destroy-delay"}),
    "destroy-7": ("high", {"managed": facts(destroy_delay_days=7)}, set()),
    "destroy-8": ("high", {"managed": facts(destroy_delay_days=8)}, set()),
    "service-destroy-1": ("low", {"managed": facts(manager="service", can_rotate=False,
                                                   rotation=None, destroy_delay_days=1)},
                          set()),
    # protection: the audit's policy requires an HSM at tier medium
    "medium-software": ("medium", {"managed": facts()}, {"kms-protection-level"}),
    "medium-hsm": ("medium", {"managed": facts(protection="hsm")}, set()),
    # how imported material was wrapped: RSA-OAEP with SHA-2 at the tier's RSA size (high:
    # 2048, critical: 3072), HPKE with a post-quantum KEM; never PKCS #1 v1.5 or OAEP-SHA1
    "wrap-oaep": ("high", {"managed": imported("rsa-oaep", "sha256", 2048, "OAEP-2048")},
                  set()),
    "wrap-oaep-4096": ("high", {"managed": imported("rsa-oaep", "sha384", 4096, "OAEP-4096")},
                       set()),
    "wrap-sha1": ("high", {"managed": imported("rsa-oaep", "sha1", 4096, "OAEP-4096-SHA1")},
                  {"kms-import-wrapping"}),
    "wrap-pkcs1": ("high", {"managed": imported("rsa-pkcs1v15", None, 4096, "PKCS1")},
                   {"kms-import-wrapping"}),
    "wrap-no-size": ("high", {"managed": imported("rsa-oaep", "sha256", None, "OAEP")},
                     {"kms-import-wrapping"}),
    "wrap-hpke": ("high", {"managed": imported("hpke", "sha256", None, "HPKE-ML-KEM-768")},
                  set()),
    "wrap-crit-2048": ("critical", {"managed": imported(
        "rsa-oaep", "sha256", 2048, "OAEP-2048")},
        {"kms-key-origin", "kms-import-wrapping"}),
    "wrap-crit-3072": ("critical", {"managed": imported("rsa-oaep", "sha512", 3072, "OAEP")},
                       {"kms-key-origin"}),
    "wrap-unreadable": ("high", {"managed": facts(origin="imported", material_expires=True),
                                 "unreadable": {"managed.import_wrapping": "job refused"}},
                        set()),
    "wrap-pending-import": ("high", {"managed": imported(
        "rsa-oaep", "sha1", 3072, "OAEP-SHA1", state="pending-import")},
        {"kms-key-material-imported"}),
}
#: Checks that must error on a record (a fact they need could not be read).
ERRORS = {"rotation-unreadable": {"kms-rotation-enabled"},
          "wrap-unreadable": {"kms-import-wrapping"}}
#: Checks that must not run on a record (their predicate excludes it).
NOT_APPLICABLE = {
    "rotation-unreadable": {"kms-rotation-period"},
    "not-rotatable": {"kms-rotation-enabled", "kms-rotation-period"},
    "no-rotation": {"kms-rotation-period"},
    "service-managed": {"kms-rotation-enabled", "kms-key-origin",
                        "kms-imported-material-expiry", "kms-protection-level"},
    "clean": {"kms-key-material-imported", "kms-imported-material-expiry",
              "kms-key-store-connected", "kms-destroy-delay", "kms-import-wrapping"},
    "imported-expiring": {"kms-import-wrapping"},
    "wrap-pending-import": {"kms-import-wrapping", "kms-imported-material-expiry"},
    "imported-unreported": {"kms-imported-material-expiry"},
    "service-destroy-1": {"kms-destroy-delay", "kms-protection-level"},
    "pending-import": {"kms-imported-material-expiry"},
    "no-access-reported": {"kms-policy-not-public", "kms-policy-principals", "kms-grantees"},
}


def uid(name: str) -> str:
    return f"memory:{name}"


def records() -> list[Any]:
    created = datetime.now(UTC) - timedelta(days=30)
    return [key_record(uid(name), system=tier, risk_tier=tier, created=created, **fields)
            for name, (tier, fields, _fails) in PLANTED.items()]


@pytest.fixture(scope="session")
def audited(managed_run: tuple[Path, AuditRun]) -> AuditRun:
    """One audit of every planted record (``tests/core/conftest.py``), shared by the tests of
    this module and ``test_grouped`` (once per run, whichever xdist workers run them)."""
    return managed_run[1]


#: The finding the estate's waivers file waives (``MANAGED_WAIVERS``).
WAIVED = ("kms-not-pending-deletion", "memory:low-pending-deletion")


def managed_outcomes(run: AuditRun) -> dict[tuple[str, str], str]:
    """Outcome per managed check and key; the waived finding counts as the failure it is
    (only a failed check is ever waived: ``tests/reporting/test_waivers.py``)."""
    found = {(check, key): outcome for (check, key), outcome in run.outcomes.items()
             if check in MANAGED_CHECKS}
    assert {pair for pair, outcome in found.items() if outcome == "waived"} == {WAIVED}
    assert run.result(*WAIVED)["waiver"]["approver"] == "ciso"
    return {pair: "failed" if outcome == "waived" else outcome
            for pair, outcome in found.items()}


def test_each_planted_weakness_fails_its_check_and_only_it(audited: AuditRun) -> None:
    found = managed_outcomes(audited)
    for name, (_tier, _fields, fails) in PLANTED.items():
        failed = {check for (check, key), outcome in found.items()
                  if key == uid(name) and outcome == "failed"}
        assert failed == fails, name
        errors = {check for (check, key), outcome in found.items()
                  if key == uid(name) and outcome == "error"}
        assert errors == ERRORS.get(name, set()), name
        others = {check: outcome for (check, key), outcome in found.items()
                  if key == uid(name) and check not in fails | errors}
        assert set(others.values()) <= {"passed"}, (name, others)


def test_each_check_applies_where_its_facts_say(audited: AuditRun) -> None:
    ran = {(check, key) for check, key in managed_outcomes(audited)}
    for name, checks in NOT_APPLICABLE.items():
        assert not {(check, uid(name)) for check in checks} & ran, name
    every_check = {check for check, _key in ran}
    assert every_check == MANAGED_CHECKS
    assert ("kms-key-store-connected", uid("store-up")) in ran
    assert ("kms-imported-material-expiry", uid("imported-expiring")) in ran
    assert ("kms-imported-material-expiry", uid("imported-unavailable")) in ran


def test_findings_name_what_is_wrong(audited: AuditRun) -> None:
    def message(check: str, name: str) -> str:
        return audited.message(check, uid(name))

    assert message("kms-rotation-period", "long-rotation") == (
        "rotates every 366 days; the symmetric cryptoperiod for tier high is 365 days")
    assert message("kms-rotation-period", "private-long") == (
        "rotates every 731 days; the private cryptoperiod for tier high is 730 days")
    assert message("kms-rotation-enabled", "no-rotation") == (
        "automatic rotation is disabled; tier high requires it")
    assert message("kms-not-pending-deletion", "pending-deletion") == (
        "pending-deletion: the key will be deleted on 2030-01-02; at tier high no waiver "
        "applies")
    assert message("kms-key-enabled", "disabled").startswith("Disabled: the key is suspended")
    assert "imported key material (BYOK)" in message("kms-key-origin", "crit-imported")
    assert "allowed: generated, hsm" in message("kms-key-origin", "crit-imported")
    assert message("kms-key-store-connected", "store-down").startswith(
        "unavailable: key store xks-1 is disconnected")
    assert message("kms-policy-not-public", "public") == (
        "key-policy ref-* allows any principal without a restricting condition")
    assert message("kms-policy-principals", "foreign") == (
        "key policy allows principals outside the allowed accounts: "
        "arn:aws:iam::999:root (ref-arn:aws:iam::999:root; use)")
    assert "arn:aws:iam::999:role/x (ref-arn:aws:iam::999:role/x; use)" in message(
        "kms-grantees", "foreign-grant")
    assert message("kms-customer-managed", "service-managed").startswith(
        "service-managed key: the customer controls neither")
    assert message("kms-imported-material-expiry", "imported-forever") == (
        "imported key material never expires; tier high requires it")
    assert message("kms-key-material-imported", "pending-import").startswith(
        "pending-import: the key has no key material")
    assert message("kms-not-pending-deletion", "low-pending-deletion") == (
        "pending-deletion: the key will be deleted (date not reported); at tier low a waiver "
        "may accept an approved deletion")
    expired = f"{days_ahead(-2):%Y-%m-%d}"
    assert message("kms-imported-material-expiry", "imported-expired") == (
        f"imported key material expired on {expired}")
    assert message("kms-imported-material-expiry", "imported-366") == (
        f"imported key material expires on {days_ahead(366):%Y-%m-%d}, in 366 days; the "
        "symmetric cryptoperiod for tier high is 365 days")
    assert message("kms-imported-material-expiry", "imported-private-731") == (
        f"imported key material expires on {days_ahead(731):%Y-%m-%d}, in 731 days; the "
        "private cryptoperiod for tier high is 730 days")
    assert message("kms-destroy-delay", "destroy-6") == (
        "key material is destroyed 6 day(s) after a destroy request; tier high requires at "
        "least 7 days to notice and cancel it")
    assert message("kms-protection-level", "medium-software") == (
        "protection level software is not allowed at tier medium (allowed: hsm)")
    assert message("kms-import-wrapping", "wrap-sha1") == (
        "imported under OAEP-4096-SHA1: OAEP with sha1 is not allowed at tier high "
        "(allowed: sha256, sha384, sha512)")
    assert message("kms-import-wrapping", "wrap-pkcs1") == (
        "imported under PKCS1: rsa-pkcs1v15 wrapping is not allowed for key transport "
        "(RSA-OAEP or HPKE only)")
    assert message("kms-import-wrapping", "wrap-crit-2048") == (
        "imported under OAEP-2048: a 2048-bit wrapping key is below the 3072 bits tier "
        "critical requires")
    assert message("kms-import-wrapping", "wrap-no-size") == (
        "imported under OAEP: the wrapping key's size is not recorded; tier high requires at "
        "least 2048 bits")
    assert "job refused" in message("kms-import-wrapping", "wrap-unreadable")
    assert message("kms-key-store-connected", "store-failed") == (
        "key store xks-3 is failed (XKS_PROXY_TIMED_OUT): the key cannot be used until it is "
        "connected")


def test_what_policy_accepts_is_noted(audited: AuditRun) -> None:
    def notes(check: str, name: str) -> str:
        return " ".join(audited.result(check, uid(name)).get("notes", []))

    assert notes("kms-key-enabled", "low-disabled") == (
        "enabled (suspended); accepted at tier low by policy".replace("enabled", "disabled"))
    assert notes("kms-imported-material-expiry", "low-imported-forever") == (
        "imported key material never expires; accepted at tier low")
    assert notes("kms-customer-managed", "store-up") == (
        "generated in a dedicated HSM, key store cks-1; custody: the customer administers "
        "the dedicated HSM; the provider runs it")
    assert notes("kms-customer-managed", "clean") == ""
    assert notes("kms-customer-managed", "imported-365") == (
        "imported key material (BYOK); custody: the customer generates and keeps the original "
        "material and its expiry; the service holds an imported copy (shared)")
    assert notes("kms-rotation-period", "default-period") == (
        "rotation period of 365 days is the service's documented default")
    assert notes("kms-rotation-period", "clean") == ""
    assert notes("kms-imported-material-expiry", "imported-365") == (
        f"imported key material expires on {days_ahead(365):%Y-%m-%d} (365 days)")
    assert notes("kms-import-wrapping", "wrap-oaep") == "imported under OAEP-2048"
    assert notes("kms-import-wrapping", "wrap-hpke") == (
        "imported under HPKE-ML-KEM-768 (HPKE with a post-quantum KEM)")
    assert notes("kms-imported-material-expiry", "imported-expiring") == (
        "imported key material expires; the service does not report when")
