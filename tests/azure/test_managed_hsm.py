"""Managed HSM pools as the dedicated key stores of their keys: the pool state ARM reports
(provisioningState, security domain activationStatus) fills the key-store facts, so the
generic kms-key-store-connected finds every key of a pool that is not active, a pool that
cannot serve is an error naming its state, and the system lists the keys of each pool."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.facts import KeyStoreState
from pytest_cryptoaudit.lab import estate_hsm
from pytest_cryptoaudit.lab.keyvault_standin import TOKEN, managed_hsm_resource
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers.azure_keyvault import AzureKeyVaultProvider
from pytest_cryptoaudit.providers.azure_keyvault.arm import vault_properties
from pytest_cryptoaudit.providers.azure_keyvault.hsm import pool_facts
from tests.estates import mismatches, results_by_uid

from .conftest import TOKEN_ENV

pytestmark = pytest.mark.usefixtures("azure_token")


@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    standins = estate_hsm.start(tmp_path_factory.mktemp("mhsm"))
    yield standins
    for standin in standins.values():
        standin.close()


def _discover(system, controls=None):
    registry = ProviderRegistry()
    registry.register(AzureKeyVaultProvider)
    config = parse_config({"systems": [system]}, registry,
                          [*BUILTIN_SETTINGS, *AzureKeyVaultProvider.policy_settings])
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC),
                               selected_controls=frozenset(controls) if controls else None)
    return AzureKeyVaultProvider().discover(config.systems[0], context)


@pytest.mark.parametrize(("provisioning", "activation", "state"), [
    ("Succeeded", "Active", KeyStoreState.CONNECTED),
    ("Activated", "Active", KeyStoreState.CONNECTED),
    ("Succeeded", "NotActivated", KeyStoreState.DISCONNECTED),
    ("Succeeded", "Failed", KeyStoreState.FAILED),
    ("Failed", "Active", KeyStoreState.FAILED),
    ("SecurityDomainRestore", "Active", KeyStoreState.CONNECTING),
    ("Deleting", "Active", KeyStoreState.DISCONNECTING),
])
def test_pool_states(provisioning, activation, state):
    resource = managed_hsm_resource("p", "https://p.managedhsm.azure.net", "s",
                                    provisioning_state=provisioning,
                                    activation_status=activation)
    facts, why = pool_facts(vault_properties(resource, managed_hsm=True))
    assert (facts["key_store_state"], why) == (state, None)
    assert f"provisioningState {provisioning}" in facts["key_store_detail"]


@pytest.mark.parametrize(("provisioning", "activation", "reason"), [
    ("Succeeded", "Unknown", "activation cannot be told"),
    ("Succeeded", "", "activation cannot be told"),
    ("Migrating", "Active", "unknown provisioning state"),
])
def test_a_pool_state_not_known_is_unreadable_never_connected(provisioning, activation, reason):
    resource = managed_hsm_resource("p", "https://p.managedhsm.azure.net", "s",
                                    provisioning_state=provisioning,
                                    activation_status=activation)
    facts, why = pool_facts(vault_properties(resource, managed_hsm=True))
    assert facts == {} and reason in (why or "")


def test_pools_fill_the_key_store_facts_and_list_their_keys(pools):
    attempt = _discover(estate_hsm.system(pools, TOKEN_ENV), controls={"CEK-17"})
    uids = estate_hsm.uids(pools)
    keys = {key.uid: key for key in attempt.keys}
    assert set(keys) == set(uids.values())
    healthy, failed = keys[uids["payments-rsa"]].managed, keys[uids["branch-rsa"]].managed
    assert healthy.key_store_state is KeyStoreState.CONNECTED
    assert (healthy.protection.value, healthy.origin.value) == ("hsm", "hsm")
    assert failed.key_store_state is KeyStoreState.FAILED
    assert "did not come up" in failed.key_store_detail
    (error,) = attempt.errors
    assert "hsm-new" in error.reason and "NotActivated" in error.reason
    assert "cannot list keys: 403" in error.reason
    stores = {s["detail"].split(":")[0]: s for s in attempt.system.attributes["key_stores"]}
    assert stores["Managed HSM hsm-payments"]["keys"] == sorted(
        [uids["payments-rsa"], uids["payments-ec"]])
    assert stores["Managed HSM hsm-new"] == {**stores["Managed HSM hsm-new"],
                                             "state": "disconnected", "keys": []}
    assert pools["hsm-new"].calls["Refused"] >= 1
    assert pools["hsm-payments"].calls["GetCertificates"] == 0  # an HSM has none


def test_a_pool_named_without_its_subscription_cannot_be_judged():
    from pytest_cryptoaudit.providers.azure_keyvault.discovery import VaultDiscovery
    from pytest_cryptoaudit.providers.azure_keyvault.options import AzureKeyVaultOptions

    url = "https://payments.managedhsm.azure.net"
    context = DiscoveryContext(policy=None, now=datetime.now(UTC))  # type: ignore[arg-type]
    run = VaultDiscovery(AzureKeyVaultOptions(vault_urls=[url]), context)
    facts, why = run.pool(url)
    assert run.is_hsm(url) and facts == {}
    assert "payments.managedhsm.azure.net" in why and "name its subscription" in why
    listed = VaultDiscovery(AzureKeyVaultOptions(vault_urls=[url], subscriptions=[
        estate_hsm.SUBSCRIPTION]), context)
    assert "not found in the listed subscriptions" in listed.pool(url)[1]


def test_the_audit_finds_every_key_of_a_failed_pool(audit, pools):
    import tomli_w

    run = audit(tomli_w.dumps({"systems": [estate_hsm.system(pools, TOKEN_ENV)]}),
                "--cryptoaudit-control", "CEK-17", "--cryptoaudit-control", "CEK-21")
    by_uid = results_by_uid(run.evidence)
    problems = []
    for label, uid in estate_hsm.uids(pools).items():
        outcome = next(o for pool in estate_hsm.POOLS for k, o in pool.keys.items() if k == label)
        expect = {"kms-key-store-connected": outcome} if outcome != "passed" else {}
        problems += mismatches(label, {check: result for check, result in by_uid[uid].items()
                                       if check == "kms-key-store-connected"}, expect)
    assert not problems, "\n".join(problems)
    branch = by_uid[estate_hsm.uids(pools)["branch-rsa"]]["kms-key-store-connected"]
    assert "hsm-branch" in branch["message"] and "failed" in branch["message"]
    errors = [r for r in run.evidence["results"] if r["check"] == "discovery-complete"]
    assert any("hsm-new" in r["message"] and r["outcome"] == "error" for r in errors)
    assert TOKEN not in run.output


# -- local RBAC -------------------------------------------------------------------------------

#: What the planted roles allow on keys (from the pool's built-in role definitions).
OFFICER = ("delete", "export", "grant", "manage")
CRYPTO_USER = ("delete", "export", "manage", "use")


def _grants(key):
    return {(g.principal, tuple(a.value for a in g.actions), g.ref, g.source, g.kind.value,
             g.outside) for g in key.managed.access}


def test_the_local_rbac_of_each_pool_is_the_access_of_its_keys(pools):
    before = {name: dict(standin.calls) for name, standin in pools.items()}
    attempt = _discover(estate_hsm.system(pools, TOKEN_ENV), controls={"CEK-08"})
    keys = {key.uid: key for key in attempt.keys}
    uids = estate_hsm.uids(pools)
    officers = (estate_hsm.OFFICERS, OFFICER, "Managed HSM Crypto Officer at /")
    storage = (estate_hsm.STORAGE_CMK, ("use",),
               "Managed HSM Crypto Service Encryption User at /keys")
    for label in ("payments-rsa", "payments-ec"):
        # The auditor's Crypto Auditor role reads attributes only: no grant.
        assert _grants(keys[uids[label]]) == {
            (*officers, "local-rbac", "unknown", False),
            (*storage, "local-rbac", "unknown", False)}, label
    assert _grants(keys[uids["branch-rsa"]]) == {
        (*officers, "local-rbac", "unknown", False),
        (estate_hsm.BRANCH_APP, CRYPTO_USER, "Managed HSM Crypto User at /keys/branch-rsa",
         "local-rbac", "unknown", False)}
    assert not any("managed.access" in key.unreadable for key in attempt.keys)
    # the pool-wide grants are judged once: keys without assignments of their own share them
    assert keys[uids["payments-rsa"]].managed.access is keys[uids["payments-ec"]].managed.access
    for name in ("hsm-payments", "hsm-branch"):  # once per pool, not per key
        calls = pools[name].calls
        assert calls["RoleAssignments_ListForScope"] - before[name].get(
            "RoleAssignments_ListForScope", 0) == 1, name
        assert calls["RoleDefinitions_List"] > before[name].get("RoleDefinitions_List", 0)


def test_the_local_rbac_is_read_only_for_the_access_checks(pools):
    before = pools["hsm-payments"].calls["RoleAssignments_ListForScope"]
    attempt = _discover(estate_hsm.system(pools, TOKEN_ENV), controls={"CEK-17"})
    assert pools["hsm-payments"].calls["RoleAssignments_ListForScope"] == before
    assert all(key.unreadable["managed.access"].startswith("not fetched")
               for key in attempt.keys)


def test_a_refused_local_rbac_leaves_the_pool_keys_access_unreadable(pools):
    branch = pools["hsm-branch"]
    branch.local_rbac_refusal = (403, "Forbidden", "Caller is not authorized to perform "
                                 "action on resource. Operation: RoleAssignments_ListForScope")
    try:
        attempt = _discover(estate_hsm.system(pools, TOKEN_ENV), controls={"CEK-08"})
    finally:
        branch.local_rbac_refusal = None
    keys = {key.uid: key for key in attempt.keys}
    uids = estate_hsm.uids(pools)
    why = keys[uids["branch-rsa"]].unreadable["managed.access"]
    assert why.startswith("local RBAC: 403") and "not authorized" in why
    assert keys[uids["branch-rsa"]].managed.access is None
    assert keys[uids["payments-rsa"]].managed.access  # the other pool is still read


def test_custom_roles_and_roles_the_pool_does_not_list(pools):
    from pytest_cryptoaudit.lab.keyvault_standin import hsm_role_assignment, hsm_role_definition

    payments = pools["hsm-payments"]
    custom, missing = "c0570000-0000-4000-8000-00000000c057", "00000000-dead-4000-8000-00000000dead"
    hsm = "Microsoft.KeyVault/managedHsm/keys/"
    # Every key operation but deletion and export: use and manage.
    payments.hsm_role_definitions[custom] = hsm_role_definition(
        custom, "Key Operators", [f"{hsm}*"],
        [f"{hsm}delete", f"{hsm}deletedKeys/delete", f"{hsm}export/action",
         f"{hsm}backup/action", f"{hsm}release/action"], custom=True)
    added = [hsm_role_assignment("/keys/payments-rsa", custom, "operators"),
             hsm_role_assignment("/keys/payments-ec", missing, "someone")]
    payments.hsm_role_assignments += added
    try:
        attempt = _discover(estate_hsm.system(pools, TOKEN_ENV), controls={"CEK-08"})
    finally:
        del payments.hsm_role_definitions[custom]
        del payments.hsm_role_assignments[-len(added):]
    keys = {key.uid: key for key in attempt.keys}
    uids = estate_hsm.uids(pools)
    assert ("operators", ("manage", "use"), "Key Operators at /keys/payments-rsa", "local-rbac",
            "unknown", False) in _grants(keys[uids["payments-rsa"]])
    # What an unlisted role allows cannot be told: the key's access is unreadable, naming it.
    ec = keys[uids["payments-ec"]]
    assert ec.managed.access is None
    assert missing in ec.unreadable["managed.access"]
    assert "not listed by the pool" in ec.unreadable["managed.access"]


def test_the_audit_judges_pool_keys_by_their_local_rbac(audit, pools):
    import tomli_w

    run = audit(tomli_w.dumps({"systems": [estate_hsm.system(pools, TOKEN_ENV)]}),
                "--cryptoaudit-control", "CEK-08")
    by_uid = results_by_uid(run.evidence)
    uids = estate_hsm.uids(pools)
    access_checks = ("kms-policy-not-public", "kms-policy-principals", "kms-grantees",
                     "kms-separation-of-duties")
    for label, uid in uids.items():
        outcomes = {check: by_uid[uid][check]["outcome"] for check in access_checks}
        expected = "failed" if label == "branch-rsa" else "passed"
        assert outcomes == {**dict.fromkeys(access_checks, "passed"),
                            "kms-separation-of-duties": expected}, label
    sod = by_uid[uids["branch-rsa"]]["kms-separation-of-duties"]["message"]
    assert estate_hsm.BRANCH_APP in sod and "Crypto User at /keys/branch-rsa" in sod
    assert estate_hsm.OFFICERS not in sod  # administers, never uses


def test_without_the_administration_sdk_the_pool_keys_access_is_unreadable(pools, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "azure.keyvault.administration", None)  # not installed
    attempt = _discover(estate_hsm.system(pools, TOKEN_ENV), controls={"CEK-08"})
    whys = {key.unreadable.get("managed.access") for key in attempt.keys}
    assert len(whys) == 1 and "azure-keyvault-administration is not installed" in whys.pop()
    assert all(key.managed.access is None for key in attempt.keys)


def test_an_auditor_holding_a_pool_role_is_not_independent(pools):
    from pytest_cryptoaudit.lab.keyvault_standin import AUDITOR_OID, hsm_role_assignment

    system = estate_hsm.system(pools, TOKEN_ENV)
    clean = _discover(system, controls={"CEK-09"}).system.attributes
    assert clean["auditor_admin_rights"] == []  # Crypto Auditor reads, holds no action
    payments = pools["hsm-payments"]
    payments.hsm_role_assignments.append(hsm_role_assignment(
        "/keys/payments-ec", estate_hsm.CRYPTO_OFFICER, AUDITOR_OID))
    try:
        rights = _discover(system, controls={"CEK-09"}).system.attributes
    finally:
        payments.hsm_role_assignments.pop()
    assert rights["auditor_admin_rights"] == [
        "local-rbac Managed HSM Crypto Officer at /keys/payments-ec: "
        "delete, export, grant, manage"]
