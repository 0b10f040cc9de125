"""The tenant isolation pack (``tenancy.py``) on planted keys of a multi-tenant system:
assignment to one tenant, other tenants' principals in the access entries, and the encryption
context a shared key must be bound to. The selection ``scripts/mutation.py`` runs against that
module."""

from __future__ import annotations

from typing import Any

import pytest

import controls.tenancy as tenancy
from pytest_cryptoaudit.config import AuditConfig, parse_config
from pytest_cryptoaudit.facts import Grant, ManagedKeyFacts
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import ProviderRegistry

from .judge import Verdict, controls_of, judge, key, spec_of

TENANCY = {"systems": ["saas"], "tenants": [
    {"name": "acme", "accounts": ["111"]}, {"name": "globex", "accounts": ["222"]},
    {"name": "initech", "principals": ["arn:aws:iam::333:role/initech-*"]}]}


def config() -> AuditConfig:
    return parse_config({"systems": [], "tenancy": TENANCY}, ProviderRegistry(),
                        BUILTIN_SETTINGS)


def role(account: str, name: str = "app", actions: tuple[str, ...] = ("use",),
         source: str = "key-policy", ref: str = "Sid1", context: tuple[str, ...] = ()) -> Grant:
    return Grant(f"arn:aws:iam::{account}:role/{name}", "role", actions, source,  # type: ignore[arg-type]
                 ref=ref, context_keys=context)


def tenant_key(tenants: tuple[str, ...] = ("acme",), shared: bool = False,
               access: tuple[Grant, ...] | None = (), **fields: Any) -> Any:
    managed = ManagedKeyFacts(manager="customer", origin="generated", protection="software",
                              state="enabled", access=access)  # type: ignore[arg-type]
    return key("arn:aws:kms:eu-west-1:111:key/1", provider="aws-kms", system_name="saas",
               managed=managed, attributes={"tenancy": {"tenants": list(tenants),
                                                        "shared": shared}}, **fields)


def run(control: Any, record: Any) -> Verdict:
    return judge(control, record, crypto_audit_config=config())


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(tenancy)] == [
        "tenant-key-assigned", "tenant-key-isolation", "tenant-shared-key-context"]


def test_applicability() -> None:
    assigned = spec_of(tenancy.test_tenant_key_assigned)
    own = spec_of(tenancy.test_tenant_key_isolation)
    shared = spec_of(tenancy.test_tenant_shared_key_context)
    plain = key("k", provider="aws-kms")
    assert [s.applies_to(plain) for s in (assigned, own, shared)] == [False, False, False]
    assert [s.applies_to(tenant_key()) for s in (assigned, own, shared)] == [True, True, False]
    assert [s.applies_to(tenant_key(shared=True)) for s in (assigned, own, shared)] == [
        True, False, True]
    two = tenant_key(("acme", "globex"))
    assert [s.applies_to(two) for s in (assigned, own, shared)] == [True, False, False]
    assert [s.applies_to(tenant_key(())) for s in (assigned, own, shared)] == [
        True, False, False]
    unreported = tenant_key(access=None)
    assert not own.applies_to(unreported)
    assert not shared.applies_to(tenant_key(shared=True, access=None))
    unmanaged = key("k", provider="aws-kms", attributes={"tenancy": {"tenants": ["acme"]}})
    assert not own.applies_to(unmanaged)
    assert not shared.applies_to(key("k", provider="aws-kms",
                                     attributes={"tenancy": {"shared": True}}))
    unreadable = tenant_key(access=None, unreadable={"managed.access": "AccessDenied"})
    assert own.applies_to(unreadable)
    assert run(tenancy.test_tenant_key_isolation, unreadable) == Verdict(
        "error", "managed.access: AccessDenied")


# -- assignment --------------------------------------------------------------------------------

def test_key_of_one_tenant_is_assigned() -> None:
    assert run(tenancy.test_tenant_key_assigned, tenant_key()) == Verdict(
        "passed", notes=("tenant acme",))


def test_key_of_no_tenant_fails() -> None:
    assert run(tenancy.test_tenant_key_assigned, tenant_key(())) == Verdict(
        "failed", "the key of multi-tenant system saas names no tenant")


def test_key_of_two_tenants_fails() -> None:
    assert run(tenancy.test_tenant_key_assigned, tenant_key(("acme", "globex"))) == Verdict(
        "failed", "the key is assigned to 2 tenants: acme, globex")


def test_shared_key_is_noted() -> None:
    assert run(tenancy.test_tenant_key_assigned, tenant_key((), shared=True)) == Verdict(
        "passed", notes=("shared by tenants by design",))
    assert run(tenancy.test_tenant_key_assigned, tenant_key(("acme",), shared=True)) == \
        Verdict("passed", notes=("shared by tenants by design (also assigned to acme)",))


# -- isolation ---------------------------------------------------------------------------------

def test_own_tenant_principals_pass() -> None:
    access = (role("111"), role("111", "admin", ("manage",)))
    assert run(tenancy.test_tenant_key_isolation, tenant_key(access=access)) == \
        Verdict("passed")


def test_other_tenants_principals_fail() -> None:
    access = (role("111"), role("222", actions=("use", "manage")),
              role("333", "initech-batch", source="grant", ref="grant-9"),
              role("444", "stranger"))
    verdict = run(tenancy.test_tenant_key_isolation, tenant_key(access=access))
    assert verdict == Verdict("failed", (
        "key of tenant acme is open to other tenants: arn:aws:iam::222:role/app (key-policy "
        "Sid1; manage, use) of tenant globex; arn:aws:iam::333:role/initech-batch "
        "(grant-9; use) of tenant initech"))


def test_an_entry_without_actions_opens_nothing() -> None:
    access = (role("222", actions=()),)
    assert run(tenancy.test_tenant_key_isolation, tenant_key(access=access)) == \
        Verdict("passed")


def test_many_foreign_entries_are_listed_ten_and_counted() -> None:
    access = tuple(role("222", f"r{n:02}") for n in range(25))
    message = run(tenancy.test_tenant_key_isolation, tenant_key(access=access)).message
    assert message.count("of tenant globex") == 10
    assert message.endswith("; and 15 more")
    ten = tuple(role("222", f"r{n:02}") for n in range(10))
    assert "more" not in run(tenancy.test_tenant_key_isolation, tenant_key(access=ten)).message


# -- shared keys -------------------------------------------------------------------------------

def test_shared_key_bound_to_tenant_context_passes() -> None:
    access = (role("111", context=("tenant",)), role("222", context=("tenant", "app")),
              role("111", "admin", ("manage",)))
    verdict = run(tenancy.test_tenant_shared_key_context, tenant_key(shared=True, access=access))
    assert verdict == Verdict("passed", notes=("used by tenants: acme, globex",))


def test_shared_key_used_without_context_fails() -> None:
    access = (role("111", context=("tenant",)), role("222", context=("purpose",)))
    verdict = run(tenancy.test_tenant_shared_key_context, tenant_key(shared=True, access=access))
    assert verdict == Verdict("failed", (
        "shared key used without a per-tenant encryption context (associated_data or context "
        "or tenant): arn:aws:iam::222:role/app (key-policy Sid1; use) of tenant globex"),
        ("used by tenants: acme, globex",))


def test_shared_key_of_no_named_tenant_is_noted() -> None:
    access = (role("999"),)
    verdict = run(tenancy.test_tenant_shared_key_context, tenant_key(shared=True, access=access))
    assert verdict == Verdict("passed", notes=("used by tenants: none named",))


@pytest.mark.parametrize(("ref", "shown"), [("key-policy/Sid1", "key-policy/Sid1"),
                                            ("", "key-policy")])
def test_entry_names_its_source_once(ref: str, shown: str) -> None:
    access = (role("222", ref=ref),)
    message = run(tenancy.test_tenant_key_isolation, tenant_key(access=access)).message
    assert message.endswith(f"arn:aws:iam::222:role/app ({shown}; use) of tenant globex")
