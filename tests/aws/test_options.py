"""Configuration of aws-kms systems: wrong options stop the run with a precise message."""

from __future__ import annotations

import tomllib

import pytest

from pytest_cryptoaudit.config import ConfigError, parse_config
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import ProviderRegistry

from .kms_helpers import system_toml


def parse(text: str):
    registry = ProviderRegistry()
    return parse_config(tomllib.loads(text), registry,
                        [*BUILTIN_SETTINGS, *registry.policy_settings()])


def test_defaults():
    options = parse(system_toml("http://127.0.0.1:1")).systems[0].options
    assert (options.max_workers, options.include_aws_managed) == (8, False)
    assert options.regions == ["eu-west-1", "us-east-1"]


@pytest.mark.parametrize(("option", "value", "message"), [
    ("regions", "everywhere", "regions"),
    ("regions", [], "regions"),
    ("allowed_principal_accounts", ["12345"], "allowed_principal_accounts.0"),
    ("role_arns", ["arn:aws:iam::123456789012:user/bob"], "role_arns.0"),
    ("max_workers", 0, "max_workers"),
    ("max_attempts", "3", "max_attempts"),
    ("include_aws_managed", "yes", "include_aws_managed"),
    ("role_arn", "arn:aws:iam::123456789012:role/x", "role_arn: unknown key"),
])
def test_wrong_options_are_usage_errors(option, value, message):
    with pytest.raises(ConfigError, match=rf"systems\[0\] \(kms\)\.{message}"):
        parse(system_toml("http://127.0.0.1:1", **{option: value}))


def test_policy_settings_of_the_provider_can_be_overridden_per_tier():
    text = system_toml("http://127.0.0.1:1") + (
        '[policy]\naws_kms_disallowed_key_specs = {high = ["RSA_2048"]}\n')
    policy = parse(text).policy
    assert policy.for_tier("aws_kms_disallowed_key_specs", "high") == ["RSA_2048"]
    assert policy.for_tier("aws_kms_disallowed_key_specs", "low") == []


def test_replaced_aws_policy_names_are_aliases_of_the_managed_key_settings():
    text = system_toml("http://127.0.0.1:1") + (
        '[policy]\naws_kms_allowed_origins = {high = ["AWS_KMS", "AWS_CLOUDHSM"]}\n'
        'aws_kms_allow_disabled_keys = {low = false}\n')
    policy = parse(text).policy
    assert policy.for_tier("managed_key_allowed_origins", "high") == ["generated", "hsm"]
    assert "imported" in policy.for_tier("managed_key_allowed_origins", "low")
    assert policy.for_tier("managed_key_allow_disabled", "low") is False
    with pytest.raises(ConfigError, match=r"aws_kms_allowed_origins\.urgent: unknown key"):
        parse(system_toml("http://127.0.0.1:1") +
              '[policy]\naws_kms_allowed_origins = {urgent = []}\n')
