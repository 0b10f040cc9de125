"""OpenBao through the fault-injecting proxy, and servers that refuse: every key audited
or named, nothing hangs (each test bounded by ``bounded``), one clear reason per cause."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from pytest_cryptoaudit.lab.processes import LOOPBACK, free_port
from pytest_cryptoaudit.model import Inventory

from ..aws.kms_helpers import discover
from ..faults import FaultProxy, bounded
from .helpers import system

TOKEN_ENV = "TEST_FAULTS_VAULT_TOKEN"
#: System-level reads whose failure leaves keys unlisted (and says so).
LISTING_READS = ("transit/keys:", "sys/seal-status", "the token", "sys/mounts", "discovery")
#: System-level reads every key's access facts depend on: their failure makes those facts
#: unreadable on every key (and says so once), the rest of each key stays as it was.
ACCESS_READS = ("sys/policies/acl", "holders of the ACL policies")
ACCESS_FACTS = ("managed.access", "managed.access_holders")


@pytest.fixture
def bao_proxy(seeded_vault, monkeypatch) -> Iterator[FaultProxy]:
    monkeypatch.setenv(TOKEN_ENV, seeded_vault.auditor_token)
    proxy = FaultProxy(seeded_vault.server.url, "vault")
    yield proxy
    proxy.close()


def vault(url: str, **options) -> str:
    return system("vault-faults", "high", url, token_env=TOKEN_ENV, mounts=["transit"],
                  **options)


def test_a_refused_connection_is_reported_as_refused_not_as_a_timeout(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "unused")
    inventory = bounded(lambda: discover(vault(f"http://{LOOPBACK}:{free_port()}")), 60)
    reasons = [error.reason for error in inventory.errors]
    assert reasons and all("connection refused" in r for r in reasons), reasons
    assert not any("timed out" in r for r in reasons)


def test_a_rejected_token_is_one_error_that_says_so(seeded_vault, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "s.not-a-token")
    inventory = discover(vault(seeded_vault.server.url))
    [error] = inventory.errors
    assert error.reason.startswith("the token was rejected: auth/token/lookup-self")
    assert "permission denied (HTTP 403)" in error.reason
    assert not inventory.keys


def test_a_trickled_key_answer_is_cut_at_request_timeout(bao_proxy):
    bao_proxy.always["transit/keys/clean-aes256"] = "trickle"
    inventory = bounded(lambda: discover(vault(bao_proxy.url, request_timeout=1.0)), 60)
    [error] = inventory.errors
    assert error.key_uid == "vault:vault-faults/transit/clean-aes256"
    assert "no complete answer within 1 s (request_timeout)" in error.reason
    assert len(inventory.keys) > 10


def test_an_oversized_answer_is_an_error_naming_the_path(bao_proxy):
    bao_proxy.always["transit/keys"] = "huge"
    inventory = bounded(lambda: discover(vault(bao_proxy.url, max_response_mib=1.0)), 60)
    [error] = inventory.errors
    assert error.reason.startswith("transit/keys: answer larger than 1 MiB")
    assert not inventory.keys


def test_a_stalled_server_is_cut_off_by_name(bao_proxy):
    bao_proxy.always["transit/keys"] = "trickle"
    inventory = bounded(lambda: discover(vault(bao_proxy.url, stall_timeout=2.0)), 30)
    [error] = inventory.errors
    assert error.system == "vault-faults"
    assert "cut off: no request completed for 2 s (stall_timeout)" in error.reason


def test_twenty_percent_faults_every_key_audited_or_named(bao_proxy):
    clean = discover(vault(bao_proxy.url))
    clean_requests = bao_proxy.total
    bao_proxy.counts.clear()
    bao_proxy.rate = 0.2
    faulty = bounded(lambda: discover(vault(bao_proxy.url, retries=3)), 120)
    assert bao_proxy.total - bao_proxy.counts["ok"] > 0
    assert bao_proxy.total <= 4 * clean_requests
    assert_audited_or_named(clean, faulty)


def assert_audited_or_named(clean: Inventory, faulty: Inventory) -> None:
    assert clean.keys and not clean.errors
    listing_lost = any(e.key_uid is None and e.reason.startswith(LISTING_READS)
                       for e in faulty.errors)
    access_lost = any(e.key_uid is None and e.reason.startswith(ACCESS_READS)
                      for e in faulty.errors)
    named = {e.key_uid for e in faulty.errors}
    found = {key.uid: key for key in faulty.keys}
    for key in clean.keys:
        if key.uid in named or listing_lost:
            continue  # named: the key, or the read that lists it
        seen = found.get(key.uid)
        if access_lost and seen is not None:
            assert set(ACCESS_FACTS) & set(seen.unreadable), f"{key.uid}: access not marked"
            seen, key = _without_access(seen), _without_access(key)
        assert seen == key, f"{key.uid} neither audited as before nor named"


def _without_access(key):
    """The key without its access facts (named unreadable by a system error)."""
    managed = key.managed and dataclasses.replace(key.managed, access=None,
                                                  access_holders=None)
    unreadable = {k: v for k, v in key.unreadable.items() if k not in ACCESS_FACTS}
    return dataclasses.replace(key, managed=managed, unreadable=unreadable)



def test_a_compressed_answer_that_would_inflate_past_the_cap_is_refused(bao_proxy):
    bao_proxy.always["transit/keys"] = "gzip-bomb"
    bao_proxy.huge_mib = 64
    inventory = bounded(lambda: discover(vault(bao_proxy.url, max_response_mib=1.0)), 60)
    [error] = inventory.errors
    assert error.reason.startswith("transit/keys: answer compressed (gzip) although not "
                                   "asked for")
    assert not inventory.keys
