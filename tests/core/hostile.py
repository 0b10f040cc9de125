"""Files that a parser chokes on, built from real keys and certificates with a byte changed."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization

from tests.factories import cert_pem, certificate, ec_key, rsa_key

#: DER of the named-curve OID secp256r1 (1.2.840.10045.3.1.7), and an unassigned OID
#: (1.2.840.10045.3.1.127) of the same length that no library knows as a curve.
SECP256R1_OID = bytes.fromhex("06082a8648ce3d030107")
UNKNOWN_CURVE_OID = bytes.fromhex("06082a8648ce3d03017f")


def legacy_encrypted_pem(iv_hex: str = "0011223344556677") -> bytes:
    """An old-style ``Proc-Type: 4,ENCRYPTED`` RSA key whose DEK-Info IV is too short."""
    der = rsa_key(1024).private_bytes(serialization.Encoding.DER,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption())
    return (b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
            b"DEK-Info: AES-128-CBC," + iv_hex.encode() + b"\n\n"
            + base64.encodebytes(der) + b"-----END RSA PRIVATE KEY-----\n")


def unknown_curve_certificate() -> bytes:
    """A PEM certificate whose EC public key names a curve nobody implements."""
    der = certificate(ec_key()).public_bytes(serialization.Encoding.DER)
    assert der.count(SECP256R1_OID) == 1
    return _pem(der.replace(SECP256R1_OID, UNKNOWN_CURVE_OID))


def tag8_name_certificate() -> bytes:
    """A PEM certificate whose subject common name is encoded with ASN.1 tag 8 (EXTERNAL)."""
    cert = certificate(ec_key(), subject="tag-eight-marker", issuer="issuer.example.test")
    der = cert.public_bytes(serialization.Encoding.DER)
    value = b"tag-eight-marker"
    encoded = bytes([0x0C, len(value)]) + value  # UTF8String
    assert encoded in der
    return _pem(der.replace(encoded, bytes([0x08, len(value)]) + value))


def _pem(der: bytes) -> bytes:
    return (b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der)
            + b"-----END CERTIFICATE-----\n")


def good_certificate() -> bytes:
    return cert_pem(certificate(ec_key()))
