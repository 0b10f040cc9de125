"""Describe keys and certificates from ``cryptography`` objects, for every provider.

Files, TLS endpoints and Vault PKI all produce certificates; they describe them here, once,
so that the same certificate controls serve them all. Only public facts leave this module:
algorithm, size, curve, fingerprints of public material, certificate fields.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dh, dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from .model import CertificateInfo
from .pqoids import PQ_OIDS, describe_by_oid

_FIXED = {
    ed25519.Ed25519PublicKey: ("Ed25519", 256),
    ed448.Ed448PublicKey: ("Ed448", 456),
    x25519.X25519PublicKey: ("X25519", 256),
    x448.X448PublicKey: ("X448", 448),
}

_KEY_USAGE_FLAGS = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "key_cert_sign", "crl_sign",
)

_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
}


def public_fingerprint(public_key: Any) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo: identifies a key pair without revealing it."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def describe_public_key(public_key: Any) -> dict[str, Any]:
    """Algorithm, size in bits, curve and fingerprint of a public key."""
    fields: dict[str, Any] = {"curve": None}
    if isinstance(public_key, rsa.RSAPublicKey):
        fields.update(algorithm="RSA", size=public_key.key_size)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        fields.update(algorithm="EC", size=public_key.curve.key_size, curve=public_key.curve.name)
    elif isinstance(public_key, dsa.DSAPublicKey):
        fields.update(algorithm="DSA", size=public_key.key_size)
    elif isinstance(public_key, dh.DHPublicKey):
        fields.update(algorithm="DH", size=public_key.key_size)
    else:
        name, size = next(
            (v for cls, v in _FIXED.items() if isinstance(public_key, cls)),
            (type(public_key).__name__, None),
        )
        fields.update(algorithm=name, size=size)
    if fields["algorithm"] != "DH":
        fields["fingerprint"] = public_fingerprint(public_key)
    return fields


def _extension(cert: x509.Certificate, kind: type) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _key_usage(cert: x509.Certificate) -> tuple[str, ...]:
    usage = _extension(cert, x509.KeyUsage)
    if usage is None:
        return ()
    flags = [f for f in _KEY_USAGE_FLAGS if getattr(usage, f)]
    if usage.key_agreement:
        flags += [f for f in ("encipher_only", "decipher_only") if getattr(usage, f)]
    return tuple(flags)


def _signature_hash(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except Exception:  # unsupported algorithm: the caller still records the OID name
        return None
    return algorithm.name if algorithm is not None else None


def certificate_info(cert: x509.Certificate) -> CertificateInfo:
    constraints = _extension(cert, x509.BasicConstraints)
    eku = _extension(cert, x509.ExtendedKeyUsage)
    san = _extension(cert, x509.SubjectAlternativeName)
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        signature_algorithm=_signature_name(cert.signature_algorithm_oid),
        signature_hash=_signature_hash(cert),
        is_ca=bool(constraints and constraints.ca),
        self_signed=cert.subject == cert.issuer,
        key_usage=_key_usage(cert),
        extended_key_usage=tuple(_EKU_NAMES.get(o, o.dotted_string) for o in (eku or ())),
        subject_alt_names=tuple(str(n.value) for n in (san or ())),
    )


def _signature_name(oid: x509.ObjectIdentifier) -> str:
    known = PQ_OIDS.get(oid.dotted_string)
    return known[2] if known else oid._name


def _certificate_key(cert: x509.Certificate) -> dict[str, Any]:
    """The certificate's public key; one newer than the parser is recorded by its OID."""
    try:
        return describe_public_key(cert.public_key())
    except (UnsupportedAlgorithm, ValueError):  # cryptography: "Unknown key type: <OID>"
        fields = describe_by_oid(cert.public_key_algorithm_oid.dotted_string)
        if fields is None:
            raise
        return {key: value for key, value in fields.items() if key != "attributes"}


def certificate_fields(cert: x509.Certificate) -> dict[str, Any]:
    """KeyRecord fields for a certificate: its public key, validity and X.509 details."""
    info = certificate_info(cert)
    return {
        **_certificate_key(cert),
        "created": info.not_before,
        "expires": info.not_after,
        "usage": info.key_usage,
        "certificate": info,
        "attributes": {"certificate_sha256": cert.fingerprint(_sha256()).hex()},
    }


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def state_of_certificate(info: CertificateInfo, now: datetime) -> str:
    if now < info.not_before:
        return "pre-activation"
    if now >= info.not_after:
        return "deactivated"
    return "active"
