"""Tokens created directly with policies as holders of them (``token_holders = true``), on
OpenBao: in namespace ``tokholders`` one token holds both the policy that rotates a key and
the one that uses it, so it administers and uses the key; a login's token is not such a
holder (its user is); a revoked token holds nothing. Without the option the token is not
seen, and the system says so; with it, a token that may not list the accessors (no sudo)
makes the checks that need the holders error, naming the path."""

from __future__ import annotations

import hashlib
import json

import pytest

from pytest_cryptoaudit.lab import openbao

from .helpers import Evidence, audit_config, namespace_with_key, system

NAMESPACE = "tokholders"
POLICIES = {"ci-keyadmin": 'path "transit/keys/ci-data/rotate" { capabilities = ["update"] }',
            "ci-user": 'path "transit/encrypt/ci-data" { capabilities = ["update"] }',
            # reads everything of the namespace, without sudo
            "ns-reader": 'path "*" { capabilities = ["read", "list"] }'}
KEY = "transit/ci-data"
SOD = "kms-separation-of-duties"


@pytest.fixture(scope="module")
def token_server(seeded_vault):
    root, space = namespace_with_key(seeded_vault.server, NAMESPACE, "ci-data")
    for name, rules in POLICIES.items():
        openbao.write_policy(space, name, rules)
    deployer = openbao.create_token(space, ["ci-keyadmin", "ci-user"], "ci-deployer")
    openbao.enable_auth(space, "userpass", "userpass")
    openbao.write_auth_entry(space, "auth/userpass/users/alice", password="not-a-secret",
                             token_policies=["ci-keyadmin", "ci-user"])
    # a login's token, held through alice
    space.auth.userpass.login("alice", "not-a-secret", use_token=False)
    gone = openbao.create_token(space, ["ci-keyadmin", "ci-user"], "gone")
    space.auth.token.revoke(gone)
    openbao.create_token(space, ["ns-reader"], "ns-reader")
    # reads this namespace and the holder lists of the root, without sudo (and reaches no
    # key of the other namespaces of the shared server)
    openbao.write_policy(root, "tokholders-reader", "".join(
        f'path "{glob}" {{ capabilities = ["read", "list"] }}\n'
        for glob in (f"{NAMESPACE}/*", "sys/*", "identity/*", "auth/*")))
    reader = openbao.create_token(root, ["tokholders-reader"], "tokholders-reader")
    looked_up = space.auth.token.lookup(deployer)["data"]
    return seeded_vault, deployer, reader, looked_up


@pytest.fixture(scope="module")
def audit(token_server, tmp_path_factory) -> Evidence:
    seeded, _, reader, _ = token_server
    folder = tmp_path_factory.mktemp("vault-tokens")
    url = seeded.server.url
    config = "".join([
        system("vault-tokens", "high", url, token_env="TEST_VAULT_ROOT", namespace=NAMESPACE,
               token_holders=True),
        system("vault-tokens-off", "high", url, token_env="TEST_VAULT_ROOT",
               namespace=NAMESPACE),
        system("vault-tokens-nosudo", "high", url, token_env="TEST_VAULT_READER",
               namespace=NAMESPACE, token_holders=True),
    ])
    return audit_config(folder, config, "--cryptoaudit-control", "CEK-08",
                        TEST_VAULT_ROOT=seeded.server.root_token, TEST_VAULT_READER=reader)


def _principal(looked_up) -> str:
    digest = hashlib.sha256(looked_up["accessor"].encode()).hexdigest()[:12]
    return f"token:{NAMESPACE}/{looked_up['display_name']}#{digest}"


def _grants(audit: Evidence, system_name: str) -> dict[str, list[dict]]:
    key = next(k for k in audit.data["inventory"] if k["uid"] == f"vault:{system_name}/{KEY}")
    found: dict[str, list[dict]] = {}
    for grant in key["managed"]["access"]:
        found.setdefault(grant["principal"], []).append(grant)
    return found


def test_a_direct_token_with_both_duties_is_a_separation_finding(audit, token_server):
    _, deployer, _, looked_up = token_server
    uid = f"vault:vault-tokens/{KEY}"
    assert looked_up["path"].startswith("auth/token/create")
    assert audit.outcome(SOD, uid) == "failed"
    message = audit.message(SOD, uid)
    assert _principal(looked_up) in message
    assert "ci-keyadmin" in message and "ci-user" in message
    # the token is named by a digest of its accessor: neither it nor the token is written
    text = json.dumps(audit.data)
    assert looked_up["accessor"] not in text and looked_up["accessor"] not in audit.output
    assert deployer not in text and deployer not in audit.output


def test_only_live_tokens_made_directly_are_token_holders(audit, token_server):
    _, _, _, looked_up = token_server
    grants = _grants(audit, "vault-tokens")
    tokens = {p.rsplit("#", 1)[0] for p in grants if p.startswith(f"token:{NAMESPACE}/")}
    # the revoked token and alice's login token are not holders; ns-reader's read of
    # "*" takes in transit/export/ci-data
    assert tokens == {f"token:{NAMESPACE}/token-ci-deployer", f"token:{NAMESPACE}/token-ns-reader"}
    assert [g["kind"] for g in grants[_principal(looked_up)]] == ["unknown", "unknown"]
    [reader] = [g for p, held in grants.items() if p.startswith(
        f"token:{NAMESPACE}/token-ns-reader#") for g in held]
    assert reader["actions"] == ["export"]
    assert f"auth:{NAMESPACE}/auth/userpass/users/alice" in grants
    lists = audit.system("vault-tokens")["attributes"]["policy_holder_lists"]
    assert f"{NAMESPACE}/auth/token/accessors" in lists
    assert "unread_token_holders" not in audit.system("vault-tokens")["attributes"]


def test_without_the_option_tokens_are_not_read_and_the_system_says_so(audit):
    grants = _grants(audit, "vault-tokens-off")
    assert not [p for p in grants if p.startswith("token:")]
    # alice still administers and uses the key: the check runs, on what was read
    assert audit.outcome(SOD, f"vault:vault-tokens-off/{KEY}") == "failed"
    said = audit.system("vault-tokens-off")["attributes"]["unread_token_holders"]
    assert "token_holders = false" in said and "sudo" in said
    lists = audit.system("vault-tokens-off")["attributes"]["policy_holder_lists"]
    assert f"{NAMESPACE}/auth/token/accessors" not in lists


def test_accessors_the_token_may_not_list_leave_the_holders_unknown(audit):
    uid = f"vault:vault-tokens-nosudo/{KEY}"
    [result] = audit.results(SOD, uid)
    assert result["outcome"] == "error"
    assert "auth/token/accessors" in result["message"]
    assert "permission denied" in result["message"]


def test_a_token_revoked_between_listing_and_lookup_holds_nothing():
    from concurrent.futures import ThreadPoolExecutor

    from pytest_cryptoaudit.providers.vault.client import VaultReadError
    from pytest_cryptoaudit.providers.vault.holders import PolicyHolders, _direct_tokens

    class Reader:  # the server's answers, one token revoked after the listing
        def names(self, path):
            return ["live", "revoked"]

        def lookup(self, path, body):
            if body["accessor"] == "revoked":
                raise VaultReadError(path, "InvalidRequest: invalid accessor")
            return {"path": "auth/token/create", "display_name": "token-ci",
                    "policies": ["ci-user"]}

    holders = PolicyHolders()
    with ThreadPoolExecutor(2) as pool:
        _direct_tokens(Reader(), pool, holders, "")
    assert [h.principal.split("#")[0] for h in holders.of("ci-user")] == ["token:token-ci"]

    class Refusing(Reader):
        def lookup(self, path, body):
            raise VaultReadError(path, "permission denied (HTTP 403)", 403)

    with ThreadPoolExecutor(2) as pool, pytest.raises(VaultReadError):
        _direct_tokens(Refusing(), pool, PolicyHolders(), "")
