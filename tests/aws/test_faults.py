"""KMS through the fault-injecting proxy: no hang, no silent loss, bounded requests.

moto serves the planted estate; the proxy in front of its KMS endpoint injects faults. Each
test is bounded by a deadline of its own (``bounded``), so a regression fails, not hangs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from pytest_cryptoaudit.budget import BUDGETS
from pytest_cryptoaudit.model import Inventory

from ..faults import FaultProxy, bounded
from .kms_helpers import discover, system_toml

pytestmark = pytest.mark.usefixtures("aws_env", "estate")


@pytest.fixture
def kms_proxy(moto_server) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server.url, "kms")
    yield proxy
    proxy.close()


def through(proxy: FaultProxy, moto_server, **options) -> str:
    return system_toml(moto_server.url, service_endpoints={"kms": proxy.url}, **options)


def test_cycling_list_keys_markers_end_in_a_named_error(kms_proxy, moto_server):
    kms_proxy.always["ListKeys"] = "cycle"
    inventory = bounded(lambda: discover(through(kms_proxy, moto_server)), 60)
    assert not inventory.keys
    reasons = sorted(error.reason for error in inventory.errors)
    assert len(reasons) == 2 and all("ListKeys: the server repeated a pagination marker "
                                     "after 3 pages" in r for r in reasons)
    assert kms_proxy.counts["cycle"] == 2 * 3  # A, B, then A again: stop, per region


def test_a_trickled_answer_is_cut_at_request_timeout_and_named(kms_proxy, moto_server):
    kms_proxy.always["DescribeKey"] = "trickle"
    config = through(kms_proxy, moto_server, request_timeout=1.0, max_attempts=1)
    inventory = bounded(lambda: discover(config, controls={"CEK-12"}), 90)
    assert not inventory.keys
    keyed = [e for e in inventory.errors if e.key_uid]
    assert keyed and len(keyed) == len(inventory.errors)
    assert all("no complete answer within 1 s (request_timeout)" in e.reason for e in keyed)


def test_an_oversized_answer_is_an_error_not_memory(kms_proxy, moto_server):
    kms_proxy.always["ListKeys"] = "huge"
    kms_proxy.huge_mib = 8
    config = through(kms_proxy, moto_server, max_response_mib=1.0, max_attempts=1,
                     regions=["eu-west-1"])
    inventory = bounded(lambda: discover(config), 60)
    [error] = inventory.errors
    assert "answer larger than 1 MiB (max_response_mib)" in error.reason
    assert "eu-west-1" in error.reason


def test_a_system_without_progress_is_cut_off_and_named(kms_proxy, moto_server):
    kms_proxy.always["ListKeys"] = "trickle"
    config = through(kms_proxy, moto_server, name="kms-stuck", stall_timeout=2.0) + \
        system_toml(moto_server.url, name="kms-healthy", regions=["eu-west-1"])
    inventory = bounded(lambda: discover(config, controls={"CEK-12"}), 30)
    [error] = [e for e in inventory.errors if e.system == "kms-stuck"]
    assert "cut off: no request completed for 2 s (stall_timeout)" in error.reason
    assert {key.system for key in inventory.keys} == {"kms-healthy"}
    assert not [e for e in inventory.errors
                if e.system == "kms-healthy" and "AccessDenied" not in e.reason]


def test_a_time_budget_cuts_off_a_slow_system(kms_proxy, moto_server):
    kms_proxy.rate, kms_proxy.faults = 1.0, ("slow",)
    config = through(kms_proxy, moto_server, time_budget=1.0, max_workers=1)
    inventory = bounded(lambda: discover(config, controls={"CEK-12"}), 30)
    [error] = inventory.errors
    assert "cut off: time_budget of 1 s exceeded" in error.reason
    assert not inventory.keys


def test_twenty_percent_faults_every_key_audited_or_named(kms_proxy, moto_server):
    clean = discover(through(kms_proxy, moto_server))
    clean_requests = kms_proxy.total
    kms_proxy.counts.clear()
    kms_proxy.rate = 0.2
    faulty = bounded(lambda: discover(through(kms_proxy, moto_server, max_attempts=5)), 240)
    assert kms_proxy.total - kms_proxy.counts["ok"] > 0.1 * kms_proxy.total  # faults did occur
    assert kms_proxy.total <= 5 * clean_requests  # retries are bounded
    assert_same_except_named(clean, faulty)


def assert_same_except_named(clean: Inventory, faulty: Inventory) -> None:
    """Every key is read as in the clean run, or named: by an error or as unreadable."""
    assert clean.keys and all(error.key_uid for error in clean.errors)
    assert {e.key_uid for e in clean.errors} <= {e.key_uid for e in faulty.errors}
    found = {key.uid: key for key in faulty.keys}
    named = {error.key_uid for error in faulty.errors}
    region_errors = [e.reason for e in faulty.errors if e.key_uid is None]
    for key in clean.keys:
        if key.uid in named or any(key.uid.split(":")[3] in r for r in region_errors):
            continue
        assert key.uid in found, f"{key.uid} neither audited nor named"
        got = found[key.uid]
        unreadable = set(got.unreadable) - set(key.unreadable)
        assert _without(got, unreadable) == _without(key, unreadable), key.uid


def _without(key, names: set[str]) -> dict:
    """The record's fields less the facts named unreadable (a dotted name such as
    ``managed.access`` leaves out that fact of the typed facts, not the whole of them)."""
    data = {field.name: getattr(key, field.name) for field in dataclasses.fields(key)}
    data["attributes"] = {k: v for k, v in key.attributes.items() if k not in names}
    managed = {name.removeprefix("managed.").split(".")[0] for name in names
               if name.startswith("managed.")}
    if key.managed is not None and managed:
        data["managed"] = dataclasses.replace(key.managed, **dict.fromkeys(managed, None))
    for name in [*names, "unreadable"]:
        data.pop(name, None)
    return data


def test_kms_calls_go_through_the_request_budgets_unless_turned_off(moto_server, api_calls):
    scope = "123456789012/eu-west-1"
    before = {op: BUDGETS.acquired(scope, op) for op in ("DescribeKey", "ListGrants")}
    discover(system_toml(moto_server.url, regions=["eu-west-1"]))
    through_budget = {op: BUDGETS.acquired(scope, op) - before[op] for op in before}
    assert through_budget == {"DescribeKey": api_calls["kms.DescribeKey"],
                              "ListGrants": api_calls["kms.ListGrants"]}
    assert through_budget["DescribeKey"] > 10
    discover(system_toml(moto_server.url, regions=["eu-west-1"], request_budgets=False))
    assert BUDGETS.acquired(scope, "DescribeKey") - before["DescribeKey"] == \
        through_budget["DescribeKey"]
