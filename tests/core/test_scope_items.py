"""CEK-09 scope items read from facts, for every key store: tenant isolation from
``[tenancy]``, BYOK and HYOK from the managed-key origin, shown by scope-coverage and in the
evidence's scope; tenant checks on planted grants of a store that is no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pytest_cryptoaudit.facts import Action, Grant, ManagedKeyFacts
from pytest_cryptoaudit.testing import audit_pytester, key_record

SYSTEM_UID = "memory:vaults"


def managed_key(uid: str, origin: str = "generated", tenant: str | None = None,
                access: tuple[Grant, ...] = (), **fields):
    facts = ManagedKeyFacts("customer", origin, "hsm" if origin != "external" else "external",
                            "enabled", access=access,
                            key_store="xks-1" if origin == "external" else None,
                            material_expires=True if origin == "imported" else None)
    return key_record(uid, system="vaults", managed=facts,
                      tags={"tenant": tenant} if tenant else {}, **fields)


def use(principal: str, ref: str, *context: str) -> Grant:
    return Grant(principal, "user", (Action.USE,), "rbac", ref=ref, context_keys=context)


TENANCY = {"tag": "tenant", "systems": ["vaults"], "tenants": [
    {"name": "red", "principals": ["user:red/*"]},
    {"name": "blue", "principals": ["user:blue/*"]}]}


def test_scope_items_for_any_key_store(pytester):
    soon = datetime.now(UTC) + timedelta(days=90)
    inventory = [
        managed_key("vault/red-key", tenant="red", access=(use("user:red/app", "ra-1"),)),
        managed_key("vault/blue-key", tenant="blue", access=(
            use("user:blue/app", "ra-2"), use("user:red/etl", "ra-3"))),
        managed_key("vault/shared", tenant="shared", access=(
            use("user:red/app", "ra-4", "tenant"), use("user:blue/app", "ra-5"))),
        managed_key("vault/byok", origin="imported", tenant="red", expires=soon),
        managed_key("vault/hyok", origin="external", tenant="blue"),
    ]
    run = audit_pytester(pytester, config={"tenancy": TENANCY}, inventory=inventory)
    assert run.evidence["scope"]["items"] == {
        "tenant-isolation": ["vaults"], "byok": ["vaults"], "hyok": ["vaults"]}
    notes = " ".join(run.result("scope-coverage", SYSTEM_UID)["notes"])
    assert ("scope items audited: tenant-isolation (5 tenant keys), byok (1 key with imported "
            "material), hyok (1 key in an external key store)") in notes
    assert run.outcome("tenant-key-isolation", "vault/red-key") == "passed"
    assert run.outcome("tenant-key-isolation", "vault/blue-key") == "failed"
    assert "user:red/etl (rbac ra-3; use) of tenant red" in run.message(
        "tenant-key-isolation", "vault/blue-key")
    assert run.outcome("tenant-shared-key-context", "vault/shared") == "failed"
    message = run.message("tenant-shared-key-context", "vault/shared")
    assert "ra-5" in message and "ra-4" not in message
    assert "custody: the customer holds the key in its own key store" in " ".join(
        run.result("kms-customer-managed", "vault/hyok")["notes"])


def test_imported_material_beyond_the_cryptoperiod(pytester):
    late = datetime.now(UTC) + timedelta(days=900)
    past = datetime.now(UTC) - timedelta(days=1)
    inventory = [managed_key("vault/late", origin="imported", expires=late),
                 managed_key("vault/gone", origin="imported", expires=past)]
    run = audit_pytester(pytester, "--cryptoaudit-control", "CEK-10", inventory=inventory)
    assert run.outcome("kms-imported-material-expiry", "vault/late") == "failed"
    assert "the symmetric cryptoperiod for tier medium is 730 days" in run.message(
        "kms-imported-material-expiry", "vault/late")
    assert run.outcome("kms-imported-material-expiry", "vault/gone") == "failed"
    assert "imported key material expired on" in run.message(
        "kms-imported-material-expiry", "vault/gone")


def test_no_scope_items_without_their_facts(pytester):
    run = audit_pytester(pytester, "--cryptoaudit-control", "CEK-09",
                         inventory=[managed_key("vault/plain")])
    assert run.evidence["scope"]["items"] == {}
    assert "scope items" not in " ".join(run.result("scope-coverage", SYSTEM_UID)["notes"])
