"""Generate real keys and certificates with ``cryptography``: for the lab estate and the tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.UTC)


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def dsa_key(bits: int = 2048) -> dsa.DSAPrivateKey:
    return dsa.generate_private_key(key_size=bits)


def private_pem(key: PrivateKeyTypes, password: bytes | None = None,
                fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)


def public_pem(key: PrivateKeyTypes) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(
    key: CertificateIssuerPrivateKeyTypes,
    *,
    subject: str = "service.example.test",
    issuer_key: CertificateIssuerPrivateKeyTypes | None = None,
    issuer: str | None = None,
    days_valid: int = 90,
    not_before: dt.datetime | None = None,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    is_ca: bool = False,
    key_usage: Sequence[str] = ("digital_signature",),
    server_auth: bool | None = None,
    san: Sequence[str] = (),
) -> x509.Certificate:
    """A certificate for ``key``; self-signed unless ``issuer_key`` is given.

    ``server_auth`` adds the serverAuth extended key usage (default: on leaves only).
    """
    start = not_before or (NOW - dt.timedelta(days=1))
    flags = {f: f in key_usage for f in (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign")}
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer or subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days_valid))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**flags, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
    )
    signer = issuer_key or key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    if server_auth or (server_auth is None and not is_ca):
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False)
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else (
        hash_algorithm or hashes.SHA256())
    return builder.sign(signer, algorithm)  # type: ignore[arg-type]


def ca_and_leaf(
    hostname: str = "localhost", *, leaf_key: CertificateIssuerPrivateKeyTypes | None = None,
    days_valid: int = 90, hash_algorithm: hashes.HashAlgorithm | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate,
           CertificateIssuerPrivateKeyTypes, x509.Certificate]:
    """A small CA and a leaf it issued (a bare self-signed leaf fails path validation)."""
    ca_key = ec_key()
    ca = certificate(ca_key, subject="Test Root CA", is_ca=True, days_valid=3650,
                     key_usage=("key_cert_sign", "crl_sign"))
    leaf_key = leaf_key or ec_key()
    leaf = certificate(leaf_key, subject=hostname, issuer="Test Root CA", issuer_key=ca_key,
                       days_valid=days_valid, san=(hostname,), hash_algorithm=hash_algorithm)
    return ca_key, ca, leaf_key, leaf


def cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return path


_SHA256_RSA_OID = bytes.fromhex("06092a864886f70d01010b")  # sha256WithRSAEncryption
_SHA1_RSA_OID = bytes.fromhex("06092a864886f70d010105")  # sha1WithRSAEncryption


def sha1_certificate(key: rsa.RSAPrivateKey, **options: Any) -> x509.Certificate:
    """A certificate signed with SHA-1, which current ``cryptography`` refuses to produce."""
    signer = options.get("issuer_key") or key
    return resigned_with_sha1(certificate(key, **options), signer)


def resigned_with_sha1(cert: x509.Certificate, signer: rsa.RSAPrivateKey) -> x509.Certificate:
    """``cert``, signed with SHA-256 by the RSA key ``signer``, re-signed with SHA-1.

    The two signature OIDs have the same encoded length, so the certificate is rewritten in
    place and its TBS part re-signed with SHA-1 (the signature keeps its length).
    """
    from cryptography.hazmat.primitives.asymmetric import padding

    der = cert.public_bytes(serialization.Encoding.DER)
    der = der.replace(_SHA256_RSA_OID, _SHA1_RSA_OID)
    tbs = x509.load_der_x509_certificate(der).tbs_certificate_bytes
    signature = signer.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    return x509.load_der_x509_certificate(der[: -len(signature)] + signature)
