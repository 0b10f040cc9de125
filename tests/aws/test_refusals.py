"""A refusal is a result, never a missing key: denied, throttled and unreachable APIs."""

from __future__ import annotations

import time

import pytest

from pytest_cryptoaudit.lab.processes import free_port

from .kms_helpers import discover, system_toml

pytestmark = pytest.mark.usefixtures("aws_env")


def test_access_denied_region_is_an_error_result_naming_system_and_region(
        audit, refusing, moto_server, estate):
    denied = refusing("AccessDeniedException")
    config = system_toml(moto_server.url, name="kms-denied",
                         service_endpoints={"kms": denied.url})
    result, evidence = audit(config)
    errors = [r for r in evidence["results"] if r["check"] == "discovery-complete"]
    assert sorted(r["outcome"] for r in errors) == ["error", "error"]
    messages = " | ".join(r["message"] for r in errors)
    for fragment in ("system kms-denied", "eu-west-1 (account 123456789012)", "us-east-1",
                     "AccessDeniedException", "ListKeys"):
        assert fragment in messages
    assert not [r for r in evidence["results"] if r["key_uid"].startswith("arn:")]
    assert evidence["systems"][0]["keys_found"] == 0
    assert denied.requests["ListKeys"] == 2  # not retried: access denied is final
    assert result.ret == 1


def test_throttling_past_the_retries_is_an_error_for_the_region(refusing, moto_server):
    throttled = refusing("ThrottlingException")
    config = system_toml(moto_server.url, regions=["eu-west-1"], max_attempts=2,
                         service_endpoints={"kms": throttled.url})
    began = time.monotonic()
    inventory = discover(config, controls={"CEK-12"})
    assert time.monotonic() - began < 20
    assert not inventory.keys
    [error] = inventory.errors
    assert error.key_uid is None and "eu-west-1" in error.reason
    assert "ThrottlingException" in error.reason and "reached max retries: 1" in error.reason
    assert throttled.requests["ListKeys"] == 2  # max_attempts counts the first call too


def test_unreachable_endpoint_fails_the_system_not_silently():
    config = system_toml(f"http://127.0.0.1:{free_port()}", max_attempts=1, timeout=2.0,
                         role_arns=[])
    inventory = discover(config)
    assert not inventory.keys
    [error] = inventory.errors
    assert "cannot identify the audit account" in error.reason
    assert "Could not connect" in error.reason
    # account-wide facts are unknown, not empty: their checks error instead of passing
    unreadable = inventory.systems[0].unreadable
    for fact in ("auditor_admin_rights", "iam_decrypt_all_keys"):
        assert unreadable[fact].startswith("no account could be audited"), fact
