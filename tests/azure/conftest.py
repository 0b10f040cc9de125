"""Fixtures for the Azure Key Vault tests: stand-in vaults on loopback (HTTPS from a test
CA, the authentication challenge, paging and throttling as documented), the planted
estate, and an audit runner that signs in with the stand-in's test token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.lab import estate_keyvault
from pytest_cryptoaudit.lab.keyvault_standin import TOKEN, KeyVaultStandIn
from pytest_cryptoaudit.testing import audit_pytester
from tests.conftest import installed

# Whether the SDK is there, without importing it while every xdist worker collects.
if not installed("azure.keyvault.keys"):
    pytest.skip("the [azure] extra is not installed", allow_module_level=True)

TOKEN_ENV = "CRYPTOAUDIT_TEST_AZURE_TOKEN"
REGISTRATION = ("-p", "tests.azure.registration")


@pytest.fixture(scope="session")
def keyvault_estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[dict[str, KeyVaultStandIn], dict[str, str]]]:
    """The planted estate in three stand-in vaults (system -> vault), and label -> uid."""
    standins = estate_keyvault.start(tmp_path_factory.mktemp("keyvault"), page_size=5)
    try:
        yield standins, estate_keyvault.seed(standins)
    finally:
        for standin in standins.values():
            standin.close()


@pytest.fixture
def keyvault_standin(tmp_path: Path) -> Iterator[Callable[..., KeyVaultStandIn]]:
    """Start empty stand-in vaults of one test on demand; all are closed after it."""
    started: list[KeyVaultStandIn] = []

    def start(**options: Any) -> KeyVaultStandIn:
        started.append(KeyVaultStandIn(tmp_path / f"vault{len(started)}", **options)
                       .__enter__())
        return started[-1]

    yield start
    for standin in started:
        standin.close()


@pytest.fixture
def azure_token(monkeypatch: pytest.MonkeyPatch) -> str:
    """The stand-in's test token in the variable the configs name; no real Azure sign-in
    variable reaches the audit."""
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return TOKEN_ENV


@pytest.fixture
def audit(pytester: pytest.Pytester, azure_token: str) -> Callable[..., Any]:
    """Run ``pytest --cryptoaudit`` over a config; returns the finished run."""

    def run(config: str, *args: str) -> Any:
        return audit_pytester(pytester, *REGISTRATION, *args, config=config)

    return run
