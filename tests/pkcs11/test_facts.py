"""The managed-key facts of token objects, without a token: origin, protection, state."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from pytest_cryptoaudit.facts import KeyManager, KeyOrigin, KeyState, ProtectionLevel
from pytest_cryptoaudit.providers.pkcs11 import Pkcs11Options
from pytest_cryptoaudit.providers.pkcs11_facts import token_protection
from pytest_cryptoaudit.providers.pkcs11_records import RawObject, key_fields

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SECRET = {"LABEL": "k", "KEY_TYPE": "AES", "VALUE_LEN": 32, "SENSITIVE": True,
          "EXTRACTABLE": False, "ALWAYS_SENSITIVE": True, "NEVER_EXTRACTABLE": True}


def fields(object_class: str = "SECRET_KEY", unreadable: dict[str, str] | None = None,
           protection: ProtectionLevel = ProtectionLevel.HSM, **values: Any) -> dict[str, Any]:
    obj = RawObject(object_class, {**SECRET, **values}, dict(unreadable or {}))
    return key_fields(obj, "tok", NOW, protection=protection)


@pytest.mark.parametrize(("local", "origin"), [
    (True, KeyOrigin.GENERATED), (False, KeyOrigin.IMPORTED)])
@pytest.mark.parametrize("object_class", ["SECRET_KEY", "PRIVATE_KEY"])
def test_cka_local_is_the_origin(object_class: str, local: bool, origin: KeyOrigin) -> None:
    managed = fields(object_class, LOCAL=local)["managed"]
    assert managed.origin is origin
    assert managed.manager is KeyManager.CUSTOMER
    assert managed.protection is ProtectionLevel.HSM


def test_an_unreadable_cka_local_makes_the_origin_unreadable() -> None:
    reason = "CKA_LOCAL could not be read: GeneralError"
    record = fields(unreadable={"LOCAL": reason})
    assert record["unreadable"]["managed.origin"] == reason
    assert record["unreadable"]["local"] == reason
    missing = fields()  # the token answered, but not CKA_LOCAL
    assert missing["unreadable"]["managed.origin"] == "the token did not return CKA_LOCAL"
    assert "managed.origin" not in fields(LOCAL=False)["unreadable"]


def test_public_keys_carry_no_managed_facts() -> None:
    record = fields("PUBLIC_KEY", KEY_TYPE="RSA", MODULUS_BITS=2048, LOCAL=False)
    assert record["managed"] is None
    assert "managed.origin" not in fields("PUBLIC_KEY", KEY_TYPE="RSA")["unreadable"]


@pytest.mark.parametrize(("dates", "native"), [
    ({}, "active"),
    ({"END_DATE": date(2020, 1, 1)}, "deactivated"),
    ({"START_DATE": date(2030, 1, 1)}, "pre-activation"),
])
def test_tokens_enforce_no_state_so_every_key_is_enabled(dates: dict[str, date],
                                                         native: str) -> None:
    managed = fields(LOCAL=True, **dates)["managed"]
    assert managed.state is KeyState.ENABLED
    assert managed.native_state == native


def test_unknown_dates_leave_no_native_state() -> None:
    managed = fields(LOCAL=True, unreadable={"END_DATE": "CKA_END_DATE could not be read"})
    assert managed["managed"].state is KeyState.ENABLED
    assert managed["managed"].native_state == ""


def test_tokens_do_not_rotate_delete_or_report_access() -> None:
    managed = fields(LOCAL=True)["managed"]
    assert (managed.can_rotate, managed.rotation, managed.deletion) == (False, None, None)
    assert (managed.material_expires, managed.access, managed.key_store) == (None, None, None)


@pytest.mark.parametrize(("hardware", "declared", "protection", "source"), [
    (True, None, ProtectionLevel.HSM, "CKF_HW_SLOT"),
    (False, None, ProtectionLevel.SOFTWARE, "without CKF_HW_SLOT"),
    (False, "hsm", ProtectionLevel.HSM, "protection option"),
    (True, "software", ProtectionLevel.SOFTWARE, "protection option"),
])
def test_the_slot_or_the_option_says_what_protects_the_keys(
        hardware: bool, declared: str | None, protection: ProtectionLevel, source: str) -> None:
    level, said_by = token_protection(hardware, declared)
    assert level is protection
    assert source in said_by


def test_the_protection_option_knows_two_levels() -> None:
    base = {"module": "m.so", "token_label": "t", "pin_env": "PIN"}
    assert Pkcs11Options(**base, protection="hsm").protection == "hsm"
    with pytest.raises(ValueError, match="'hsm' or 'software'"):
        Pkcs11Options(**base, protection="external")
