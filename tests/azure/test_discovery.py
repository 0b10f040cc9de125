"""Discovery through the official SDK against a stand-in vault: paging, the calls made per
key, throttling and the request budget, and failures that name what could not be read."""

from __future__ import annotations

import time

import pytest

from pytest_cryptoaudit.budget import RequestBudgets
from pytest_cryptoaudit.lab.keyvault_standin import (
    AUDITOR_OID,
    TENANT,
    StoredKey,
    access_policy,
    diagnostic_setting,
    role_assignment,
    vault_resource,
)
from pytest_cryptoaudit.providers.azure_keyvault import clients
from pytest_cryptoaudit.providers.azure_keyvault.clients import READ

from .conftest import TOKEN_ENV
from .helpers import discover, plant_keys

pytestmark = pytest.mark.usefixtures("azure_token")


def test_follows_next_link_through_every_page(keyvault_standin):
    standin = keyvault_standin(page_size=5)
    uids = plant_keys(standin, 12)
    attempt = discover(standin, controls={"CEK-21"})
    assert [key.uid for key in attempt.keys] == uids
    assert not attempt.errors
    assert standin.calls["GetKeys"] == 3  # 5 + 5 + 2


def test_only_the_calls_the_selected_controls_need(keyvault_standin):
    standin = keyvault_standin()
    plant_keys(standin, 4)
    attempt = discover(standin, controls={"CEK-21"})
    assert standin.calls["GetKey"] == 4
    assert standin.calls["GetKeyRotationPolicy"] == standin.calls["GetKeyVersions"] == 0
    key = attempt.keys[0]
    assert "not fetched" in key.unreadable["managed.rotation"]
    assert "not fetched" in key.unreadable["rotated"]


def test_a_full_run_reads_versions_and_rotation_policy_once_per_key(keyvault_standin):
    standin = keyvault_standin()
    plant_keys(standin, 4)
    attempt = discover(standin)
    assert (standin.calls["GetKey"], standin.calls["GetKeyVersions"],
            standin.calls["GetKeyRotationPolicy"]) == (4, 4, 4)
    rotation = attempt.keys[0].managed.rotation
    assert rotation is not None and rotation.automatic is False  # the default policy notifies


def test_backs_off_on_429_and_reads_every_key(keyvault_standin):
    standin = keyvault_standin(requests_per_window=8, window_seconds=1.0, retry_after=1)
    uids = plant_keys(standin, 10)
    started = time.monotonic()
    attempt = discover(standin, controls={"CEK-21"}, max_workers=4)
    assert not attempt.errors, attempt.errors
    assert [key.uid for key in attempt.keys] == uids
    assert standin.throttle.refused > 0
    assert time.monotonic() - started >= 1.0  # waited for Retry-After


def test_throttled_past_the_retries_is_an_error_naming_the_key(keyvault_standin):
    standin = keyvault_standin(requests_per_window=3, window_seconds=30.0, retry_after=30)
    plant_keys(standin, 4)
    attempt = discover(standin, controls={"CEK-21"}, max_workers=1, max_retries=0)
    reasons = [(error.key_uid, error.reason) for error in attempt.errors]
    assert reasons and all("429" in reason for _, reason in reasons), reasons
    assert len(attempt.keys) + len([uid for uid, _ in reasons if uid]) == 4


def test_the_request_budget_paces_the_reads(keyvault_standin, monkeypatch):
    # A fresh set of budgets: an earlier test's vault may have had the same loopback port.
    budgets = RequestBudgets()
    monkeypatch.setattr(clients, "BUDGETS", budgets)
    standin = keyvault_standin()
    plant_keys(standin, 10)
    started = time.monotonic()
    # 400 reads/s * 0.05 = 20 per second: 3 listings + 10 GetKey, past a 1-second burst.
    attempt = discover(standin, controls={"CEK-21"}, request_budget_fraction=0.05)
    elapsed = time.monotonic() - started
    assert len(attempt.keys) == 10
    answered = sum(standin.calls.values())
    assert budgets.acquired(standin.url, READ) >= answered >= 13
    assert elapsed >= (answered - 20) / 20


def test_a_key_the_caller_may_not_read_is_an_error_naming_it(keyvault_standin):
    standin = keyvault_standin()
    plant_keys(standin, 2)
    standin.vault.add_key(StoredKey("secret-sauce", "RSA-HSM", size=3072, forbidden=True))
    attempt = discover(standin)
    assert len(attempt.keys) == 2
    (error,) = attempt.errors
    assert error.key_uid == f"{standin.url}/keys/secret-sauce"
    assert "403" in error.reason and "Forbidden" in error.reason


def test_a_refused_token_is_an_error_naming_the_vault(keyvault_standin, monkeypatch):
    standin = keyvault_standin()
    plant_keys(standin, 1)
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    attempt = discover(standin, max_retries=0)
    assert not attempt.keys
    (error,) = attempt.errors
    assert error.key_uid is None and standin.url in error.reason, error.reason


def test_a_missing_token_variable_is_an_error_not_a_sign_in_elsewhere(keyvault_standin,
                                                                      monkeypatch):
    standin = keyvault_standin()
    monkeypatch.delenv(TOKEN_ENV)
    attempt = discover(standin)
    (error,) = attempt.errors
    assert f"environment variable {TOKEN_ENV} is not set" in error.reason
    assert sum(standin.calls.values()) == 0


def test_an_untrusted_server_certificate_is_an_error(keyvault_standin):
    standin = keyvault_standin()
    plant_keys(standin, 1)
    attempt = discover(standin, ca_file=None, max_retries=0)
    assert not attempt.keys
    (error,) = attempt.errors
    assert "certificate" in error.reason.lower() and standin.url in error.reason, error.reason


SUBSCRIPTION = "00000000-0000-4000-8000-00000000abcd"


def test_a_subscription_names_its_vaults_and_their_properties(keyvault_standin):
    standin = keyvault_standin()
    plant_keys(standin, 2)
    policies = [access_policy("admin-object", ["all"]),
                access_policy("reader-object", ["get", "list"]),
                access_policy("partner-object", ["decrypt"], tenant="partner-tenant")]
    standin.arm[SUBSCRIPTION] = [("vaults", vault_resource(
        "kv1", standin.url, SUBSCRIPTION, rbac=False, access_policies=policies,
        public_network_access="Enabled", default_action="Allow", private_endpoints=0))]
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    assert not attempt.errors, attempt.errors
    assert len(attempt.keys) == 2
    vault = attempt.system.attributes["vault_properties"][standin.url]
    assert (vault["rbac"], vault["public_network_access"], vault["private_endpoints"],
            vault["access_policies"]) == (False, "Enabled", 0, 3)
    grants = attempt.keys[0].managed.access
    # The reader's get/list are no actions: only the admin and the partner are grants.
    assert [(g.principal, g.outside) for g in grants] == [
        ("admin-object", False), ("partner-object", True)]
    assert standin.calls["Vaults_ListBySubscription"] == 1


ADMINISTRATOR, CRYPTO_USER, ENCRYPTION_USER, READER, CRYPTO_OFFICER = (
    "00482a5a-887f-4fb3-b363-3b7fe8e74483", "12338af0-0e69-4776-bea7-57ae8d297424",
    "e147488a-f6f5-4113-8e2d-b22465e65bf6", "21090545-7ca7-4776-b22c-e363652d74d2",
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603")


def rbac_vault(standin, count: int = 2) -> str:
    """An RBAC vault of ``count`` keys listed by its subscription; returns its resource id."""
    plant_keys(standin, count)
    resource = vault_resource("kv1", standin.url, SUBSCRIPTION)
    standin.arm[SUBSCRIPTION] = [("vaults", resource)]
    return resource["id"]


def test_an_rbac_vault_reads_role_assignments_at_above_and_below_the_vault(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin)
    standin.role_assignments = [
        role_assignment(f"/subscriptions/{SUBSCRIPTION}", ADMINISTRATOR, "sub-admin"),
        role_assignment(vault_id, READER, "reader"),
        role_assignment(vault_id, ENCRYPTION_USER, "app-sp", "ServicePrincipal"),
        role_assignment(f"{vault_id}/keys/key-0001", CRYPTO_USER, "key-user"),
        role_assignment(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/other", ADMINISTRATOR,
                        "elsewhere"),
        role_assignment(vault_id, ENCRYPTION_USER, "partner-group", "ForeignGroup"),
    ]
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    assert not attempt.errors, attempt.errors
    first, second = (key.managed.access for key in attempt.keys)
    # The reader holds no action on keys; the other resource group's admin reaches nothing.
    assert sorted((g.principal, g.kind.value, g.outside) for g in first) == [
        ("app-sp", "role", False), ("partner-group", "group", True),
        ("sub-admin", "user", False)]
    assert {g.principal for g in second} == {"app-sp", "partner-group", "sub-admin", "key-user"}
    (user,) = [g for g in second if g.principal == "key-user"]
    assert [a.value for a in user.actions] == ["export", "manage", "use"]
    assert user.source == "rbac" and "Key Vault Crypto User" in user.ref
    assert standin.calls["RoleAssignments_ListForScope"] == 1
    assert standin.calls["RoleDefinitions_GetById"] == 0  # all built in


def test_a_custom_role_is_read_from_its_definition(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin, 1)
    custom = "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}".format(
        SUBSCRIPTION, "c0ffee00-0000-4000-8000-000000000001")
    standin.role_definitions[custom.lower()] = {
        "id": custom, "name": custom.rsplit("/", 1)[1],
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {"roleName": "Key unwrapper and purger", "type": "CustomRole",
                       "permissions": [{"actions": [], "notActions": [],
                                        "dataActions": ["Microsoft.KeyVault/vaults/keys/*"],
                                        "notDataActions": [
                                            "Microsoft.KeyVault/vaults/keys/backup/action",
                                            "Microsoft.KeyVault/vaults/keys/release/action"]}]}}
    assignment = role_assignment(vault_id, custom.rsplit("/", 1)[1], "custom-sp",
                                 "ServicePrincipal", condition="@Resource[x] StringEquals 'y'")
    standin.role_assignments = [assignment]
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    (grant,) = attempt.keys[0].managed.access
    assert [a.value for a in grant.actions] == ["delete", "manage", "use"]
    assert grant.restricted and "Key unwrapper and purger" in grant.ref
    assert standin.calls["RoleDefinitions_GetById"] == 1


def test_unreadable_role_assignments_make_access_unreadable(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin, 1)
    standin.forbidden_scopes.add(vault_id.lower())
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    key = attempt.keys[0]
    assert key.managed.access is None
    reason = key.unreadable["managed.access"]
    assert "role assignments" in reason and "403" in reason and "AuthorizationFailed" in reason


def test_an_unknown_role_definition_makes_access_unreadable(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin, 1)
    standin.role_assignments = [role_assignment(vault_id, "deadbeef-0000-4000-8000-00000000000f",
                                                "someone")]
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    reason = attempt.keys[0].unreadable["managed.access"]
    assert "deadbeef-0000-4000-8000-00000000000f" in reason and "404" in reason


def test_role_assignments_are_not_read_when_no_control_needs_access(keyvault_standin):
    standin = keyvault_standin()
    rbac_vault(standin, 1)
    attempt = discover(standin, controls={"CEK-21"}, vault_urls=[],
                       subscriptions=[SUBSCRIPTION], arm_endpoint=standin.url)
    assert standin.calls["RoleAssignments_ListForScope"] == 0
    assert "not fetched" in attempt.keys[0].unreadable["managed.access"]


def test_diagnostic_settings_tell_whether_each_vault_logs_audit_events(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin, 1)
    standin.diagnostic_settings[vault_id.lower()] = [
        diagnostic_setting(vault_id, "metrics"),  # AuditEvent, but no destination below
        diagnostic_setting(vault_id, "all-logs", category=None, category_group="allLogs",
                           destination="storageAccountId")]
    standin.diagnostic_settings[vault_id.lower()][0]["properties"]["workspaceId"] = None
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    assert attempt.system.attributes["vault_logging"] == {standin.url: {
        "audit_logged": True, "audit_settings": ["all-logs (storageAccountId)"], "settings": 2}}
    assert standin.calls["DiagnosticSettings_List"] == 1


def test_unreadable_diagnostic_settings_are_named_per_vault(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin, 1)
    standin.forbidden_scopes.add(vault_id.lower())
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    reason = attempt.system.attributes["vault_logging"][standin.url]["unreadable"]
    assert "diagnostic settings" in reason and "403" in reason, reason


def test_diagnostic_settings_are_read_only_when_a_control_needs_them(keyvault_standin):
    standin = keyvault_standin()
    rbac_vault(standin, 1)
    attempt = discover(standin, controls={"CEK-21"}, vault_urls=[],
                       subscriptions=[SUBSCRIPTION], arm_endpoint=standin.url)
    assert standin.calls["DiagnosticSettings_List"] == 0
    assert "not fetched" in attempt.system.unreadable["vault_logging"]


def test_an_unknown_subscription_is_an_error_naming_it(keyvault_standin):
    standin = keyvault_standin()
    plant_keys(standin, 1)
    attempt = discover(standin, subscriptions=[SUBSCRIPTION], arm_endpoint=standin.url)
    reasons = [error.reason for error in attempt.errors]
    assert any(SUBSCRIPTION in r and "SubscriptionNotFound" in r for r in reasons), reasons
    assert len(attempt.keys) == 1  # the named vault is still audited
    assert "not found in the listed subscriptions" in attempt.system.unreadable[
        "vault_properties"]
    assert "not found" in attempt.keys[0].unreadable["managed.access"]


def test_the_auditor_is_the_token_s_object_id_and_its_rbac_rights_are_named(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin, 2)
    standin.role_assignments = [
        role_assignment(vault_id, READER, AUDITOR_OID),
        role_assignment(f"{vault_id}/keys/key-0001", CRYPTO_OFFICER, AUDITOR_OID)]
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    attributes = attempt.system.attributes
    assert attributes["auditor_identity"] == {"id": AUDITOR_OID, "tenant": TENANT}
    assert attributes["auditor_names"] == ["auditor@contoso.example"]
    (right,) = attributes["auditor_admin_rights"]
    assert "Key Vault Crypto Officer" in right and "key-0001" in right
    assert right.endswith("delete, export, manage"), right
    assert "Microsoft Graph" in attributes["auditor_notes"][0]


def test_the_auditor_s_rights_are_unreadable_when_access_is(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin, 1)
    standin.forbidden_scopes.add(vault_id.lower())
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    assert "auditor_admin_rights" not in attempt.system.attributes
    reason = attempt.system.unreadable["auditor_admin_rights"]
    assert "key-0000" in reason and "AuthorizationFailed" in reason, reason


GROUP = "9a9a9a9a-0000-4000-8000-00000000abcd"


def test_a_role_given_to_a_group_of_the_auditor_is_its_own(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin, 2)
    standin.member_objects[AUDITOR_OID] = ["11111111-0000-4000-8000-000000000001", GROUP]
    standin.role_assignments = [
        role_assignment(vault_id, READER, AUDITOR_OID),
        role_assignment(vault_id, CRYPTO_OFFICER, GROUP, "Group"),
        role_assignment(vault_id, CRYPTO_OFFICER, "22222222-0000-4000-8000-000000000002",
                        "Group")]
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    (right,) = attempt.system.attributes["auditor_admin_rights"]
    assert "Key Vault Crypto Officer" in right and f"(through group {GROUP})" in right, right
    assert "count as its own" in attempt.system.attributes["auditor_notes"][0]
    assert standin.calls["GetMemberObjects"] == 1


def test_group_memberships_that_cannot_be_read_make_the_rights_unreadable(keyvault_standin):
    standin = keyvault_standin()
    rbac_vault(standin, 1)
    standin.graph_refusal = (403, "Authorization_RequestDenied",
                             "Insufficient privileges to complete the operation.")
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url)
    assert "auditor_admin_rights" not in attempt.system.attributes
    reason = attempt.system.unreadable["auditor_admin_rights"]
    assert reason.startswith("group memberships unreadable: Microsoft Graph getMemberObjects: ")
    assert "Authorization_RequestDenied" in reason, reason


def test_without_auditor_groups_graph_is_not_asked_and_a_note_says_so(keyvault_standin):
    standin = keyvault_standin()
    vault_id = rbac_vault(standin, 1)
    standin.member_objects[AUDITOR_OID] = [GROUP]
    standin.role_assignments = [role_assignment(vault_id, CRYPTO_OFFICER, GROUP, "Group")]
    attempt = discover(standin, vault_urls=[], subscriptions=[SUBSCRIPTION],
                       arm_endpoint=standin.url, auditor_groups=False)
    assert attempt.system.attributes["auditor_admin_rights"] == []
    assert "auditor_groups = false" in attempt.system.attributes["auditor_notes"][0]
    assert standin.calls["GetMemberObjects"] == 0
    # and only when a selected control needs the rights
    discover(standin, controls={"CEK-12"}, vault_urls=[], subscriptions=[SUBSCRIPTION],
             arm_endpoint=standin.url)
    assert standin.calls["GetMemberObjects"] == 0
