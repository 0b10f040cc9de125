"""Discovery through the official SDK against a stand-in vault: paging, the calls made per
key, throttling and the request budget, and failures that name what could not be read."""

from __future__ import annotations

import time

import pytest

from pytest_cryptoaudit.budget import RequestBudgets
from pytest_cryptoaudit.lab.keyvault_standin import StoredKey, access_policy, vault_resource
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


def test_an_rbac_vault_reports_no_access_policies(keyvault_standin):
    standin = keyvault_standin()
    plant_keys(standin, 1)
    standin.arm[SUBSCRIPTION] = [("vaults", vault_resource("kv1", standin.url, SUBSCRIPTION))]
    attempt = discover(standin, subscriptions=[SUBSCRIPTION], arm_endpoint=standin.url)
    assert attempt.keys[0].managed.access is None
    assert attempt.system.attributes["vault_properties"][standin.url]["rbac"] is True


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
