"""Answers of an unexpected shape are errors naming what was wrong, never silent gaps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import Discovery, DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers.vault import VaultProvider

from .proxy import RewritingProxy

TOKEN_ENV = "TEST_VAULT_MALFORMED_TOKEN"


def _mounts_with_a_string(answer: dict[str, Any]) -> None:
    answer["data"]["odd/"] = "transit"


@pytest.fixture
def odd_mounts(seeded_vault, monkeypatch: pytest.MonkeyPatch) -> Iterator[RewritingProxy]:
    monkeypatch.setenv(TOKEN_ENV, seeded_vault.server.root_token)
    proxy = RewritingProxy(seeded_vault.server.url, {"/v1/sys/mounts": _mounts_with_a_string})
    yield proxy
    proxy.close()


def discover(url: str, **options: Any) -> Discovery:
    system = {"name": "vault", "provider": "vault", "risk_tier": "high", "owner": "CSC",
              "url": url, "token_env": TOKEN_ENV, **options}
    registry = ProviderRegistry()
    audit_config = parse_config({"systems": [system]}, registry,
                                [*BUILTIN_SETTINGS, *VaultProvider.policy_settings])
    context = DiscoveryContext(policy=audit_config.policy, now=datetime.now(UTC))
    return VaultProvider().discover(audit_config.systems[0], context)


def test_a_mount_entry_that_is_not_an_object_is_an_error(odd_mounts: RewritingProxy) -> None:
    attempt = discover(odd_mounts.url)
    reasons = [error.reason for error in attempt.errors]
    assert any("sys/mounts" in r and "'odd/'" in r and "not an object" in r for r in reasons), \
        reasons
    assert attempt.keys, "the well-formed mounts are still audited"
