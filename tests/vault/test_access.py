"""Transit keys' access grants from ACL policies (``managed.access``), and tenant isolation
on Vault: tenants in a namespace of their own, one planted cross-tenant policy, a root
namespace policy that reaches into the namespace, a shared key used without a per-tenant
context, and a token that cannot read the policies (fail closed)."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.facts import Action
from pytest_cryptoaudit.lab import openbao
from pytest_cryptoaudit.providers.vault.access import key_access, policy_grant, priority, rule_for
from pytest_cryptoaudit.providers.vault.policies import parse_policy

from .conftest import POLICIES
from .helpers import Evidence, audit_config, system

NAMESPACE = "tenants"
KEYS = ("acme-data", "globex-data", "shared-data")
TENANT_POLICIES = {
    "acme-app": 'path "transit/encrypt/acme-*" { capabilities = ["update"] }\n'
                'path "transit/decrypt/acme-*" { capabilities = ["update"] }\n'
                'path "transit/encrypt/shared-data" { capabilities = ["update"] }',
    "acme-admin": 'path "transit/keys/acme-data/config" { capabilities = ["update"] }\n'
                  'path "transit/keys/acme-data/rotate" { capabilities = ["update"] }',
    # the planted cross-tenant entry: decrypt/+ takes in every tenant's key
    "globex-app": 'path "transit/encrypt/globex-data" { capabilities = ["update"] }\n'
                  'path "transit/decrypt/+" { capabilities = ["update"] }',
    # encrypt with every key but acme's: the more specific deny wins
    "globex-batch": 'path "transit/encrypt/*" { capabilities = ["update"] }\n'
                    'path "transit/encrypt/acme-data" { capabilities = ["deny"] }',
    "keys-only": 'path "auth/token/lookup-self" { capabilities = ["read"] }\n'
                 'path "sys/mounts" { capabilities = ["read"] }\n'
                 'path "transit/keys" { capabilities = ["list"] }\n'
                 'path "transit/keys/*" { capabilities = ["read"] }',
}
PREFIX = "vault:vault-tenants/transit/"
#: A root-namespace policy that reaches into the tenants' namespace by naming it.
ROOT_POLICY = f'path "{NAMESPACE}/transit/encrypt/acme-data" {{ capabilities = ["update"] }}'


def _rules(name: str) -> dict[str, list[str]]:
    return parse_policy(POLICIES[name] if name in POLICIES else TENANT_POLICIES[name])


def _actions(name: str, key: str = "k", mount: str = "transit") -> set[Action]:
    grant = policy_grant(name, _rules(name), mount, key)
    return set(grant.actions) if grant else set()


@pytest.mark.parametrize(("policy", "expected"), [
    ("reader", {Action.USE}),
    ("exporter", {Action.EXPORT}),
    ("app-ops", {Action.MANAGE, Action.GRANT}),
    ("broad", {Action.USE, Action.MANAGE, Action.DELETE, Action.GRANT}),
    ("ops-admin", {Action.GRANT}),
    ("limited", set()),
    ("legacy-writer", set()),
])
def test_capabilities_become_actions(policy, expected):
    assert _actions(policy) == expected


def test_broad_update_trims_but_cannot_delete_or_export():
    grant = policy_grant("broad", _rules("broad"), "transit", "k")
    assert grant is not None and Action.EXPORT not in grant.actions
    assert grant.principal == "policy:broad" and grant.ref == 'vault-acl policy broad: path "*"'
    assert _actions("broad", mount="transit-low") == _actions("broad")


def test_more_specific_deny_wins_and_other_keys_keep_access():
    assert _actions("globex-batch", "acme-data") == set()
    assert _actions("globex-batch", "globex-data") == {Action.USE}


def test_policy_on_another_mount_or_key_gives_nothing():
    assert _actions("acme-app", "globex-data") == set()
    assert _actions("acme-app", "acme-data", mount="transit-low") == set()
    assert _actions("acme-admin", "acme-data") == {Action.MANAGE}


@pytest.mark.parametrize(("globs", "path", "chosen"), [
    (["transit/*", "transit/encrypt/k"], "transit/encrypt/k", "transit/encrypt/k"),
    (["transit/encrypt/*", "transit/+/k"], "transit/encrypt/k", "transit/encrypt/*"),
    (["transit/+/k", "+/encrypt/k"], "transit/encrypt/k", "transit/+/k"),
    (["transit/encrypt/k*", "transit/encrypt/k"], "transit/encrypt/k", "transit/encrypt/k"),
    (["transit/+/+", "transit/+/k"], "transit/encrypt/k", "transit/+/k"),
    (["secret/*"], "transit/encrypt/k", None),
])
def test_rule_vault_applies_to_a_request(globs, path, chosen):
    assert rule_for({glob: ["update"] for glob in globs}, path) == chosen


def test_priority_of_an_exact_path_beats_any_glob():
    assert priority("a/b") > priority("a/b*") > priority("a/+")


def test_namespace_names_the_principal_and_root_is_never_listed():
    grants = key_access({"acme-app": _rules("acme-app")}, "transit", "acme-data", "tenants/")
    assert [g.principal for g in grants] == ["policy:tenants/acme-app"]
    assert grants[0].source == "vault-acl"


@pytest.fixture(scope="module")
def tenant_server(seeded_vault):
    """Namespace ``tenants`` on the session server, with its own keys and policies."""
    root = seeded_vault.server.client()
    root.write_data(f"sys/namespaces/{NAMESPACE}", data={})
    client = seeded_vault.server.client(namespace=NAMESPACE)
    openbao.enable_engine(client, "transit", "transit")
    for name in KEYS:
        openbao.create_transit_key(client, "transit", name, "aes256-gcm96",
                                   auto_rotate_period="720h")
    for name, rules in TENANT_POLICIES.items():
        openbao.write_policy(client, name, rules)
    openbao.write_policy(root, "globex-root", ROOT_POLICY)
    return seeded_vault, openbao.create_token(client, ["keys-only"], "keys-only")


TENANCY = f"""
[tenancy]
systems = ["vault-tenants"]
shared_keys = ["{PREFIX}shared-*"]

[[tenancy.tenants]]
name = "acme"
keys = ["{PREFIX}acme-*"]
principals = ["policy:{NAMESPACE}/acme-*"]

[[tenancy.tenants]]
name = "globex"
keys = ["{PREFIX}globex-*"]
principals = ["policy:{NAMESPACE}/globex-*", "policy:globex-*"]

"""


@pytest.fixture(scope="module")
def audit(tenant_server, tmp_path_factory) -> Evidence:
    seeded, blind_token = tenant_server
    folder = tmp_path_factory.mktemp("vault-tenants")
    url = seeded.server.url
    config = "".join([
        TENANCY,
        system("vault-tenants", "high", url, token_env="TEST_VAULT_ROOT", namespace=NAMESPACE),
        system("vault-blind", "high", url, token_env="TEST_VAULT_BLIND", namespace=NAMESPACE),
    ])
    return audit_config(folder, config, "--cryptoaudit-control", "CEK-08",
                        TEST_VAULT_ROOT=seeded.server.root_token, TEST_VAULT_BLIND=blind_token)


def test_cross_tenant_policy_is_found(audit):
    message = audit.message("tenant-key-isolation", PREFIX + "acme-data")
    assert audit.outcome("tenant-key-isolation", PREFIX + "acme-data") == "failed"
    assert message.startswith("key of tenant acme is open to other tenants")
    # no entity, group or auth role holds the policy: the grant says so
    assert ("policy:tenants/globex-app (vault-acl policy globex-app (no holder found): path "
            in message)
    assert "globex-batch" not in message  # its deny on acme-data wins
    assert audit.outcome("tenant-key-isolation", PREFIX + "globex-data") == "passed"


def test_shared_key_without_context_is_found(audit):
    uid = PREFIX + "shared-data"
    assert audit.outcome("tenant-shared-key-context", uid) == "failed"
    message = audit.message("tenant-shared-key-context", uid)
    assert "policy:tenants/acme-app" in message and "policy:tenants/globex-batch" in message
    assert not audit.results("tenant-key-isolation", uid)


def test_root_namespace_policy_reaches_into_the_namespace(tenant_server, audit):
    seeded, _ = tenant_server
    root = seeded.server.client()
    token = openbao.create_token(root, ["globex-root"], "globex-root")
    reached = seeded.server.client(token=token, namespace=NAMESPACE)
    answer = reached.secrets.transit.encrypt_data("acme-data", "aGVsbG8=", mount_point="transit")
    assert answer["data"]["ciphertext"].startswith("vault:v1:")  # the server lets it through
    message = audit.message("tenant-key-isolation", PREFIX + "acme-data")
    assert (f'policy:globex-root (vault-acl policy globex-root (no holder found): path '
            f'"{NAMESPACE}/transit/' in message)


def test_generic_access_checks_judge_transit_keys(audit):
    for name in KEYS:
        assert audit.outcome("kms-policy-not-public", PREFIX + name) == "passed"
        # the root namespace's "broad" policy (path "*") uses and rotates every key
        assert audit.outcome("kms-separation-of-duties", PREFIX + name) == "failed"
        message = audit.message("kms-separation-of-duties", PREFIX + name)
        assert message.startswith('administers and uses the key: policy:broad (vault-acl policy '
                                  'broad (no holder found): path "*")')
        assert "policy:tenants/" not in message


def test_unreadable_policies_fail_closed(audit):
    uid = "vault:vault-blind/transit/acme-data"
    assert audit.outcome("kms-separation-of-duties", uid) == "error"
    message = audit.message("kms-separation-of-duties", uid)
    assert "managed.access" in message and "sys/policies/acl" in message
    assert audit.outcome("kms-separation-of-duties", PREFIX + "acme-data") == "failed"
