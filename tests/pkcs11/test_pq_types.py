"""PKCS#11 3.2 post-quantum key types, parameter sets and mechanisms (ML-KEM, ML-DSA,
SLH-DSA; HSS and XMSS from 3.1): mapped by number, so a key newer than python-pkcs11 is
recorded, not rejected. SoftHSM2 has none of them: the real token is read as before and
lists no post-quantum mechanism."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pkcs11 import Attribute, KeyType, Mechanism
from pkcs11.attributes import AttributeMapper

from pytest_cryptoaudit.facts import ProtectionLevel
from pytest_cryptoaudit.lab.softhsm import LabToken
from pytest_cryptoaudit.model import KeyRecord
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy
from pytest_cryptoaudit.pqverdict import PqStatus, verdict_for_key
from pytest_cryptoaudit.providers.pkcs11_pq import (
    key_type_name,
    lenient_key_types,
    pq_mechanism_names,
)
from pytest_cryptoaudit.providers.pkcs11_records import RawObject, key_fields

from .conftest import PIN_ENV
from .test_discovery import discover

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CKK_SLH_DSA, CKK_HSS = 0x4B, 0x46


def fields(object_class: str = "PRIVATE_KEY", **values: Any) -> dict[str, Any]:
    base = {"LABEL": "pq", "ID": b"\x01", "LOCAL": True, "SENSITIVE": True,
            "EXTRACTABLE": False, "ALWAYS_SENSITIVE": True, "NEVER_EXTRACTABLE": True,
            "SIGN": True}
    return key_fields(RawObject(object_class, {**base, **values}), "hsm", NOW,
                      protection=ProtectionLevel.HSM)


@pytest.mark.parametrize(("key_type", "parameter_set", "algorithm", "size", "named"), [
    (KeyType.ML_DSA, 1, "ML-DSA", 128, "ML-DSA-44"),
    (KeyType.ML_DSA, 2, "ML-DSA", 192, "ML-DSA-65"),
    (KeyType.ML_DSA, 3, "ML-DSA", 256, "ML-DSA-87"),
    (KeyType.ML_KEM, 2, "ML-KEM", 192, "ML-KEM-768"),
    (0x49, 3, "ML-KEM", 256, "ML-KEM-1024"),  # the number, as a lenient session reads it
    (CKK_SLH_DSA, 0x1, "SLH-DSA", 128, "SLH-DSA-SHA2-128s"),
    (CKK_SLH_DSA, 0x8, "SLH-DSA", 192, "SLH-DSA-SHAKE-192f"),
    (CKK_SLH_DSA, 0xB, "SLH-DSA", 256, "SLH-DSA-SHA2-256f"),
])
def test_post_quantum_key_types_by_parameter_set(key_type: Any, parameter_set: int,
                                                 algorithm: str, size: int, named: str) -> None:
    found = fields(KEY_TYPE=key_type, PARAMETER_SET=parameter_set)
    assert (found["algorithm"], found["size"], found["curve"]) == (algorithm, size, None)
    assert found["attributes"]["parameter_set"] == named
    assert "size" not in found["unreadable"]


def test_a_missing_or_unknown_parameter_set_leaves_the_size_unreadable() -> None:
    missing = fields(KEY_TYPE=KeyType.ML_KEM)
    assert missing["algorithm"] == "ML-KEM"
    assert missing["unreadable"]["size"] == "the token did not return CKA_PARAMETER_SET"
    unknown = fields(KEY_TYPE=CKK_SLH_DSA, PARAMETER_SET=0x42)
    assert unknown["unreadable"]["size"] == "unknown SLH_DSA parameter set 66"
    assert "parameter_set" not in unknown["attributes"]


def test_stateful_hash_based_keys_and_unknown_numbers() -> None:
    hss = fields(KEY_TYPE=CKK_HSS)
    assert (hss["algorithm"], hss["size"], hss["attributes"]["key_type"]) == ("HSS", 256, "HSS")
    assert key_type_name(0x4A) == "ML_DSA"
    assert key_type_name(0x8000_0001) == "0x80000001"  # a vendor type is kept, not guessed
    assert key_type_name(KeyType.AES) == "AES"


def test_a_pkcs11_ml_dsa_key_is_quantum_resistant() -> None:
    found = fields(KEY_TYPE=KeyType.ML_DSA, PARAMETER_SET=2)
    record = KeyRecord(uid="pkcs11:hsm/pq#01;private", system="hsm", provider="pkcs11",
                       kind="private-key", risk_tier="high", owner="CSC", **found)
    verdict = verdict_for_key(record, Policy(BUILTIN_SETTINGS, {}))
    assert (verdict.status, verdict.algorithm) == (PqStatus.RESISTANT, "ML-DSA")


def test_post_quantum_mechanisms_by_number_or_enum() -> None:
    listed = [Mechanism.AES_GCM, Mechanism.ML_DSA, Mechanism.ML_KEM_KEY_PAIR_GEN, 0x2E,
              0x24, 0x3F, 0x1041, 0x8000_0000]
    assert pq_mechanism_names(listed) == [
        "CKM_HASH_ML_DSA_SHA256", "CKM_HASH_SLH_DSA_SHAKE256", "CKM_ML_DSA",
        "CKM_ML_KEM_KEY_PAIR_GEN", "CKM_SLH_DSA"]
    assert pq_mechanism_names([Mechanism.RSA_PKCS, Mechanism.ECDSA]) == []


def test_a_lenient_session_reads_a_key_type_python_pkcs11_cannot_name() -> None:
    session = SimpleNamespace(attribute_mapper=AttributeMapper())
    raw = struct.pack("L", CKK_SLH_DSA)
    with pytest.raises(ValueError, match="not a valid KeyType"):
        session.attribute_mapper.unpack_attributes(Attribute.KEY_TYPE, raw)
    lenient_key_types(session)
    assert session.attribute_mapper.unpack_attributes(Attribute.KEY_TYPE, raw) == CKK_SLH_DSA
    known = struct.pack("L", int(KeyType.AES))
    assert session.attribute_mapper.unpack_attributes(Attribute.KEY_TYPE, known) is KeyType.AES


def test_softhsm_keys_classify_as_before_and_list_no_pq_mechanism(
        softhsm_token: LabToken) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PIN_ENV, softhsm_token.pin)
        for name, value in softhsm_token.env.items():
            patch.setenv(name, value)
        attempt = discover(softhsm_token)
    assert attempt.errors == []
    assert attempt.system.attributes["pq_mechanisms"] == []  # SoftHSM 2.6 has none
    assert "pq_mechanisms_error" not in attempt.system.attributes
    algorithms = {key.algorithm for key in attempt.keys}
    assert {"AES", "RSA", "EC", "DES3", "HMAC"} <= algorithms
    assert not any(key.attributes.get("parameter_set") for key in attempt.keys)
