"""OpenSSH keys: the cleartext header of a private key file and ``ssh-*`` public key lines.

Nothing here needs a passphrase: the public half and the cipher name of an OpenSSH private
key are stored in clear before the encrypted section.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from ..keyinfo import describe_public_key
from .file_paths import ParseError


def _read_ssh_string(blob: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(blob):
        raise ParseError("truncated OpenSSH private key")
    length = int.from_bytes(blob[offset:offset + 4], "big")
    end = offset + 4 + length
    if end > len(blob):
        raise ParseError("truncated OpenSSH private key")
    return blob[offset + 4:end], end


def openssh_private(body: bytes) -> dict[str, Any]:
    """Read the cleartext header of an OpenSSH key: cipher and public key, no password needed."""
    try:
        blob = base64.b64decode(b"".join(body.split()), validate=True)
    except ValueError:
        raise ParseError("malformed OPENSSH PRIVATE KEY (bad base64)") from None
    magic = b"openssh-key-v1\0"
    if not blob.startswith(magic):
        raise ParseError("malformed OPENSSH PRIVATE KEY (bad magic)")
    cipher, offset = _read_ssh_string(blob, len(magic))
    _kdf, offset = _read_ssh_string(blob, offset)
    _kdf_options, offset = _read_ssh_string(blob, offset)
    offset += 4  # number of keys
    public_blob, _ = _read_ssh_string(blob, offset)
    key_type, _ = _read_ssh_string(public_blob, 0)
    fields = ssh_public(key_type, base64.b64encode(public_blob))
    fields["attributes"] = {"format": "OpenSSH", "encrypted": cipher != b"none",
                            "cipher": cipher.decode(errors="replace")}
    return fields


def ssh_public(key_type: bytes, blob: bytes) -> dict[str, Any]:
    try:
        key = serialization.load_ssh_public_key(key_type + b" " + blob)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ParseError(f"malformed SSH public key: {exc}") from None
    return {**describe_public_key(key), "attributes": {"format": "OpenSSH"}}
