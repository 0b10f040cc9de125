"""The pkcs11 provider against a real SoftHSM2 token: records, selection and failures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.config import ConfigError
from pytest_cryptoaudit.lab.softhsm import LabToken
from pytest_cryptoaudit.providers import Discovery, DiscoveryContext
from pytest_cryptoaudit.providers.pkcs11 import Pkcs11Provider

from .conftest import PIN_ENV, TOKEN_LABEL, configure

PREFIX = f"pkcs11:{TOKEN_LABEL}/"


def discover(token: LabToken, **options: Any) -> Discovery:
    options = {"module": str(token.module), "token_label": token.label, **options}
    audit_config = configure(**options)
    context = DiscoveryContext(policy=audit_config.policy, now=datetime.now(UTC))
    return Pkcs11Provider().discover(audit_config.systems[0], context)


@pytest.fixture(scope="module")
def keys(softhsm_token: LabToken) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PIN_ENV, softhsm_token.pin)
        for name, value in softhsm_token.env.items():
            patch.setenv(name, value)
        attempt = discover(softhsm_token)
    assert attempt.errors == []
    return {key.uid.removeprefix(PREFIX): key for key in attempt.keys}


@pytest.mark.parametrize(("suffix", "algorithm", "size", "curve"), [
    ("aes-data#01", "AES", 256, None),
    ("aes-imported#14", "AES", 128, None),
    ("des3-legacy#10", "DES3", 168, None),
    ("hmac-sign#03", "HMAC", 256, None),
    ("rsa-1024#11;private", "RSA", 1024, None),
    ("rsa-1024#11;public", "RSA", 1024, None),
    ("ec-sign#05;private", "EC", 256, "secp256r1"),
    ("ec-sign#05;public", "EC", 256, "secp256r1"),
])
def test_algorithm_size_and_curve(keys: dict[str, Any], suffix: str, algorithm: str,
                                  size: int, curve: str | None) -> None:
    key = keys[suffix]
    assert (key.algorithm, key.size, key.curve) == (algorithm, size, curve)


def test_protection_and_usage_attributes(keys: dict[str, Any]) -> None:
    imported = keys["aes-imported#14"]
    assert imported.origin == "imported"
    assert imported.kind == "secret-key"
    assert imported.usage == ("encrypt", "decrypt")
    assert {name: imported.attributes[name] for name in (
        "local", "sensitive", "extractable", "always_sensitive", "never_extractable")} == {
        "local": False, "sensitive": True, "extractable": False, "always_sensitive": False,
        "never_extractable": False}
    assert imported.attributes["id"] == "14"
    assert imported.attributes["key_type"] == "AES"
    assert keys["aes-data#01"].origin == "generated-on-token"
    assert keys["aes-wrap#02"].usage == ("wrap", "unwrap")


def test_public_keys_carry_no_protection_attributes(keys: dict[str, Any]) -> None:
    public = keys["rsa-sign#04;public"]
    assert public.kind == "public-key"
    assert "sensitive" not in public.attributes
    assert "sensitive" not in public.unreadable


def test_dates_readable_or_unknown(keys: dict[str, Any]) -> None:
    public = keys["rsa-expired#17;public"]
    assert public.expires == datetime(2020, 1, 2, tzinfo=UTC)  # the end of 2020-01-01
    assert public.state == "deactivated"
    private = keys["rsa-expired#17;private"]
    assert private.expires is None
    assert "could not be read" in private.unreadable["expires"]
    assert keys["aes-data#01"].expires is None
    assert "expires" not in keys["aes-data#01"].unreadable


def test_no_key_value_in_records(keys: dict[str, Any]) -> None:
    for key in keys.values():
        assert not {"value", "modulus", "private_exponent"} & set(key.attributes)


@pytest.fixture
def token_env_only(softhsm_token: LabToken, monkeypatch: pytest.MonkeyPatch) -> LabToken:
    for name, value in softhsm_token.env.items():
        monkeypatch.setenv(name, value)
    return softhsm_token


def only_error(attempt: Discovery) -> str:
    assert attempt.keys == []
    assert len(attempt.errors) == 1
    error = attempt.errors[0]
    assert error.system == "hsm" and error.key_uid is None
    return error.reason


def test_wrong_pin(token_env_only: LabToken, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PIN_ENV, "wrong-pin-0000")
    reason = only_error(discover(token_env_only))
    assert reason == (f"login to token {TOKEN_LABEL!r} failed: the PIN in {PIN_ENV} "
                      "was rejected")


def test_pin_variable_unset(token_env_only: LabToken, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PIN_ENV, raising=False)
    assert f"environment variable {PIN_ENV}" in only_error(discover(token_env_only))


def test_missing_module(token_env_only: LabToken, monkeypatch: pytest.MonkeyPatch,
                        tmp_path: Path) -> None:
    monkeypatch.setenv(PIN_ENV, token_env_only.pin)
    missing = tmp_path / "libmissing.so"
    reason = only_error(discover(token_env_only, module=str(missing)))
    assert reason.startswith(f"cannot load PKCS#11 module {missing}:")


def test_missing_token(token_env_only: LabToken, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PIN_ENV, token_env_only.pin)
    reason = only_error(discover(token_env_only, token_label="no-such-token"))
    assert reason.startswith("no token labelled 'no-such-token'")
    assert repr(TOKEN_LABEL) in reason  # the tokens that do exist


def test_select_by_slot(token_env_only: LabToken, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PIN_ENV, token_env_only.pin)
    by_label = discover(token_env_only)
    slot = by_label.system.attributes["slot"]
    by_slot = discover(token_env_only, token_label=None, slot=slot)
    assert sorted(k.uid for k in by_slot.keys) == sorted(k.uid for k in by_label.keys)
    missing = only_error(discover(token_env_only, token_label=None, slot=slot + 1))
    assert missing.startswith(f"no slot {slot + 1}")


def test_options_need_exactly_one_token_selector() -> None:
    with pytest.raises(ConfigError, match="exactly one of token_label or slot"):
        configure(module="libsofthsm2.so", token_label="a", slot=1)
    with pytest.raises(ConfigError, match="exactly one of token_label or slot"):
        configure(module="libsofthsm2.so")
    with pytest.raises(ConfigError, match="pin: unknown key"):
        configure(module="libsofthsm2.so", token_label="a", pin="1234")
