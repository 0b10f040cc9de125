"""Configuration of gcp-kms systems: wrong options stop the run with a precise message, and
credentials that cannot be made are an error naming why, before any call."""

from __future__ import annotations

import tomllib

import pytest

from pytest_cryptoaudit.config import ConfigError, parse_config
from pytest_cryptoaudit.lab.estate_gcp import config_toml
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import ProviderRegistry
from pytest_cryptoaudit.providers.gcp_kms import GcpKmsProvider

from .helpers import discover

URL = "http://127.0.0.1:1"


def parse(text: str):
    registry = ProviderRegistry()
    return parse_config(tomllib.loads(text), registry,
                        [*BUILTIN_SETTINGS, *registry.policy_settings()])


def test_defaults():
    options = parse(config_toml(URL)).systems[0].options
    assert (options.max_workers, options.qps, options.request_budget) == (8, 2.5, False)
    assert options.locations == "all"


@pytest.mark.parametrize(("option", "value", "message"), [
    ("projects", ["Not_A_Project"], "projects.0"),
    ("locations", "everywhere", "locations"),
    ("credentials", "magic", "credentials"),
    ("qps", 0, "qps"),
    ("allowed_member_domains", ["@example.com"], "allowed_member_domains.0"),
    ("credentials_file_env", "NOT A NAME", "credentials_file_env"),
    ("organization", "organizations/123", "organization"),
    ("organization", "0123", "organization"),
    ("resource_manager", "http://x", "resource_manager: unknown key"),
])
def test_wrong_options_are_usage_errors(option, value, message):
    with pytest.raises(ConfigError, match=rf"systems\[0\] \(gcp-prod\)\.{message}"):
        parse(config_toml(URL, **{option: value}))


def test_projects_or_an_organization_must_be_named():
    with pytest.raises(ConfigError, match=r"gcp-prod.*name projects, an organization, or both"):
        parse(config_toml(URL, projects=[]))
    options = parse(config_toml(URL, projects=[], organization="123456789012")).systems[0]
    assert (options.options.projects, options.options.organization) == ([], "123456789012")


def test_anonymous_credentials_need_a_test_endpoint():
    text = config_toml(URL).replace(f'api_endpoint = "{URL}"\n', "")
    with pytest.raises(ConfigError, match=r"anonymous.*api_endpoint"):
        parse(text)


def test_a_service_account_file_needs_its_variable():
    with pytest.raises(ConfigError, match="credentials_file_env"):
        parse(config_toml(URL, credentials="service-account-file"))


def test_an_unset_credentials_variable_is_an_error_naming_it(monkeypatch):
    monkeypatch.delenv("TEST_GCP_SA_FILE", raising=False)
    inventory = discover(config_toml(URL, credentials="service-account-file",
                                     credentials_file_env="TEST_GCP_SA_FILE"))
    assert not inventory.keys
    (error,) = inventory.errors
    assert "TEST_GCP_SA_FILE" in error.reason and "not set" in error.reason


def test_an_unreadable_service_account_file_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TEST_GCP_SA_FILE", str(tmp_path / "missing.json"))
    inventory = discover(config_toml(URL, credentials="service-account-file",
                                     credentials_file_env="TEST_GCP_SA_FILE"))
    (error,) = inventory.errors
    assert "TEST_GCP_SA_FILE" in error.reason and "FileNotFoundError" in error.reason
    assert str(tmp_path) not in error.reason


def test_labels_cannot_hold_colons():
    assert GcpKmsProvider.tag_name("cryptoaudit:ssrm-owner") == "cryptoaudit-ssrm-owner"
    assert GcpKmsProvider.tag_name("Owner") == "owner"
