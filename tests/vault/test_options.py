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


@pytest.mark.parametrize(("options", "field", "reason"), [
    ({"url": "vault.example.test:8200"}, "url", "expected an http:// or https:// URL"),
    ({"url": "https://v", "token": "s.abc"}, "token", "Extra inputs are not permitted"),
    ({"url": "https://v", "mounts": []}, "mounts", "at least 1 item"),  # would audit nothing
    ({"url": "https://v", "max_workers": 0}, "max_workers", "greater than or equal to 1"),
    ({"url": "https://v", "timeout": 0}, "timeout", "greater than 0"),
    ({"url": "https://v", "verify": "no"}, "verify", "valid boolean"),
])
def test_rejected(options, field, reason):
    """Each mistake is refused for the field it is in, and for the reason it is wrong."""
    with pytest.raises(pydantic.ValidationError) as info:
        VaultOptions.model_validate(options)
    [error] = info.value.errors()
    assert error["loc"] == (field,)
    assert reason in error["msg"]
