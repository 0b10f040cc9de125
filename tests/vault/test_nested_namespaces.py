"""Namespaces above a nested audited namespace, on OpenBao: the audited namespace is
``org/div/acme``; a policy of ``org`` held by an ``org`` entity of another tenant reaches
into it (``div/acme/transit/...``), and an ``org/div`` approle role holds a policy that
rotates and one that uses the same key (``acme/transit/...``), and an ``org/div`` entity of
another tenant may write acme's policies (``acme/sys/policies/acl/*``). Two more tokens read
everything but the policies of ``org`` or the entities of ``org/div``: the checks that need
them error, naming the namespace."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime

import pytest

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.lab import openbao
from pytest_cryptoaudit.lab.estate_vault_tenants import namespaced_auditor_policy
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry

from .helpers import Evidence, audit_config, system

NAMESPACE = "org/div/acme"
USE = 'capabilities = ["update"]'
#: Policy of ``org``: encrypts and decrypts with acme's key, two namespaces down.
ORG_REACH = "".join(f'path "div/acme/transit/{op}/acme-data" {{ {USE} }}\n'
                    for op in ("encrypt", "decrypt"))
#: Policies of ``org/div``, one namespace down: one rotates acme's key, one uses it.
DIV_POLICIES = {"div-keyadmin": f'path "acme/transit/keys/acme-data/rotate" {{ {USE} }}',
                "div-user": f'path "acme/transit/encrypt/acme-data" {{ {USE} }}',
                "div-policy-writer": 'path "acme/sys/policies/acl/*" '
                                     '{ capabilities = ["create", "update"] }'}
PREFIX = "vault:vault-nested/transit/"
NO_POLICIES = "vault:vault-nested-nopolicies/transit/"
NO_HOLDERS = "vault:vault-nested-noholders/transit/"


def _auditor_rules(without: str) -> str:
    """The lab's auditor policy for every namespace on the way down (for a root token),
    without the rules whose path starts with ``without``."""
    rules = namespaced_auditor_policy(NAMESPACE).splitlines()
    kept = [rule for rule in rules if not rule.startswith(f'path "{without}')]
    assert len(kept) < len(rules)
    return "\n".join(kept) + "\n"


@pytest.fixture(scope="module")
def nested_server(seeded_vault):
    """``org/div/acme`` with its keys, and the policies and holders above it."""
    root = seeded_vault.server.client()
    root.write_data("sys/namespaces/org", data={})
    org = seeded_vault.server.client(namespace="org")
    org.write_data("sys/namespaces/div", data={})
    div = seeded_vault.server.client(namespace="org/div")
    div.write_data("sys/namespaces/acme", data={})
    acme = seeded_vault.server.client(namespace=NAMESPACE)
    openbao.enable_engine(acme, "transit", "transit")
    for name in ("acme-data", "acme-other"):
        openbao.create_transit_key(acme, "transit", name, "aes256-gcm96",
                                   auto_rotate_period="720h")
    openbao.write_policy(org, "div-reach", ORG_REACH)
    openbao.create_entity(org, "globex-bot", ["div-reach"])
    for name, rules in DIV_POLICIES.items():
        openbao.write_policy(div, name, rules)
    openbao.enable_auth(div, "approle", "approle")
    openbao.write_auth_entry(div, "auth/approle/role/ops-batch",
                             token_policies=["div-keyadmin", "div-user"])
    openbao.create_entity(div, "globex-writer", ["div-policy-writer"])
    tokens = {}
    for name, without in (("nopolicies", "org/sys/policies/acl"),
                          ("noholders", "org/div/identity/entity")):
        openbao.write_policy(root, f"nested-{name}", _auditor_rules(without))
        tokens[name] = openbao.create_token(root, [f"nested-{name}"], f"nested-{name}")
    return seeded_vault, tokens


TENANCY = """
[tenancy]
systems = ["vault-nested", "vault-nested-nopolicies", "vault-nested-noholders"]

[[tenancy.tenants]]
name = "acme"
keys = ["vault:vault-nested*/transit/acme-*"]
principals = ["*:org/div/acme/*"]

[[tenancy.tenants]]
name = "globex"
keys = ["vault:vault-nested*/transit/globex-*"]
principals = ["*:org/globex-*", "*:org/div/globex-*"]

"""


@pytest.fixture(scope="module")
def audit(nested_server, tmp_path_factory) -> Evidence:
    seeded, tokens = nested_server
    folder = tmp_path_factory.mktemp("vault-nested")
    url = seeded.server.url
    config = "".join([
        TENANCY,
        system("vault-nested", "high", url, token_env="TEST_VAULT_ROOT", namespace=NAMESPACE),
        system("vault-nested-nopolicies", "high", url, token_env="TEST_VAULT_NOPOLICIES",
               namespace=NAMESPACE),
        system("vault-nested-noholders", "high", url, token_env="TEST_VAULT_NOHOLDERS",
               namespace=f"/{NAMESPACE}/"),
    ])
    return audit_config(folder, config, "--cryptoaudit-control", "CEK-08",
                        TEST_VAULT_ROOT=seeded.server.root_token,
                        TEST_VAULT_NOPOLICIES=tokens["nopolicies"],
                        TEST_VAULT_NOHOLDERS=tokens["noholders"])


def test_the_server_lets_policies_above_reach_into_the_namespace(nested_server):
    seeded, _ = nested_server
    org = seeded.server.client(namespace="org")
    token = openbao.create_token(org, ["div-reach"], "div-reach")
    reached = seeded.server.client(token=token, namespace=NAMESPACE)
    answer = reached.secrets.transit.encrypt_data("acme-data", "aGVsbG8=", mount_point="transit")
    assert answer["data"]["ciphertext"].startswith("vault:v1:")
    writer = seeded.server.client(
        token=openbao.create_token(seeded.server.client(namespace="org/div"),
                                   ["div-policy-writer"], "div-policy-writer"),
        namespace=NAMESPACE)  # a token of org/div writes a policy of org/div/acme
    writer.write_data("sys/policies/acl/written-from-above",
                      data={"policy": 'path "transit/keys" { capabilities = ["list"] }'})
    acme = seeded.server.client(namespace=NAMESPACE)
    assert "written-from-above" in acme.sys.list_acl_policies()["data"]["keys"]
    acme.sys.delete_acl_policy("written-from-above")


def test_an_intermediate_policy_holder_of_another_tenant_is_named(audit):
    uid = PREFIX + "acme-data"
    assert audit.outcome("tenant-key-isolation", uid) == "failed"
    message = audit.message("tenant-key-isolation", uid)
    assert ('entity:org/globex-bot (vault-acl policy div-reach: path '
            '"div/acme/transit/decrypt/acme-data", "div/acme/transit/encrypt/acme-data"; use) '
            'of tenant globex') in message
    # writing acme's policies from org/div reaches every key of acme
    writer = ('entity:org/div/globex-writer (vault-acl policy div-policy-writer: path '
              '"acme/sys/policies/acl/*"; grant) of tenant globex')
    assert writer in message
    other = audit.message("tenant-key-isolation", PREFIX + "acme-other")
    assert writer.replace("acme-data", "acme-other") in other and "globex-bot" not in other


def test_grants_from_each_namespace_above_name_their_holders(audit):
    grants = _grants(audit, PREFIX + "acme-data")
    [reach] = grants["policy:org/div-reach"]
    assert reach["actions"] == ["use"] and reach["ref"].startswith(
        'vault-acl policy div-reach: path "div/acme/transit/decrypt/acme-data"')
    [bot] = grants["entity:org/globex-bot"]
    assert (bot["kind"], bot["actions"], bot["ref"]) == ("user", ["use"], reach["ref"])
    role = grants["auth:org/div/auth/approle/role/ops-batch"]
    assert [(g["kind"], g["actions"], g["ref"]) for g in role] == [
        ("role", ["manage"], 'vault-acl policy div-keyadmin: path '
                             '"acme/transit/keys/acme-data/rotate"'),
        ("role", ["use"], 'vault-acl policy div-user: path "acme/transit/encrypt/acme-data"')]
    assert {"policy:org/div/div-keyadmin", "policy:org/div/div-user"} <= set(grants)
    assert "policy:div-reach" not in grants  # a policy of org, not of the root
    # the root's "broad" (path "*") still reaches three namespaces down
    assert grants["policy:broad"][0]["ref"].startswith("vault-acl policy broad (no holder")
    assert [p for p in _grants(audit, PREFIX + "acme-other") if p.startswith(
        ("entity:org/", "auth:org/div/", "policy:org/"))] == [
        "policy:org/div/div-policy-writer", "entity:org/div/globex-writer"]


def test_a_role_above_that_administers_and_uses_the_key_is_a_separation_finding(audit):
    uid = PREFIX + "acme-data"
    assert audit.outcome("kms-separation-of-duties", uid) == "failed"
    message = audit.message("kms-separation-of-duties", uid)
    assert ('auth:org/div/auth/approle/role/ops-batch (vault-acl policy div-keyadmin: path '
            '"acme/transit/keys/acme-data/rotate"; vault-acl policy div-user: path '
            '"acme/transit/encrypt/acme-data")') in message
    assert "ops-batch" not in audit.message("kms-separation-of-duties", PREFIX + "acme-other")


def test_the_system_names_each_namespace_above(audit):
    attributes = audit.system("vault-nested")["attributes"]
    assert attributes["ancestor_namespaces"] == ["root", "org", "org/div"]
    above = attributes["ancestor_policy_holders"]
    assert above["org"]["div-reach"] == ["entity:org/globex-bot"]
    assert above["org/div"]["div-user"] == ["auth:org/div/auth/approle/role/ops-batch"]
    assert above["root"]["broad"] == []
    assert {"identity/entity/id", "org/identity/entity/id", "org/div/auth/approle/role",
            f"{NAMESPACE}/identity/group/id"} <= set(attributes["policy_holder_lists"])


def test_unreadable_policies_above_fail_closed_naming_the_namespace(audit):
    uid = NO_POLICIES + "acme-data"
    for check in ("tenant-key-isolation", "kms-separation-of-duties", "kms-policy-not-public"):
        assert audit.outcome(check, uid) == "error", check
        message = audit.message(check, uid)
        assert "namespace org: sys/policies/acl: permission denied (HTTP 403)" in message
    errors = [e["reason"] for e in audit.discovery_errors("vault-nested-nopolicies")]
    assert "namespace org: sys/policies/acl: permission denied (HTTP 403)" in errors


def test_unreadable_holders_above_fail_closed_naming_the_namespace(audit):
    uid = NO_HOLDERS + "acme-data"
    reason = ("holders of the ACL policies of the namespace org/div: identity/entity/id: "
              "permission denied (HTTP 403)")
    for check in ("tenant-key-isolation", "kms-separation-of-duties"):
        assert audit.outcome(check, uid) == "error", check
        message = audit.message(check, uid)
        assert "managed.access_holders" in message and reason in message
    assert audit.outcome("tenant-key-isolation", NO_HOLDERS + "acme-other") == "error"
    # the policies alone were read: the checks that judge them still run
    assert audit.outcome("kms-policy-not-public", uid) == "passed"
    assert reason in [e["reason"] for e in audit.discovery_errors("vault-nested-noholders")]
    assert "policy_holders" not in audit.system("vault-nested-noholders")["attributes"]


@pytest.mark.parametrize(("facts", "read"), [
    (frozenset({"managed.rotation"}), set()),
    (frozenset({"managed.access"}), {"", "org/", "org/div/", f"{NAMESPACE}/"}),
])
def test_namespaces_above_are_read_only_for_the_access_facts(nested_server, monkeypatch,
                                                             facts, read):
    seeded, _ = nested_server
    monkeypatch.setenv("TEST_VAULT_ROOT", seeded.server.root_token)
    log = seeded.server.audit_log
    assert log is not None
    start = len(log.read_text(encoding="utf-8").splitlines())
    text = system("vault-nested", "high", seeded.server.url, token_env="TEST_VAULT_ROOT",
                  namespace=NAMESPACE)
    registry = ProviderRegistry()
    config = parse_config(tomllib.loads(text), registry,
                          [*BUILTIN_SETTINGS, *registry.policy_settings()])
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC), required_facts=facts)
    inventory = discover_all(config, registry, context)
    assert {k.uid for k in inventory.keys} == {PREFIX + "acme-data", PREFIX + "acme-other"}
    entries = [json.loads(line) for line in
               log.read_text(encoding="utf-8").splitlines()[start:]]
    policy_reads = {e["request"].get("namespace", {}).get("path", "") for e in entries
                    if e.get("type") == "request"
                    and e["request"].get("path", "").startswith("sys/policies/acl")}
    assert policy_reads == read


def _grants(audit: Evidence, uid: str) -> dict[str, list[dict]]:
    """Principal -> its grants on the key (one per policy it holds), in evidence order."""
    key = next(k for k in audit.data["inventory"] if k["uid"] == uid)
    found: dict[str, list[dict]] = {}
    for grant in key["managed"]["access"]:
        found.setdefault(grant["principal"], []).append(grant)
    return found
