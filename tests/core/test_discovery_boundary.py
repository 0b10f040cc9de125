"""The per-system boundary: whatever a provider throws is an error of that system only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import (
    Discovery,
    DiscoveryContext,
    Provider,
    ProviderRegistry,
)


class Panic(BaseException):
    """Shaped like pyo3's PanicException: a BaseException that is not an Exception."""


class ThrowingProvider(Provider):
    name = "throwing"
    throws: ClassVar[BaseException] = Panic("assertion failed: iv_len <= iv.len()")

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        if system.name == "bad":
            raise self.throws
        attempt = self.new_discovery(system)
        attempt.add_key("throwing:ok", "secret-key", algorithm="AES", size=256)
        return attempt


def run(throws: BaseException, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(ThrowingProvider, "throws", throws)
    registry = ProviderRegistry()
    registry.register(ThrowingProvider)
    systems = [{"name": name, "provider": "throwing", "risk_tier": "low", "owner": "CSC"}
               for name in ("bad", "good")]
    audit_config = parse_config({"systems": systems}, registry, BUILTIN_SETTINGS)
    context = DiscoveryContext(policy=audit_config.policy, now=datetime.now(UTC))
    return discover_all(audit_config, registry, context)


def test_a_panic_is_an_error_of_its_system_and_the_run_goes_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = run(Panic("assertion failed: iv_len <= iv.len()"), monkeypatch)
    assert [(e.system, e.reason) for e in inventory.errors] == [
        ("bad", "discovery failed: Panic: assertion failed: iv_len <= iv.len()")]
    assert [key.uid for key in inventory.keys] == ["throwing:ok"]


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), SystemExit(3)])
def test_what_stops_the_process_still_stops_it(stop: BaseException,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(type(stop)):
        run(stop, monkeypatch)
