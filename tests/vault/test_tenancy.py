"""Tenant key isolation on OpenBao with the holders of the policies and the context of each
use: a namespace ``saas`` serving two tenants, a derived shared key (passes), a plain shared
key (fails), an ACL that requires associated data (passes) and one that requires a context
the key ignores (fails), an entity of one tenant holding a policy on the other's key, a
root-namespace entity whose policy reaches into the namespace, and a token that may not list
the entities (the checks needing the holders error, naming the path)."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime

import pytest

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.lab import openbao
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry

from .helpers import Evidence, audit_config, system

NAMESPACE = "saas"
ACME_CONTEXT = "YWNtZQ=="  # base64 "acme"
KEYS = {"acme-data": {}, "globex-data": {}, "shared-derived": {"derived": True},
        "shared-plain": {}, "shared-aad": {}, "shared-ctx-ignored": {}}
USE = 'capabilities = ["update"]'


def _use(key: str, conditions: str = "") -> str:
    return "".join(f'path "transit/{op}/{key}" {{\n  {USE}\n  {conditions}\n}}\n'
                   for op in ("encrypt", "decrypt"))


POLICIES = {
    "acme-app": "".join([
        _use("acme-data"),
        _use("shared-derived", f'allowed_parameters = {{ "context" = ["{ACME_CONTEXT}"] '
                               '"*" = [] }'),
        _use("shared-plain"),
        _use("shared-aad", 'required_parameters = ["associated_data"]'),
        _use("shared-ctx-ignored", 'required_parameters = ["context"]'),
    ]),
    "globex-app": _use("globex-data") + _use("shared-derived"),
    # named as acme's, held by globex's analyst: only the holders show it
    "acme-reports": 'path "transit/decrypt/acme-data" { capabilities = ["update"] }',
    # administers acme's key; held with acme-app by one entity, that entity has both duties
    "acme-keyadmin": 'path "transit/keys/acme-data/rotate" { capabilities = ["update"] }',
}
#: A root-namespace policy that reaches into the namespace, held by a root entity.
ROOT_POLICY = f'path "{NAMESPACE}/transit/decrypt/acme-data" {{ {USE} }}'
#: A root token that reads everything the checks need, but not the namespace's entities.
BLIND_POLICY = f"""
path "auth/token/lookup-self" {{ capabilities = ["read"] }}
path "{NAMESPACE}/auth/token/lookup-self" {{ capabilities = ["read"] }}
path "sys/policies/acl" {{ capabilities = ["list"] }}
path "sys/policies/acl/*" {{ capabilities = ["read"] }}
path "{NAMESPACE}/sys/policies/acl" {{ capabilities = ["list"] }}
path "{NAMESPACE}/sys/policies/acl/*" {{ capabilities = ["read"] }}
path "{NAMESPACE}/sys/mounts" {{ capabilities = ["read"] }}
path "{NAMESPACE}/+/keys/*" {{ capabilities = ["read", "list"] }}
path "{NAMESPACE}/identity/group/id/" {{ capabilities = ["list"] }}
path "{NAMESPACE}/identity/group/id/+" {{ capabilities = ["read"] }}
"""
PREFIX = "vault:vault-saas/transit/"
BLIND = "vault:vault-saas-blind/transit/"


@pytest.fixture(scope="module")
def saas_server(seeded_vault):
    """Namespace ``saas`` with its keys, policies, entities, group and auth roles."""
    root = seeded_vault.server.client()
    root.write_data(f"sys/namespaces/{NAMESPACE}", data={})
    client = seeded_vault.server.client(namespace=NAMESPACE)
    openbao.enable_engine(client, "transit", "transit")
    for name, settings in KEYS.items():
        openbao.create_transit_key(client, "transit", name, "aes256-gcm96",
                                   auto_rotate_period="720h", **settings)
    for name, rules in POLICIES.items():
        openbao.write_policy(client, name, rules)
    openbao.create_entity(client, "acme-svc", ["acme-app", "acme-keyadmin"])
    analyst = openbao.create_entity(client, "globex-analyst", ["acme-reports"])
    openbao.create_group(client, "globex-ops", ["globex-app"], [analyst])
    openbao.enable_auth(client, "approle", "approle")
    openbao.write_auth_entry(client, "auth/approle/role/acme-batch", token_policies=["acme-app"])
    openbao.enable_auth(client, "userpass", "userpass")
    openbao.write_auth_entry(client, "auth/userpass/users/globex-dev", password="unused-1",
                             token_policies=["globex-app"])
    openbao.write_policy(root, "saas-reach", ROOT_POLICY)
    openbao.create_entity(root, "globex-root-bot", ["saas-reach"])
    openbao.write_policy(root, "saas-blind", BLIND_POLICY)
    return seeded_vault, openbao.create_token(root, ["saas-blind"], "saas-blind")


TENANCY = """
[tenancy]
systems = ["vault-saas", "vault-saas-blind"]
shared_keys = ["vault:vault-saas*/transit/shared-*"]

[[tenancy.tenants]]
name = "acme"
keys = ["vault:vault-saas*/transit/acme-*"]
principals = ["*:saas/acme-*", "auth:saas/auth/*/acme-*"]

[[tenancy.tenants]]
name = "globex"
keys = ["vault:vault-saas*/transit/globex-*"]
principals = ["*:saas/globex-*", "auth:saas/auth/*/globex-*", "entity:globex-*"]

"""


def _run(saas_server, folder, *args: str, ret: int = 1) -> Evidence:
    seeded, blind_token = saas_server
    url = seeded.server.url
    config = "".join([
        TENANCY,
        system("vault-saas", "high", url, token_env="TEST_VAULT_ROOT", namespace=NAMESPACE),
        system("vault-saas-blind", "high", url, token_env="TEST_VAULT_BLIND",
               namespace=NAMESPACE),
    ])
    return audit_config(folder, config, *args, ret=ret, TEST_VAULT_ROOT=seeded.server.root_token,
                        TEST_VAULT_BLIND=blind_token)


@pytest.fixture(scope="module")
def audit(saas_server, tmp_path_factory) -> Evidence:
    return _run(saas_server, tmp_path_factory.mktemp("vault-saas"),
                "--cryptoaudit-control", "CEK-08")


def test_a_holder_of_another_tenant_is_named(audit):
    uid = PREFIX + "acme-data"
    assert audit.outcome("tenant-key-isolation", uid) == "failed"
    message = audit.message("tenant-key-isolation", uid)
    assert ('entity:saas/globex-analyst (vault-acl policy acme-reports: path '
            '"transit/decrypt/acme-data"; use) of tenant globex') in message
    assert "policy:saas/acme-reports" not in message  # the policy's name says acme
    assert "acme-svc" not in message and "acme-batch" not in message
    assert audit.outcome("tenant-key-isolation", PREFIX + "globex-data") == "passed"


def test_a_root_policy_reaching_into_the_namespace_names_its_holder(audit):
    message = audit.message("tenant-key-isolation", PREFIX + "acme-data")
    assert ('entity:globex-root-bot (vault-acl policy saas-reach: path '
            f'"{NAMESPACE}/transit/decrypt/acme-data"; use) of tenant globex') in message


def test_an_entity_holding_an_admin_and_a_use_policy_is_a_separation_finding(audit):
    uid = PREFIX + "acme-data"
    assert audit.outcome("kms-separation-of-duties", uid) == "failed"
    message = audit.message("kms-separation-of-duties", uid)
    assert ('entity:saas/acme-svc (vault-acl policy acme-app: path "transit/decrypt/acme-data", '
            '"transit/encrypt/acme-data"; vault-acl policy acme-keyadmin: path ') in message
    assert "policy:saas/acme-keyadmin" not in message  # each policy alone has one duty
    assert "entity:saas/acme-svc" not in audit.message("kms-separation-of-duties",
                                                       PREFIX + "globex-data")


def test_a_derived_shared_key_passes(audit):
    uid = PREFIX + "shared-derived"
    assert audit.outcome("tenant-shared-key-context", uid) == "passed"
    grants = _grants(audit, uid)
    assert grants["entity:saas/acme-svc"]["context_keys"] == ["context"]
    assert grants["entity:saas/acme-svc"]["restricted"] is True  # its context is pinned
    assert grants["entity:saas/globex-analyst"]["restricted"] is False  # via globex-ops
    assert "values not pinned" in grants["group:saas/globex-ops"]["ref"]


def test_a_plain_shared_key_fails_naming_every_holder(audit):
    uid = PREFIX + "shared-plain"
    assert audit.outcome("tenant-shared-key-context", uid) == "failed"
    message = audit.message("tenant-shared-key-context", uid)
    for principal in ("policy:saas/acme-app", "entity:saas/acme-svc",
                      "auth:saas/auth/approle/role/acme-batch"):
        assert f"{principal} (vault-acl policy acme-app: path " in message
    assert "of tenant globex" not in message  # globex has no use of it


def test_an_acl_requiring_associated_data_passes(audit):
    assert audit.outcome("tenant-shared-key-context", PREFIX + "shared-aad") == "passed"
    grants = _grants(audit, PREFIX + "shared-aad")
    assert grants["policy:saas/acme-app"]["context_keys"] == ["associated_data"]


def test_an_acl_requiring_a_context_the_key_ignores_fails(audit):
    uid = PREFIX + "shared-ctx-ignored"
    assert audit.outcome("tenant-shared-key-context", uid) == "failed"
    assert ("context required by the ACL but ignored: the key is not derived"
            in audit.message("tenant-shared-key-context", uid))


def test_holders_are_named_with_their_kind(audit):
    grants = _grants(audit, PREFIX + "globex-data")
    kinds = {p: g["kind"] for p, g in grants.items() if "saas/" in p}  # root's: "broad" ...
    assert kinds == {"policy:saas/globex-app": "role", "group:saas/globex-ops": "group",
                     "entity:saas/globex-analyst": "user",
                     "auth:saas/auth/userpass/users/globex-dev": "user"}
    assert grants["entity:saas/globex-analyst"]["ref"].startswith(
        "vault-acl policy globex-app via group saas/globex-ops: path ")
    attributes = audit.system("vault-saas")["attributes"]
    assert attributes["policy_holders"]["acme-reports"] == ["entity:saas/globex-analyst"]
    assert attributes["policy_holders"]["globex-app"] == [
        "auth:saas/auth/userpass/users/globex-dev", "entity:saas/globex-analyst",
        "group:saas/globex-ops"]
    # each list named by its path from the root namespace: the namespace's and the root's
    assert {"saas/identity/entity/id", "saas/auth/approle/role",
            "identity/entity/id"} <= set(attributes["policy_holder_lists"])
    assert "auth/approle/role" not in attributes["policy_holder_lists"]


def test_an_unreadable_identity_list_errors_the_checks_that_need_it(audit):
    uid = BLIND + "acme-data"
    assert audit.outcome("tenant-key-isolation", uid) == "error"
    message = audit.message("tenant-key-isolation", uid)
    assert "managed.access_holders" in message
    assert "identity/entity/id: permission denied (HTTP 403)" in message
    assert audit.outcome("kms-separation-of-duties", uid) == "error"
    assert audit.outcome("tenant-shared-key-context", BLIND + "shared-derived") == "error"
    # a check that does not need the holders still judges the policies
    assert audit.outcome("kms-policy-not-public", uid) == "passed"
    errors = [e["reason"] for e in audit.discovery_errors("vault-saas-blind")]
    assert any(r.startswith("holders of the ACL policies: identity/entity/id") for r in errors)


def test_holders_are_read_only_when_a_selected_control_needs_them(saas_server, tmp_path):
    seeded, _ = saas_server
    log = seeded.server.audit_log
    assert log is not None
    before = _identity_requests(log.read_text(encoding="utf-8"))
    evidence = _run(saas_server, tmp_path, "--cryptoaudit-control", "CEK-12", ret=0)
    assert _identity_requests(log.read_text(encoding="utf-8")) == before
    key = next(k for k in evidence.data["inventory"] if k["uid"] == PREFIX + "acme-data")
    assert key["unreadable"]["managed.access_holders"].startswith("not fetched")
    assert "policy_holders" not in evidence.system("vault-saas")["attributes"]


def test_access_alone_names_the_policies_without_reading_holders(saas_server, monkeypatch):
    seeded, _ = saas_server
    monkeypatch.setenv("TEST_VAULT_ROOT", seeded.server.root_token)
    log = seeded.server.audit_log
    assert log is not None
    before = _identity_requests(log.read_text(encoding="utf-8"))
    config = system("vault-saas", "high", seeded.server.url, token_env="TEST_VAULT_ROOT",
                    namespace=NAMESPACE)
    inventory = _discover(config, frozenset({"managed.access"}))
    assert _identity_requests(log.read_text(encoding="utf-8")) == before
    key = next(k for k in inventory.keys if k.uid == PREFIX + "acme-data")
    assert key.managed is not None and key.managed.access is not None
    assert {g.principal for g in key.managed.access} >= {"policy:saas/acme-app",
                                                          "policy:saas/acme-reports"}
    assert not [g for g in key.managed.access if g.principal.startswith("entity:")]
    assert key.unreadable["managed.access_holders"].startswith("not fetched")
    with_holders = _discover(config, frozenset({"managed.access", "managed.access_holders"}))
    assert _identity_requests(log.read_text(encoding="utf-8")) > before
    key = next(k for k in with_holders.keys if k.uid == PREFIX + "acme-data")
    assert key.managed is not None and key.managed.access_holders is not None
    assert "entity:saas/globex-analyst" in {g.principal for g in key.managed.access or ()}


def _discover(config_text: str, facts: frozenset[str]):
    registry = ProviderRegistry()
    config = parse_config(tomllib.loads(config_text),
                          registry, [*BUILTIN_SETTINGS, *registry.policy_settings()])
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC), required_facts=facts)
    return discover_all(config, registry, context)


def _identity_requests(log: str) -> int:
    count = 0
    for line in log.splitlines():
        entry = json.loads(line)
        if entry.get("type") == "request" and str(
                entry.get("request", {}).get("path", "")).startswith("identity/"):
            count += 1
    return count


def _grants(audit: Evidence, uid: str) -> dict[str, dict]:
    key = next(k for k in audit.data["inventory"] if k["uid"] == uid)
    return {g["principal"]: g for g in key["managed"]["access"]}
