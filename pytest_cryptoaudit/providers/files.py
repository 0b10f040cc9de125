"""Key and certificate files: PEM, DER, OpenSSH, PKCS#12.

Each file is read once and parsed without ever keeping key material: an encrypted private
key is recorded as encrypted (with whatever its container reveals) without needing the
password. A file that cannot be read or parsed becomes one discovery error, and the run
goes on with the next file.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pydantic
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ..isolation import describe, must_propagate
from ..keyinfo import certificate_fields, describe_public_key, state_of_certificate
from ..model import SourceLocation
from ..pqoids import load_or_describe_by_oid
from . import Discovery, DiscoveryContext, Provider, ProviderOptions
from .file_paths import FolderErrors, ParseError, display, expand, read_bounded
from .openssh import openssh_private, ssh_public

PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL
)
SSH_PUBLIC = re.compile(rb"^(ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+) ([A-Za-z0-9+/=]+)", re.M)
PKCS12_SUFFIXES = (".p12", ".pfx")
_LEGACY_ALGORITHMS = {"RSA": "RSA", "EC": "EC", "DSA": "DSA"}


class FilesOptions(ProviderOptions):
    # An empty list would audit nothing and still count as a complete audit.
    paths: Annotated[list[Annotated[str, pydantic.Field(min_length=1)]],
                     pydantic.Field(min_length=1)]
    max_file_size: int = 1_048_576
    exclude: list[str] = []
    password_env: str | None = None
    pkcs12_password_env: str | None = None


class FilesProvider(Provider):
    """Discovers keys and certificates in files and folders named by ``paths``."""

    name = "files"
    component = "key-files"
    Options = FilesOptions

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: FilesOptions = system.options
        attempt = self.new_discovery(system, paths=list(options.paths))
        for pattern in options.paths:
            matched = False
            unreadable = FolderErrors(attempt, context.base_dir)
            for path in expand(context.base_dir, pattern, options.exclude, unreadable):
                matched = True
                read_file(attempt, path, context, options)
                context.progress(system.name, len(attempt.keys), len(attempt.errors))
            if not matched and not unreadable.count:
                attempt.error(f"path {pattern!r} matched no file")
        return attempt


def read_file(attempt: Discovery, path: Path, context: DiscoveryContext,
              options: FilesOptions) -> None:
    """Add the keys and certificates of one file to ``attempt``, or one error naming the
    file: whatever reading, parsing or recording it throws (even a Rust panic) stays here."""
    uid = "files:" + display(path, context.base_dir)
    location = SourceLocation(path=Path(display(path, context.base_dir)).as_posix())
    found = dataclasses.replace(attempt, keys=[], errors=[], endpoints=[])
    try:
        data, file_facts = read_bounded(path, options.max_file_size)
        objects = list(_parse(data, path, options))
        for index, (kind, fields) in enumerate(objects, start=1):
            key_uid = uid if len(objects) == 1 else f"{uid}#{index}"
            found.add_key(key_uid, kind, location=location,
                          **_with_file_facts(kind, fields, file_facts, index, context))
    except BaseException as exc:  # whatever a parser throws on one file, even a panic
        if must_propagate(exc):
            raise
        attempt.error(f"{display(path, context.base_dir)}: {_reason(exc)}", key_uid=uid,
                      location=location)
        return
    attempt.keys.extend(found.keys)


def _with_file_facts(kind: str, fields: dict[str, Any], file_facts: dict[str, Any],
                     index: int, context: DiscoveryContext) -> dict[str, Any]:
    fields["attributes"] = {**file_facts, **fields.get("attributes", {}), "object_index": index}
    if kind != "certificate":
        # A key file carries no creation date; its modification time is the best evidence
        # of when the key was (re)written, and is labelled as such.
        fields["created"] = datetime.fromisoformat(file_facts["file_mtime"])
        fields["attributes"]["created_source"] = "file modification time"
    if fields.get("certificate") is not None:
        fields["state"] = state_of_certificate(fields["certificate"], context.now)
    return fields


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if isinstance(exc, ParseError | ValueError):
        return str(exc)
    return f"cannot parse: {describe(exc)}"


def _parse(data: bytes, path: Path, options: FilesOptions) -> Iterator[tuple[str, dict[str, Any]]]:
    if not data.strip():
        raise ParseError("empty file")
    blocks = PEM_BLOCK.findall(data)
    if blocks:
        yield from _parse_pem_blocks(data, blocks, options)
        return
    if data.lstrip().startswith(b"-----BEGIN"):
        raise ParseError("truncated or malformed PEM (no matching END line)")
    ssh_keys = SSH_PUBLIC.findall(data)
    if ssh_keys:
        for key_type, blob in ssh_keys:
            yield "public-key", ssh_public(key_type, blob)
        return
    yield from _parse_der(data, path, options)


def _password(variable: str | None) -> bytes | None:
    value = os.environ.get(variable) if variable else None
    return value.encode() if value is not None else None


def _parse_pem_blocks(data: bytes, blocks: list[tuple[bytes, bytes]],
                      options: FilesOptions) -> Iterator[tuple[str, dict[str, Any]]]:
    found = False
    for label_bytes, body in blocks:
        label = label_bytes.decode()
        block = b"-----BEGIN %s-----\n%s-----END %s-----\n" % (label_bytes, body, label_bytes)
        parsed = _parse_pem(label, block, body, options)
        if parsed is not None:
            found = True
            yield parsed
    if not found:
        labels = ", ".join(sorted({b[0].decode() for b in blocks}))
        raise ParseError(f"no key or certificate found (PEM blocks: {labels})")


def _parse_pem(label: str, block: bytes, body: bytes,
               options: FilesOptions) -> tuple[str, dict[str, Any]] | None:
    try:
        if label in ("CERTIFICATE", "TRUSTED CERTIFICATE"):
            return "certificate", _certificate(x509.load_pem_x509_certificate(block), "PEM")
        if label in ("PUBLIC KEY", "RSA PUBLIC KEY"):
            return "public-key", load_or_describe_by_oid(
                lambda: _public(serialization.load_pem_public_key(block), "PEM"), block)
        if label == "OPENSSH PRIVATE KEY":
            return "private-key", openssh_private(body)
        if label == "PRIVATE KEY":
            return "private-key", load_or_describe_by_oid(
                lambda: _pem_private(label, block, body, options), block)
        if label.endswith("PRIVATE KEY"):
            return "private-key", _pem_private(label, block, body, options)
    except ValueError as exc:
        raise ParseError(f"malformed {label}: {exc}") from None
    return None


def _certificate(cert: x509.Certificate, container: str) -> dict[str, Any]:
    fields = certificate_fields(cert)
    fields["attributes"] = {**fields["attributes"], "format": container}
    return fields


def _public(public_key: Any, container: str) -> dict[str, Any]:
    return {**describe_public_key(public_key), "attributes": {"format": container}}


def _private(private_key: Any, container: str, encrypted: bool) -> dict[str, Any]:
    fields = describe_public_key(private_key.public_key())
    return {**fields, "attributes": {"format": container, "encrypted": encrypted}}


def _encrypted_unknown(container: str, algorithm: str | None,
                       variable: str | None) -> dict[str, Any]:
    reason = ("the key is encrypted; set password_env to let the audit read it"
              if variable is None
              else f"the key is encrypted and {variable} (password_env) is not set")
    unreadable = {"size": reason}
    if algorithm is None:
        unreadable["algorithm"] = reason
    return {"algorithm": algorithm, "unreadable": unreadable,
            "attributes": {"format": container, "encrypted": True}}


def _pem_private(label: str, block: bytes, body: bytes,
                 options: FilesOptions) -> dict[str, Any]:
    legacy_encrypted = b"Proc-Type: 4,ENCRYPTED" in body
    encrypted = label == "ENCRYPTED PRIVATE KEY" or legacy_encrypted
    password = _password(options.password_env) if encrypted else None
    if encrypted and password is None:
        return _encrypted_unknown("PEM", _LEGACY_ALGORITHMS.get(label.split()[0]),
                                  options.password_env)
    try:
        key = serialization.load_pem_private_key(block, password=password)
    except TypeError as exc:
        raise ParseError(f"cannot open {label}: {exc}") from None
    return _private(key, "PEM", encrypted)


def _parse_der(data: bytes, path: Path,
               options: FilesOptions) -> Iterator[tuple[str, dict[str, Any]]]:
    if path.suffix.lower() in PKCS12_SUFFIXES:
        yield from _parse_pkcs12(data, options)
        return
    try:
        cert = x509.load_der_x509_certificate(data)
        yield "certificate", _certificate(cert, "DER")
        return
    except ValueError:
        pass
    try:
        yield "private-key", _private(serialization.load_der_private_key(data, None), "DER",
                                      False)
        return
    except TypeError:  # cryptography: "Password was not given but private key is encrypted"
        yield "private-key", _der_encrypted(data, options)
        return
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        yield "public-key", _public(serialization.load_der_public_key(data), "DER")
        return
    except (ValueError, UnsupportedAlgorithm):
        pass
    raise ParseError("no key or certificate found (not PEM, DER, OpenSSH or PKCS#12)")


def _der_encrypted(data: bytes, options: FilesOptions) -> dict[str, Any]:
    password = _password(options.password_env)
    if password is None:
        return _encrypted_unknown("DER", None, options.password_env)
    return _private(serialization.load_der_private_key(data, password), "DER", True)


def _parse_pkcs12(data: bytes, options: FilesOptions) -> Iterator[tuple[str, dict[str, Any]]]:
    password = _password(options.pkcs12_password_env)
    try:
        bundle = pkcs12.load_pkcs12(data, password)
    except ValueError:
        hint = _pkcs12_hint(password, options.pkcs12_password_env)
        raise ParseError(f"cannot open PKCS#12 bundle ({hint})") from None
    if bundle.key is not None:
        yield "private-key", _private(bundle.key, "PKCS12", encrypted=bool(password))
    certs = [bundle.cert] if bundle.cert is not None else []
    certs += list(bundle.additional_certs)
    for cert in certs:
        yield "certificate", _certificate(cert.certificate, "PKCS12")


def _pkcs12_hint(password: bytes | None, variable: str | None) -> str:
    if password is not None:
        return "wrong password"
    if variable is None:
        return "set pkcs12_password_env to the variable that holds its password"
    return f"{variable} (pkcs12_password_env) is not set"
