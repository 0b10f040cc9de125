"""Property: whatever bytes a key file holds, the files provider records keys or one error
naming the file, and nothing escapes (a bounded, reproducible run of mutated real files)."""

from __future__ import annotations

import base64
import functools
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers.files import FilesProvider, read_file
from tests.core.hostile import legacy_encrypted_pem
from tests.factories import certificate, ec_key, ed25519_key

PASSWORD_ENV = "CRYPTOAUDIT_FUZZ_PASSWORD"
PASSWORD = "fuzz-CANARY-7d1e-password"
PEM_BODY = re.compile(rb"(-----BEGIN [A-Z0-9 ]+-----\r?\n(?:[A-Za-z-]+: [^\n]*\n)*\n?)"
                      rb"([A-Za-z0-9+/=\r\n]+)(-----END )")
DEK_INFO = re.compile(rb"(DEK-Info: [A-Z0-9-]+,)([0-9A-Fa-f]*)")


@functools.cache
def seeds() -> dict[str, bytes]:
    """The seed files, made on first use: not while every xdist worker collects (the
    encrypted OpenSSH key alone costs a bcrypt key derivation)."""
    key, password = ec_key(), PASSWORD.encode()
    encrypted = serialization.BestAvailableEncryption(password)
    cert = certificate(key)
    bundle = pkcs12.serialize_key_and_certificates(b"svc", key, cert, None, encrypted)
    return {
        "key.pem": key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()),
        "encrypted.pem": key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8, encrypted),
        "legacy.pem": key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        encrypted),
        "short-iv.pem": legacy_encrypted_pem(),
        "cert.pem": cert.public_bytes(serialization.Encoding.PEM),
        "cert.der": cert.public_bytes(serialization.Encoding.DER),
        "key.der": key.private_bytes(serialization.Encoding.DER,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()),
        "id_ed25519": ed25519_key().private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.OpenSSH,
                                                  encrypted),
        "authorized_keys": ed25519_key().public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH) + b" a@b\n",
        "bundle.p12": bundle,
    }


def _mutate_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not buffer:
            break
        at = draw(st.integers(0, len(buffer) - 1))
        operation = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        if operation == "flip":
            buffer[at] ^= 1 << draw(st.integers(0, 7))
        elif operation == "set":
            buffer[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF, 0x30, 0x02, 0x06]))
        elif operation == "truncate":
            del buffer[at:]
        elif operation == "insert":
            buffer[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del buffer[at:at + draw(st.integers(1, 16))]
    return bytes(buffer)


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A seed file with its bytes changed: raw, inside the PEM base64 (so the DER parsers
    see it), or in the legacy DEK-Info IV (the length that once made cryptography panic)."""
    name = draw(st.sampled_from(sorted(seeds())))
    data = seeds()[name]
    where = draw(st.sampled_from(["raw", "inside", "iv"]))
    body = PEM_BODY.search(data)
    if where == "inside" and body:
        der = _mutate_bytes(draw, base64.b64decode(b"".join(body.group(2).split())))
        data = data[:body.start(2)] + base64.encodebytes(der) + data[body.end(2):]
    elif where == "iv" and DEK_INFO.search(data):
        iv = draw(st.text("0123456789ABCDEF", max_size=40)).encode()
        data = DEK_INFO.sub(lambda m: m.group(1) + iv, data, count=1)
    else:
        data = _mutate_bytes(draw, data)
    return name, data


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, DiscoveryContext]:
    root = tmp_path_factory.mktemp("fuzz")
    system = {"name": "fuzz", "provider": "files", "risk_tier": "high", "owner": "CSC",
              "paths": ["."], "password_env": PASSWORD_ENV, "pkcs12_password_env": PASSWORD_ENV}
    audit_config = parse_config({"systems": [system]}, ProviderRegistry(), BUILTIN_SETTINGS)
    context = DiscoveryContext(policy=audit_config.policy, now=datetime.now(UTC), base_dir=root)
    return root, audit_config.systems[0], context


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def test_every_seed_is_read_whole(setting) -> None:
    """Guard the property below: unmutated, every seed yields keys and no error."""
    root, system, context = setting
    for name, data in seeds().items():
        if name == "short-iv.pem":
            continue
        attempt = FilesProvider.new_discovery(system)
        (root / name).write_bytes(data)
        read_file(attempt, root / name, context, system.options)
        assert attempt.keys and not attempt.errors, (name, attempt.errors)


# examples: the profile tests/conftest.py loads (2,500 in the full suite, 400 in the fast lane)
@settings(deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=mutated_files())
def test_no_exception_escapes_a_file(setting, case: tuple[str, bytes]) -> None:
    root, system, context = setting
    name, data = case
    path = root / name
    path.write_bytes(data)
    attempt = FilesProvider.new_discovery(system)
    read_file(attempt, path, context, system.options)
    uid = f"files:{name}"
    assert all(k.uid == uid or k.uid.startswith(uid + "#") for k in attempt.keys)
    assert [e.key_uid for e in attempt.errors] in ([], [uid])
    assert bool(attempt.keys) != bool(attempt.errors)
    for error in attempt.errors:
        assert error.reason.startswith(f"{name}: ") and PASSWORD not in error.reason
