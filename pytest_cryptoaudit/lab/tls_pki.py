"""The lab PKI of the TLS servers: two small CAs and one leaf per server profile.

A bare self-signed leaf fails path validation even when it is the trust anchor, so the
servers present leaves issued by a CA. The modern leaf comes from the lab CA (``ca.pem``,
the trust store a scan is given); the legacy leaf from a second CA that ``ca.pem`` does not
hold, so its chain fails validation for a real reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dh, ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from .keygen import cert_pem, ec_key, name, private_pem, resigned_with_sha1, rsa_key, write
from .processes import LOOPBACK

HOSTNAME = "localhost"

#: RFC 2409 (Oakley) group 2: the public 1024-bit MODP prime, generator 2.
RFC2409_GROUP2_PRIME = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
    "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
    "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"
    "FFFFFFFFFFFFFFFF", 16)


@dataclasses.dataclass(frozen=True)
class LeafSpec:
    """How one profile's leaf certificate is made (its planted weaknesses live here)."""

    key_bits: int | None  # RSA modulus size; None for an EC P-256 key
    days_valid: int
    days_past: int
    key_usage: tuple[str, ...]
    trusted_issuer: bool
    sha1: bool = False


LEAVES = {
    # RSA-1024, SHA-1, 1,000 days with 20 left, signing and encipherment, untrusted issuer.
    "legacy": LeafSpec(1024, 1000, 980, ("digital_signature", "key_encipherment"),
                       trusted_issuer=False, sha1=True),
    "modern": LeafSpec(None, 90, 1, ("digital_signature",), trusted_issuer=True),
}


@dataclasses.dataclass(frozen=True)
class LabPki:
    """Files of the lab PKI in ``folder``."""

    folder: Path

    @property
    def ca_file(self) -> Path:
        """The lab CA: the trust store a scan of the lab servers is given."""
        return self.folder / "ca.pem"

    @property
    def untrusted_ca_file(self) -> Path:
        """The second CA, which issued the legacy leaf and which ``ca.pem`` does not hold."""
        return self.folder / "untrusted-ca.pem"

    @property
    def dh_params_file(self) -> Path:
        return self.folder / "dh1024.pem"

    def chain_file(self, profile: str) -> Path:
        return self.folder / f"{profile}-chain.pem"

    def key_file(self, profile: str) -> Path:
        return self.folder / f"{profile}-key.pem"


def _key_usage(flags: Sequence[str]) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: n in flags for n in names})


def _builder(subject: x509.Name, issuer: x509.Name, public_key: Any, days: int,
             days_past: int = 1) -> x509.CertificateBuilder:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_past)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def issue_ca(common_name: str, key: Any) -> x509.Certificate:
    """A self-signed CA certificate that may issue leaves only (path length 0)."""
    return (
        _builder(name(common_name), name(common_name), key.public_key(), 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(("key_cert_sign", "crl_sign")), critical=True)
        .sign(key, hashes.SHA256())
    )


def issue_leaf(spec: LeafSpec, public_key: Any, ca_key: Any,
               ca: x509.Certificate) -> x509.Certificate:
    """A server leaf for ``localhost`` and the loopback address, issued by ``ca``."""
    names = [x509.DNSName(HOSTNAME), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
    leaf = (
        _builder(name(HOSTNAME), ca.subject, public_key, spec.days_valid, spec.days_past)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(spec.key_usage), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return resigned_with_sha1(leaf, ca_key) if spec.sha1 else leaf


def write_pki(folder: Path) -> LabPki:
    """Make both CAs and one leaf per profile in ``folder`` (keys readable by owner only)."""
    pki = LabPki(folder=folder)
    # The untrusted CA is RSA so that it can sign the legacy leaf with SHA-1.
    trusted_key, untrusted_key = ec_key(), rsa_key(2048)
    issuers: dict[bool, tuple[Any, x509.Certificate]] = {
        True: (trusted_key, issue_ca("pytest-cryptoaudit lab CA", trusted_key)),
        False: (untrusted_key, issue_ca("pytest-cryptoaudit untrusted CA", untrusted_key)),
    }
    write(pki.ca_file, cert_pem(issuers[True][1]), mode=0o644)
    write(pki.untrusted_ca_file, cert_pem(issuers[False][1]), mode=0o644)
    for profile, spec in LEAVES.items():
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
            rsa_key(spec.key_bits) if spec.key_bits else ec_key())
        ca_key, ca = issuers[spec.trusted_issuer]
        leaf = issue_leaf(spec, key.public_key(), ca_key, ca)
        write(pki.chain_file(profile), cert_pem(leaf, ca), mode=0o644)
        write(pki.key_file(profile), private_pem(key))
    params = dh.DHParameterNumbers(RFC2409_GROUP2_PRIME, 2).parameters()
    write(pki.dh_params_file, params.parameter_bytes(
        serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3), mode=0o644)
    return pki
