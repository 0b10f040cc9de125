"""Key Vault answers as facts, without a server: rotation policies, recovery levels, key
types and the options' refusals."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest

from pytest_cryptoaudit.facts import Action as Access
from pytest_cryptoaudit.facts import KeyOrigin, ProtectionLevel
from pytest_cryptoaudit.providers.azure_keyvault.arm import (
    audit_logging,
    definition_actions,
    role_grants,
    scope_covers,
    vault_properties,
)
from pytest_cryptoaudit.providers.azure_keyvault.facts import (
    duration_days,
    origin_of,
    protection_of,
    recovery_attributes,
    rotation_of,
)
from pytest_cryptoaudit.providers.azure_keyvault.options import AzureKeyVaultOptions

VAULT = "https://contoso.vault.azure.net"
HSM = "https://contoso.managedhsm.azure.net"


@dataclasses.dataclass
class Action:
    action: str
    time_after_create: str | None = None
    time_before_expiry: str | None = None


@dataclasses.dataclass
class Policy:
    lifetime_actions: list[Action]
    expires_in: str | None = None


@pytest.mark.parametrize(("text", "days"), [
    ("P90D", 90), ("P1Y", 365), ("P18M", 540), ("P1Y2M3D", 428),
    ("", None), (None, None), ("PT12H", None), ("P", None), ("90 days", None),
])
def test_duration_days(text, days):
    assert duration_days(text) == days


def test_rotate_after_create_sets_the_period_and_the_next_rotation():
    created = datetime(2026, 1, 1, tzinfo=UTC)
    rotation, attributes = rotation_of(
        Policy([Action("Rotate", time_after_create="P90D"),
                Action("Notify", time_before_expiry="P30D")], "P1Y"), created)
    assert (rotation.automatic, rotation.period_days) == (True, 90)
    assert rotation.next == created + timedelta(days=90)
    assert attributes["rotation_policy_actions"] == ["Rotate after create P90D",
                                                     "Notify before expiry P30D"]
    assert attributes["rotation_policy_expiry"] == "P1Y"


def test_rotate_before_expiry_takes_the_period_from_the_policy_expiry():
    rotation, _ = rotation_of(Policy([Action("Rotate", time_before_expiry="P30D")], "P1Y"),
                              None)
    assert (rotation.automatic, rotation.period_days, rotation.next) == (True, 335, None)


@pytest.mark.parametrize("actions", [[], [Action("Notify", time_before_expiry="P30D")]])
def test_a_policy_that_only_notifies_does_not_rotate(actions):
    rotation, attributes = rotation_of(Policy(actions), datetime.now(UTC))
    assert (rotation.automatic, rotation.period_days) == (False, None)
    assert attributes["rotation_policy_actions"] == (
        [a.action + " before expiry P30D" for a in actions] or ["(none)"])


@dataclasses.dataclass
class Properties:
    recovery_level: Any
    recoverable_days: int | None


@pytest.mark.parametrize(("level", "soft", "purge"), [
    ("Purgeable", False, False),
    ("Recoverable+Purgeable", True, False),
    ("CustomizedRecoverable+Purgeable", True, False),
    ("Recoverable", True, True),
    ("Recoverable+ProtectedSubscription", True, True),
    ("CustomizedRecoverable", True, True),
])
def test_recovery_levels(level, soft, purge):
    found = recovery_attributes(Properties(level, 90 if soft else None))
    assert (found["soft_delete"], found["purge_protection"]) == (soft, purge)
    assert found["recovery_level"] == level


def test_a_recovery_level_not_reported_is_left_out():
    assert recovery_attributes(Properties(None, None)) == {}


@pytest.mark.parametrize(("kty", "url", "protection"), [
    ("RSA", VAULT, ProtectionLevel.SOFTWARE), ("EC", VAULT, ProtectionLevel.SOFTWARE),
    ("RSA-HSM", VAULT, ProtectionLevel.HSM), ("EC-HSM", VAULT, ProtectionLevel.HSM),
    ("oct-HSM", HSM, ProtectionLevel.HSM), ("RSA", HSM, ProtectionLevel.HSM),
])
def test_protection(kty, url, protection):
    assert protection_of(kty, url) is protection


def test_origin_managed_hsm_and_declared_import():
    assert origin_of({}, VAULT) is KeyOrigin.GENERATED
    assert origin_of({}, HSM) is KeyOrigin.HSM
    assert origin_of({"cryptoaudit:origin": "imported"}, VAULT) is KeyOrigin.IMPORTED
    assert origin_of({"cryptoaudit:origin": "whatever"}, VAULT) is KeyOrigin.GENERATED


@pytest.mark.parametrize(("options", "message"), [
    ({"vault_urls": []}, "name vault_urls, subscriptions, or both"),
    ({"subscriptions": ["not-a-guid"]}, "should match pattern"),
    ({"vault_urls": ["http://contoso.vault.azure.net"]}, "should match pattern"),
    ({"vault_urls": [VAULT], "credential": "client-secret"}, "needs tenant_id and client_id"),
    ({"vault_urls": [VAULT], "credential": "password"}, "credential"),
    ({"vault_urls": [VAULT], "client_secret": "s3cret"}, "Extra inputs are not permitted"),
    ({"vault_urls": [VAULT], "api_version": "2016-10-01"}, "api_version"),
])
def test_options_refused(options, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        AzureKeyVaultOptions(**options)


def test_options_defaults():
    options = AzureKeyVaultOptions(vault_urls=[VAULT])
    assert (options.credential, options.api_version, options.verify_challenge_resource,
            options.request_budgets) == ("default", "7.5", True, True)


def test_access_policies_as_grants():
    from pytest_cryptoaudit.facts import Action
    from pytest_cryptoaudit.providers.azure_keyvault.arm import access_grants, vault_properties

    resource = {"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/v",
                "properties": {"tenantId": "Home", "vaultUri": "https://V.vault.azure.net/",
                               "accessPolicies": [
        {"tenantId": "home", "objectId": "admin", "permissions": {"keys": ["All"]}},
        {"tenantId": "home", "objectId": "app", "applicationId": "a1",
         "permissions": {"keys": ["wrapKey", "unwrapKey", "get"]}},
        {"tenantId": "partner", "objectId": "backup", "permissions": {"keys": ["backup"]}},
        {"tenantId": "elsewhere", "objectId": "secrets-only", "permissions": {"secrets": ["get"]}},
    ]}}
    vault = vault_properties(resource, managed_hsm=False)
    assert vault.url == "https://v.vault.azure.net"
    assert (vault.rbac, vault.network_restricted) == (False, False)
    grants = {g.principal: g for g in access_grants(vault, allowed_tenants=["PARTNER"])}
    assert set(grants) == {"admin", "app", "backup"}
    assert set(grants["admin"].actions) == {Action.USE, Action.MANAGE, Action.EXPORT,
                                            Action.DELETE}
    assert grants["app"].actions == (Action.USE,) and grants["app"].restricted
    assert grants["backup"].actions == (Action.EXPORT,)
    assert not any(g.outside for g in grants.values())
    assert [g.principal for g in access_grants(vault, []) if g.outside] == ["backup"]


def test_a_managed_hsm_is_always_rbac():
    from pytest_cryptoaudit.providers.azure_keyvault.arm import vault_properties

    hsm = vault_properties({"properties": {"hsmUri": HSM + "/", "tenantId": "t",
                                           "publicNetworkAccess": "Disabled"}}, managed_hsm=True)
    assert (hsm.url, hsm.rbac, hsm.managed_hsm, hsm.network_restricted) == (HSM, True, True,
                                                                            True)


VAULT_ID = ("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1")


@pytest.mark.parametrize(("scope", "reaches"), [
    ("/", True), ("/subscriptions/s1", True), ("/subscriptions/S1/resourceGroups/RG", True),
    (VAULT_ID, True), (f"{VAULT_ID}/keys/k1", True), (f"{VAULT_ID}/keys/k2", False),
    ("/subscriptions/s1/resourceGroups/rg2", False), (f"{VAULT_ID}2", False),
    ("/subscriptions/s12", False),
])
def test_which_role_assignment_scopes_reach_a_key(scope, reaches):
    assert scope_covers(scope, VAULT_ID, "k1") is reaches


@pytest.mark.parametrize(("permissions", "actions"), [
    ([{"actions": ["*"], "notActions": []}], ["grant", "manage", "delete"]),
    ([{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}],
     ["manage", "delete"]),
    ([{"dataActions": ["Microsoft.KeyVault/vaults/keys/wrap/action",
                       "Microsoft.KeyVault/vaults/keys/read"]}], ["use"]),
    ([{"dataActions": ["Microsoft.KeyVault/vaults/*"],
       "notDataActions": ["Microsoft.KeyVault/vaults/keys/*"]}],
     # deleted keys and rotation policies are not under keys/*
     ["delete", "manage"]),
    ([{"dataActions": ["Microsoft.KeyVault/vaults/keys/release/action"]}], ["export"]),
    ([{"actions": ["Microsoft.Storage/*"], "dataActions": ["Microsoft.Storage/*"]}], []),
])
def test_a_role_definition_as_actions_on_keys(permissions, actions):
    found = definition_actions({"properties": {"permissions": permissions}})
    assert sorted(a.value for a in found) == sorted(actions)


def test_role_grants_judge_principal_types_and_conditions():
    vault = vault_properties({"id": VAULT_ID, "properties": {
        "vaultUri": VAULT, "tenantId": "t1", "enableRbacAuthorization": True}}, False)
    roles = {"r-use": ("Use", (Access.USE,)), "r-none": ("Read", ())}

    def assignment(principal, kind, role="r-use", condition=None):
        return {"properties": {"scope": VAULT_ID, "principalId": principal,
                               "principalType": kind, "condition": condition,
                               "roleDefinitionId": f"/providers/x/roleDefinitions/{role}"}}

    grants = role_grants(vault, [assignment("u", "User"), assignment("g", "ForeignGroup"),
                                 assignment("d", "Device"), assignment("r", "User", "r-none"),
                                 assignment("c", "ServicePrincipal", condition="@x")],
                         roles, "k1")
    assert [(g.principal, g.kind.value, g.outside, g.restricted) for g in grants] == [
        ("u", "user", False, False), ("g", "group", True, False),
        ("d", "unknown", True, False), ("c", "role", False, True)]


def _setting(name, logs, **destinations):
    return {"name": name, "properties": {"logs": logs, **destinations}}


@pytest.mark.parametrize(("logs", "destinations", "logged"), [
    ([{"category": "AuditEvent", "enabled": True}], {"workspaceId": "/w"}, True),
    ([{"categoryGroup": "audit", "enabled": True}], {"eventHubAuthorizationRuleId": "/e"}, True),
    ([{"categoryGroup": "allLogs", "enabled": True}], {"storageAccountId": "/s"}, True),
    ([{"category": "AuditEvent", "enabled": False}], {"workspaceId": "/w"}, False),
    ([{"category": "AzurePolicyEvaluationDetails", "enabled": True}], {"workspaceId": "/w"},
     False),
    ([{"category": "AuditEvent", "enabled": True}], {"workspaceId": None}, False),
    ([], {"workspaceId": "/w"}, False),
])
def test_audit_logging_needs_the_audit_category_and_a_destination(logs, destinations, logged):
    found = audit_logging([_setting("s", logs, **destinations)])
    assert found["audit_logged"] is logged
    assert found["settings"] == 1
    assert bool(found["audit_settings"]) is logged


def test_token_claims_are_read_only_from_a_jwt():
    from pytest_cryptoaudit.lab.keyvault_standin import AUDITOR_OID, TOKEN
    from pytest_cryptoaudit.providers.azure_keyvault.independence import token_claims

    assert token_claims(TOKEN)["oid"] == AUDITOR_OID
    assert token_claims("opaque-token") == {}
    assert token_claims("a.!!!not-base64!!!.c") == {}


def test_a_token_without_an_object_id_leaves_the_auditor_unknown():
    from pytest_cryptoaudit.providers.azure_keyvault.independence import auditor_facts, auditor_of

    @dataclasses.dataclass
    class Token:
        token: str

    class Credential:
        def get_token(self, *scopes):
            return Token("opaque-token")

    identity, names, why = auditor_of(Credential(), "https://management.azure.com/.default")
    assert (identity, names) == ({}, [])
    assert why == "the access token names no object id (oid claim)"
    attributes, unreadable = auditor_facts(identity, names, why, [])
    assert attributes == {} and unreadable["auditor_identity"] == why
