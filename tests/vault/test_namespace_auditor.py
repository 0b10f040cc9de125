"""Independence of an auditing token made in a namespace above the audited one, on OpenBao:
root tokens audit namespace ``indep``; their policies are the root's, judged on ``indep``'s
paths as seen from the root (``indep/transit/keys/*``) and on the ``sys/`` of the root and of
``indep``. A token of ``indep`` itself is judged on its own policies, as before."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.lab import openbao
from pytest_cryptoaudit.lab.estate_vault_tenants import namespaced_auditor_policy

from .helpers import Evidence, audit_config, namespace_with_key, system

NAMESPACE = "indep"
CHECK = "auditor-independent"
#: Root policies: the read-only audit policy for the root and ``indep``, plus one more rule.
EXTRA = {
    "reader": "",
    "keyadmin": f'path "{NAMESPACE}/transit/keys/*" '
                '{ capabilities = ["read", "list", "update"] }\n',
    "rootsys": 'path "sys/policies/acl/*" { capabilities = ["create", "update"] }\n',
    "nssys": f'path "{NAMESPACE}/sys/policies/acl/*" {{ capabilities = ["update"] }}\n',
    # administers the keys of another namespace, not of this one
    "elsewhere": 'path "elsewhere/transit/keys/*" { capabilities = ["update"] }\n',
}


@pytest.fixture(scope="module")
def audit(seeded_vault, tmp_path_factory) -> Evidence:
    root, space = namespace_with_key(seeded_vault.server, NAMESPACE, "payments")
    base = namespaced_auditor_policy(NAMESPACE)
    tokens = {}
    for name, rule in EXTRA.items():
        openbao.write_policy(root, f"indep-{name}", base + rule)
        tokens[name] = openbao.create_token(root, [f"indep-{name}"], f"indep-{name}")
    # a token of the namespace itself, with a read-only policy of its own
    openbao.write_policy(space, "local-reader", openbao.AUDITOR_POLICY)
    tokens["local"] = openbao.create_token(space, ["local-reader"], "local-reader")
    folder = tmp_path_factory.mktemp("vault-indep")
    url = seeded_vault.server.url
    config = "".join(
        system(f"indep-{name}", "high", url, token_env=f"TEST_VAULT_{name.upper()}",
               namespace=NAMESPACE) for name in tokens)
    return audit_config(folder, config, "--cryptoaudit-control", "CEK-09",
                        **{f"TEST_VAULT_{name.upper()}": token
                           for name, token in tokens.items()})


def _result(audit: Evidence, name: str) -> dict:
    [result] = audit.results(CHECK, f"vault:indep-{name}")
    return result


@pytest.mark.parametrize("name", ["reader", "elsewhere"])
def test_a_read_only_token_above_the_namespace_is_independent(audit, name):
    assert _result(audit, name)["outcome"] == "passed", _result(audit, name)["message"]
    # only the token's own namespace was read above (the keys' access was not selected)
    assert audit.system(f"indep-{name}")["attributes"]["ancestor_namespaces"] == ["root"]


def test_a_token_of_the_namespace_needs_nothing_above(audit):
    """Its policies are the namespace's own: the root's are not read for independence (this
    token may not read them, which would leave the system unreached)."""
    system = audit.system("indep-local")
    assert "ancestor_namespaces" not in system["attributes"]
    assert system["attributes"]["auditor_admin_rights"] == []
    # what it lacks is the root's audit devices, read for their own check
    assert [e["reason"] for e in system["discovery_errors"]] == [
        "sys/audit: permission denied (HTTP 403)"]


@pytest.mark.parametrize(("name", "named"), [
    ("keyadmin", f"indep-keyadmin: {NAMESPACE}/transit/keys/* (update)"),
    ("rootsys", "indep-rootsys: sys/policies/acl/* (create, update)"),
    ("nssys", f"indep-nssys: {NAMESPACE}/sys/policies/acl/* (update)"),
])
def test_a_root_policy_that_administers_the_namespace_is_a_finding(audit, name, named):
    result = _result(audit, name)
    assert result["outcome"] == "failed"
    assert named in result["message"]


def test_the_token_namespace_is_recorded(audit):
    identities = audit.data["run"]["auditor"]["systems"]
    assert identities["indep-reader"]["namespace"] == ""
    assert identities["indep-local"]["namespace"] == NAMESPACE
