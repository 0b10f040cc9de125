"""Post-quantum keys and certificates in files, which this ``cryptography`` cannot load:
recorded by OID with their verdict, never an error for being new."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from pytest_cryptoaudit.pqoids import DerError, describe_by_oid, key_oid

ML_DSA_65 = "2.16.840.1.101.3.4.3.18"
ML_KEM_768 = "2.16.840.1.101.3.4.4.2"
CONFIG = """
[[systems]]
name = "pq-files"
provider = "files"
risk_tier = "high"
ssrm_owner = "CSC"
accountable_owner = "crypto-team"
paths = ["keys"]
"""


def der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.insert(0, 0x80 | (arc & 0x7F))
        body += bytes(chunk)
    return der(0x06, body)


def algorithm(dotted: str) -> bytes:
    return der(0x30, oid(dotted))  # FIPS 204/203: parameters absent


def spki(dotted: str, key_bytes: int) -> bytes:
    return der(0x30, algorithm(dotted) + der(0x03, b"\x00" + bytes(key_bytes)))


def pkcs8(dotted: str) -> bytes:
    return der(0x30, der(0x02, b"\x00") + algorithm(dotted) + der(0x04, der(0x04, bytes(64))))


def ml_dsa_certificate() -> bytes:
    """A self-issued ML-DSA-65 certificate (zero key and signature: parsed, never verified)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pq.example.test")])
    name_der = name.public_bytes()
    validity = der(0x30, der(0x17, b"260101000000Z") + der(0x17, b"280101000000Z"))
    tbs = der(0x30, der(0xA0, der(0x02, b"\x02")) + der(0x02, b"\x01") + algorithm(ML_DSA_65)
              + name_der + validity + name_der + spki(ML_DSA_65, 1952))
    return der(0x30, tbs + algorithm(ML_DSA_65) + der(0x03, b"\x00" + bytes(3309)))


def pem(label: str, data: bytes) -> bytes:
    body = base64.encodebytes(data).replace(b"\n", b"")
    lines = b"\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label.encode(), lines, label.encode())


def test_key_oid_reads_spki_and_pkcs8() -> None:
    assert key_oid(spki(ML_DSA_65, 1952)) == ML_DSA_65
    assert key_oid(pkcs8(ML_KEM_768)) == ML_KEM_768
    assert describe_by_oid(ML_KEM_768)["attributes"]["parameter_set"] == "ML-KEM-768"
    assert describe_by_oid("1.2.840.113549.1.1.1") is None  # RSA: the parser's job
    with pytest.raises(DerError):
        key_oid(b"\x30\x05\x06")


@pytest.fixture
def pq_files(pytester: pytest.Pytester) -> Path:
    keys = pytester.path / "keys"
    keys.mkdir()
    (keys / "ml-dsa-65.pub").write_bytes(pem("PUBLIC KEY", spki(ML_DSA_65, 1952)))
    (keys / "ml-kem-768.pem").write_bytes(pem("PRIVATE KEY", pkcs8(ML_KEM_768)))
    (keys / "ml-dsa.crt").write_bytes(pem("CERTIFICATE", ml_dsa_certificate()))
    (keys / "unknown.pub").write_bytes(pem("PUBLIC KEY", spki("1.3.6.1.4.1.99999.1", 32)))
    (pytester.path / "cryptoaudit.toml").write_text(CONFIG)
    return pytester.path


def test_pq_files_are_recorded_with_their_verdicts(pytester: pytest.Pytester,
                                                   pq_files: Path) -> None:
    pytester.runpytest("--cryptoaudit", "--cryptoaudit-control", "CEK-04",
                       "--cryptoaudit-json", "evidence.json", "--cryptoaudit-no-ledger")
    evidence = json.loads((pq_files / "evidence.json").read_text())
    keys = {k["uid"]: k for k in evidence["inventory"]}
    public = keys["files:keys/ml-dsa-65.pub"]
    assert (public["algorithm"], public["size"]) == ("ML-DSA", 192)
    assert public["attributes"]["parameter_set"] == "ML-DSA-65"
    assert public["pq"]["status"] == "quantum-resistant"
    private = keys["files:keys/ml-kem-768.pem"]
    assert (private["algorithm"], private["attributes"]["encrypted"]) == ("ML-KEM", False)
    certificate = keys["files:keys/ml-dsa.crt"]
    assert certificate["algorithm"] == "ML-DSA"
    assert certificate["certificate"]["signature_algorithm"] == "ML-DSA-65"
    results = {(r["key_uid"], r["check"]): r for r in evidence["results"]}
    assert results[("files:keys/ml-dsa.crt", "pq-readiness")]["outcome"] == "passed"
    assert results[("files:keys/ml-dsa.crt", "certificate-signature-hash")]["outcome"] \
        == "passed"
    # An algorithm nobody knows stays a named failure to look.
    errors = evidence["systems"][0]["discovery_errors"]
    assert [e["key_uid"] for e in errors] == ["files:keys/unknown.pub"]
    assert "1.3.6.1.4.1.99999.1" in errors[0]["reason"]


ML_DSA_87 = "2.16.840.1.101.3.4.3.19"
ML_KEM_1024 = "2.16.840.1.101.3.4.4.3"
SLH_DSA_SHA2_128S = "2.16.840.1.101.3.4.3.20"


def certificate(signature: str, subject_key: str, key_bytes: int, signature_bytes: int) -> bytes:
    """A self-issued certificate of any algorithm (zero key and signature: never verified)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pq.example.test")]).public_bytes()
    validity = der(0x30, der(0x17, b"260101000000Z") + der(0x17, b"280101000000Z"))
    tbs = der(0x30, der(0xA0, der(0x02, b"\x02")) + der(0x02, b"\x07") + algorithm(signature)
              + name + validity + name + spki(subject_key, key_bytes))
    return der(0x30, tbs + algorithm(signature) + der(0x03, b"\x00" + bytes(signature_bytes)))


@pytest.fixture
def der_files(pytester: pytest.Pytester) -> Path:
    keys = pytester.path / "keys"
    keys.mkdir()
    (keys / "ml-dsa-87.der").write_bytes(spki(ML_DSA_87, 2592))
    (keys / "ml-kem-1024.der").write_bytes(pkcs8(ML_KEM_1024))
    (keys / "slh-dsa.cer").write_bytes(certificate(SLH_DSA_SHA2_128S, SLH_DSA_SHA2_128S,
                                                   32, 7856))
    (keys / "unknown.der").write_bytes(spki("1.3.6.1.4.1.99999.2", 32))
    (keys / "truncated-oid.der").write_bytes(der(0x30, der(0x30, der(0x06, b"\x60\x86"))))
    (pytester.path / "cryptoaudit.toml").write_text(CONFIG)
    return pytester.path


def test_der_pq_keys_and_certificates_are_recorded(pytester: pytest.Pytester,
                                                   der_files: Path) -> None:
    pytester.runpytest("--cryptoaudit", "--cryptoaudit-control", "CEK-04",
                       "--cryptoaudit-json", "evidence.json", "--cryptoaudit-no-ledger")
    evidence = json.loads((der_files / "evidence.json").read_text())
    keys = {k["uid"]: k for k in evidence["inventory"]}
    public = keys["files:keys/ml-dsa-87.der"]
    assert (public["kind"], public["algorithm"], public["size"]) == ("public-key", "ML-DSA", 256)
    assert public["attributes"]["format"] == "DER"
    private = keys["files:keys/ml-kem-1024.der"]
    assert (private["kind"], private["algorithm"], private["size"]) == (
        "private-key", "ML-KEM", 256)
    assert private["attributes"]["parameter_set"] == "ML-KEM-1024"
    assert private["attributes"]["encrypted"] is False
    slh = keys["files:keys/slh-dsa.cer"]
    assert (slh["kind"], slh["algorithm"], slh["size"]) == ("certificate", "SLH-DSA", 128)
    assert slh["certificate"]["signature_algorithm"] == "SLH-DSA-SHA2-128s"
    for uid in keys:
        assert keys[uid]["pq"]["status"] == "quantum-resistant", uid
    results = {(r["key_uid"], r["check"]): r["outcome"] for r in evidence["results"]}
    assert results[("files:keys/slh-dsa.cer", "pq-readiness")] == "passed"
    assert results[("files:keys/ml-kem-1024.der", "pq-readiness")] == "passed"
    errors = {e["key_uid"]: e["reason"] for e in evidence["systems"][0]["discovery_errors"]}
    assert set(errors) == {"files:keys/unknown.der", "files:keys/truncated-oid.der"}
    assert "no key or certificate found" in errors["files:keys/unknown.der"]


@pytest.mark.parametrize("data", [
    der(0x30, der(0x30, der(0x06, b"\x60\x86"))),  # an OID cut inside an arc
    der(0x30, der(0x30, der(0x06, b""))),
    b"\x30\x84\xff\xff\xff\xff",
])
def test_malformed_der_is_a_der_error(data: bytes) -> None:
    with pytest.raises(DerError, match=r"OID|DER"):
        key_oid(data)
