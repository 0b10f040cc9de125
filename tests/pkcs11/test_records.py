"""Interpreting PKCS#11 attributes without a token: curves, sizes, uids, dates, failures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from pytest_cryptoaudit.facts import ProtectionLevel
from pytest_cryptoaudit.providers import DiscoveryContext
from pytest_cryptoaudit.providers.pkcs11 import REQUESTED, Pkcs11Provider, _TokenReader, read_object
from pytest_cryptoaudit.providers.pkcs11_records import (
    RawObject,
    assign_uids,
    decode_curve,
)
from pytest_cryptoaudit.providers.pkcs11_records import key_fields as record_fields

from .conftest import configure

NOW = datetime(2026, 6, 1, tzinfo=UTC)
P256 = bytes.fromhex("06082a8648ce3d030107")


@pytest.mark.parametrize(("params", "expected"), [
    (P256, "1.2.840.10045.3.1.7"),
    (bytes.fromhex("06052b81040022"), "1.3.132.0.34"),
    (bytes.fromhex("06032b6570"), "1.3.101.112"),
    (b"\x13\x0cedwards25519", "edwards25519"),
    (b"\x05\x00", None),  # implicitlyCA
    (b"\x06\x09\x2a", None),  # truncated
])
def test_decode_curve(params: bytes, expected: str | None) -> None:
    assert decode_curve(params) == expected


def key_fields(obj: RawObject, token_label: str, now: datetime) -> dict[str, Any]:
    return record_fields(obj, token_label, now, protection=ProtectionLevel.HSM)


def raw(object_class: str = "SECRET_KEY", **values: Any) -> RawObject:
    return RawObject(object_class=object_class, values=values)


@pytest.mark.parametrize(("obj", "expected"), [
    (raw(KEY_TYPE="AES", VALUE_LEN=16), ("AES", 128, None)),
    (raw(KEY_TYPE="DES2"), ("DES3", 112, None)),
    (raw(KEY_TYPE="SHA256_HMAC", VALUE_LEN=32), ("HMAC", 256, None)),
    (raw("PRIVATE_KEY", KEY_TYPE="RSA", MODULUS=b"\x00" + b"\xff" * 384), ("RSA", 3072, None)),
    (raw("PUBLIC_KEY", KEY_TYPE="RSA", MODULUS_BITS=4096), ("RSA", 4096, None)),
    (raw("PUBLIC_KEY", KEY_TYPE="EC", EC_PARAMS=P256), ("EC", 256, "secp256r1")),
    (raw("PUBLIC_KEY", KEY_TYPE="EC_EDWARDS", EC_PARAMS=bytes.fromhex("06032b6571")),
     ("Ed448", 456, None)),
])
def test_algorithm_and_size(obj: RawObject, expected: tuple[Any, ...]) -> None:
    fields = key_fields(obj, "tok", NOW)
    assert (fields["algorithm"], fields["size"], fields["curve"]) == expected
    assert "size" not in fields["unreadable"]


def test_unknown_sizes_are_unreadable_with_a_reason() -> None:
    aes = key_fields(raw(KEY_TYPE="AES"), "tok", NOW)
    assert aes["size"] is None
    assert aes["unreadable"]["size"] == "no key length attribute for a AES secret-key"
    curve = key_fields(raw("PUBLIC_KEY", KEY_TYPE="EC", EC_PARAMS=b"\x06\x03\x2a\x03\x04"),
                       "tok", NOW)
    assert curve["algorithm"] == "EC"
    assert "unknown curve 1.2.3.4" in curve["unreadable"]["curve"]


def test_unreadable_key_type_fails_closed() -> None:
    obj = RawObject("SECRET_KEY", {"LABEL": "vendor"},
                    {"KEY_TYPE": "CKA_KEY_TYPE could not be read: ValueError: 2147483649 "
                                 "is not a valid KeyType"})
    fields = key_fields(obj, "tok", NOW)
    assert fields["algorithm"] is None
    assert "2147483649" in fields["unreadable"]["algorithm"]
    assert "2147483649" in fields["unreadable"]["key_type"]
    assert fields["unreadable"]["sensitive"] == "the token did not return CKA_SENSITIVE"


def test_dates_and_state() -> None:
    obj = raw(KEY_TYPE="AES", VALUE_LEN=32, START_DATE=date(2026, 1, 1),
              END_DATE=date(2026, 5, 31))
    fields = key_fields(obj, "tok", NOW)
    assert fields["created"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert fields["expires"] == NOW  # the end date is usable to its last second
    assert fields["state"] == "deactivated"
    assert fields["attributes"]["created_source"] == "CKA_START_DATE"
    future = key_fields(raw(KEY_TYPE="AES", START_DATE=date(2027, 1, 1)), "tok", NOW)
    assert future["state"] == "pre-activation"


def test_uids_are_stable_and_readable() -> None:
    objects = [
        raw("PRIVATE_KEY", LABEL="signer", ID=b"\x0a"),
        raw("PUBLIC_KEY", LABEL="signer", ID=b"\x0a"),
        raw(LABEL="dup", ID=b"\x01", VALUE_LEN=32),
        raw(LABEL="dup", ID=b"\x01", VALUE_LEN=16),
        raw(LABEL="no-id"),
    ]
    uids = assign_uids("tok", objects)
    assert uids == ["pkcs11:tok/signer#0a;private", "pkcs11:tok/signer#0a;public",
                    "pkcs11:tok/dup#01~2", "pkcs11:tok/dup#01~1", "pkcs11:tok/no-id"]
    assert assign_uids("tok", objects[::-1]) == uids[::-1]


def test_no_key_material_is_ever_requested() -> None:
    secret_parts = {"VALUE", "PRIVATE_EXPONENT", "PRIME_1", "PRIME_2", "EXPONENT_1",
                    "EXPONENT_2", "COEFFICIENT", "CHECK_VALUE"}
    assert not secret_parts & set(REQUESTED)


class BrokenObject:
    """A key object whose token fails every read except its label (a damaged object)."""

    def get_attributes(self, keys: list[Any]) -> dict[Any, Any]:
        from pkcs11 import GeneralError

        raise GeneralError()

    def __getitem__(self, attribute: Any) -> Any:
        from pkcs11 import Attribute, GeneralError

        if attribute == Attribute.LABEL:
            return "damaged"
        raise GeneralError()


def test_a_failed_batch_is_read_attribute_by_attribute() -> None:
    pytest.importorskip("pkcs11")
    obj = read_object(BrokenObject(), "SECRET_KEY")
    assert obj.values["LABEL"] == "damaged"
    assert obj.unreadable["KEY_TYPE"] == "CKA_KEY_TYPE could not be read: GeneralError"
    assert obj.unreadable["END_DATE"] == "CKA_END_DATE could not be read: GeneralError"
    assert not obj.nothing_read
    assert RawObject("SECRET_KEY", {}, dict(obj.unreadable)).nothing_read


def test_an_object_that_cannot_be_read_is_an_error_for_that_key() -> None:
    audit_config = configure(module="libsofthsm2.so", token_label="tok")
    system = audit_config.systems[0]
    attempt = Pkcs11Provider.new_discovery(system)
    context = DiscoveryContext(policy=audit_config.policy, now=NOW)
    damaged = RawObject("PRIVATE_KEY", {}, {"KEY_TYPE": "CKA_KEY_TYPE could not be read: "
                                                        "GeneralError"})
    sound = raw(LABEL="fine", KEY_TYPE="AES", VALUE_LEN=32)
    _TokenReader(attempt, "libsofthsm2.so", system.options, context)._add_keys(
        "tok", [damaged, sound])
    assert [key.uid for key in attempt.keys] == ["pkcs11:tok/fine"]
    assert [(e.key_uid, e.reason) for e in attempt.errors] == [
        ("pkcs11:tok/;private", "cannot read key object: CKA_KEY_TYPE could not be read: "
                                "GeneralError")]
