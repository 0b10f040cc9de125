"""The request budget and the back-off: discovery keeps under the configured queries per
second, and a stand-in that answers 429 RESOURCE_EXHAUSTED past its quota is waited out."""

from __future__ import annotations

import time

from pytest_cryptoaudit.lab.estate_gcp import ESTATE, PlantedKey, build, config_toml
from pytest_cryptoaudit.lab.gcp_kms import RequestBudget

from .helpers import discover

SMALL = tuple(PlantedKey(f"key-{index}") for index in range(4))


def test_throttled_requests_are_backed_off_and_every_key_is_read(gcp_standins):
    # Ten requests per project per second: the estate needs about seventy, so the stand-in
    # refuses many with 429 and discovery must wait each one out.
    standin = gcp_standins(build(), page_size=100, budget=RequestBudget(10, window=1.0))
    inventory = discover(config_toml(standin.url, backoff_deadline=60.0))
    assert standin.throttled > 0
    system = inventory.systems[0]
    assert system.attributes["backoffs"] >= standin.throttled
    assert [error.key_uid for error in inventory.errors] == [
        planted.name for planted in ESTATE if planted.label == "denied-versions"]
    assert len(inventory.keys) == len(ESTATE) - 1


def test_throttling_past_the_deadline_is_an_error_naming_what_was_not_read(gcp_standins):
    standin = gcp_standins(build(SMALL), budget=RequestBudget(0, window=60.0))
    inventory = discover(config_toml(standin.url, backoff_deadline=0.3, locations=["global"]))
    assert not inventory.keys
    reasons = [error.reason for error in inventory.errors]
    assert reasons and all("RESOURCE_EXHAUSTED" in reason for reason in reasons), reasons
    assert any("projects/cryptoaudit-lab/locations/global" in reason for reason in reasons)
    assert all("still refused after backing off" in reason for reason in reasons)


def test_the_request_budget_holds_discovery_to_its_rate(gcp_standins):
    keys = tuple(PlantedKey(f"key-{index}") for index in range(30))
    standin = gcp_standins(build(keys), page_size=100)
    started = time.monotonic()
    inventory = discover(config_toml(standin.url, request_budget=True, qps=20.0,
                                     locations=["europe-west1"], projects=["cryptoaudit-lab"]))
    elapsed = time.monotonic() - started
    calls = sum(standin.requests.values())
    assert len(inventory.keys) == len(keys)
    assert calls >= 2 * len(keys)  # versions and IAM policy of every key
    # A bucket of twenty tokens, then twenty a second: the calls past the burst took time.
    assert elapsed >= (calls - 20) / 20.0 * 0.9, (calls, elapsed)
