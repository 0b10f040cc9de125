"""Options of a vault system: wrong keys and values are usage errors, never guesses."""

from __future__ import annotations

import pydantic
import pytest

from pytest_cryptoaudit.providers.vault import VaultOptions


def test_defaults():
    options = VaultOptions.model_validate({"url": "https://vault.example.test:8200/"})
    assert options.url == "https://vault.example.test:8200"
    assert options.token_env == "VAULT_TOKEN" and options.mounts is None
    assert options.admin_policies == ["root"] and options.verify is True


@pytest.mark.parametrize("options", [
    {"url": "vault.example.test:8200"},                     # no scheme
    {"url": "https://v", "token": "s.abc"},                  # a token never lives in config
    {"url": "https://v", "mounts": []},                      # would audit nothing
    {"url": "https://v", "max_workers": 0},
    {"url": "https://v", "timeout": 0},
    {"url": "https://v", "verify": "no"},
])
def test_rejected(options):
    with pytest.raises(pydantic.ValidationError):
        VaultOptions.model_validate(options)
