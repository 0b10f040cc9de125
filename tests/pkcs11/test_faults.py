"""A token that goes away, or whose PIN changes, while the audit reads it: a named error for
the system, no crash and no hang. Each test has its own throw-away SoftHSM2 token."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.lab.softhsm import LabToken, create_token, seed
from pytest_cryptoaudit.model import Inventory
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers import pkcs11 as provider
from tests.conftest import require_executable

from ..faults import bounded
from .conftest import PIN_ENV, configure

LABEL = "vanishing"


@pytest.fixture
def own_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LabToken:
    require_executable("softhsm2-util", "apt-get install softhsm2")
    token = create_token(tmp_path, label=LABEL)
    seed(token)
    for name, value in token.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(PIN_ENV, token.pin)
    return token


def discover(token: LabToken) -> Inventory:
    config = configure(token_label=LABEL, module=str(token.module))
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC))
    return bounded(lambda: discover_all(config, ProviderRegistry(), context), 60)


def once_before(function: Callable[..., Any], action: Callable[[], None]) -> Callable[..., Any]:
    """``function`` that runs ``action`` first, the first time only (the fault's moment)."""
    done: list[bool] = []

    def wrapped(*args: Any) -> Any:
        if not done:
            done.append(True)
            action()
        return function(*args)

    return wrapped


def test_a_token_removed_while_its_keys_are_read_is_a_named_error(own_token, monkeypatch):
    def remove() -> None:
        subprocess.run(["softhsm2-util", "--delete-token", "--token", LABEL], check=True,
                       env=dict(os.environ), capture_output=True)

    monkeypatch.setattr(provider, "read_object", once_before(provider.read_object, remove))
    inventory = discover(own_token)
    reasons = " | ".join(error.reason for error in inventory.errors)
    assert f"listing the keys of token {LABEL!r} stopped after" in reasons
    assert "the token was removed, reinitialised or its session closed during the audit" \
        in reasons
    assert all(error.system == "hsm" for error in inventory.errors)


def test_a_pin_changed_before_login_is_a_named_error(own_token, monkeypatch):
    def change_pin(reader: Any, token: Any, pin: str) -> Any:
        with token.open(user_pin=pin, rw=True) as session:
            session.set_pin(pin, pin[::-1] + "0")
        return real_login(reader, token, pin)

    real_login = provider._TokenReader._login
    monkeypatch.setattr(provider._TokenReader, "_login", change_pin)
    inventory = discover(own_token)
    [error] = inventory.errors
    assert error.reason == (f"login to token {LABEL!r} failed: the PIN in {PIN_ENV} was "
                            "rejected")
    assert own_token.pin not in error.reason and not inventory.keys
