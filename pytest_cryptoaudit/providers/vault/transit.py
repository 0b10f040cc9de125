"""Transit keys: one record per key, with its versions, rotation and export settings.

Only public facts are kept: the key type, version numbers and their creation times, the
key's settings and a fingerprint of the latest public key (asymmetric types). Transit never
returns symmetric key material on ``keys/NAME``, and nothing here asks for an export.
"""

from __future__ import annotations

import base64
import math
import re
from datetime import UTC, datetime
from typing import Any

from ...facts import KeyManager, KeyOrigin, KeyState, ManagedKeyFacts, ProtectionLevel, Rotation
from ...keyinfo import public_fingerprint
from .client import VaultReader, path_of

#: Fixed transit types: (algorithm, size in bits, curve); rsa-N and aesN-* are parsed.
FIXED_TYPES: dict[str, tuple[str, int, str | None]] = {
    "chacha20-poly1305": ("ChaCha20", 256, None),
    "xchacha20-poly1305": ("ChaCha20", 256, None),
    "ed25519": ("Ed25519", 256, None),
    "ecdsa-p256": ("EC", 256, "secp256r1"),
    "ecdsa-p384": ("EC", 384, "secp384r1"),
    "ecdsa-p521": ("EC", 521, "secp521r1"),
}
RSA_TYPE = re.compile(r"^rsa-(\d+)$")
AES_TYPE = re.compile(r"^aes(\d+)-[a-z0-9]+$")
SYMMETRIC_ALGORITHMS = {"AES", "ChaCha20", "HMAC"}
OPERATIONS = ("encryption", "decryption", "signing", "derivation")


def key_uid(system: str, mount: str, name: str) -> str:
    """``vault:<system>/<mount>/<name>``: readable, and unique across audited servers."""
    return f"vault:{system}/{mount.strip('/')}/{name}"


def normalize_type(key_type: str, data: dict[str, Any]) -> tuple[str, int, str | None] | None:
    """Normalized (algorithm, bits, curve) of a transit key type, or None if unknown."""
    if key_type in FIXED_TYPES:
        return FIXED_TYPES[key_type]
    if key_type == "hmac":
        size = data.get("key_size")
        return ("HMAC", int(size) * 8, None) if isinstance(size, int) and size > 0 else None
    for pattern, algorithm in ((RSA_TYPE, "RSA"), (AES_TYPE, "AES")):
        match = pattern.match(key_type)
        if match:
            return algorithm, int(match.group(1)), None
    return None


def read_key(reader: VaultReader, system: str, mount: str, name: str) -> dict[str, Any]:
    """KeyRecord fields (plus ``kind``) for one transit key; raises VaultReadError."""
    data = reader.get(path_of(mount, "keys", name))
    return key_fields(data, mount, name)


def key_fields(data: dict[str, Any], mount: str, name: str) -> dict[str, Any]:
    key_type = str(data.get("type", ""))
    versions = _version_times(data.get("keys"))
    fields: dict[str, Any] = {"unreadable": {}}
    normalized = normalize_type(key_type, data)
    if normalized is None:
        reason = f"transit key type {key_type!r} is not known to the audit"
        fields["unreadable"].update(algorithm=reason, size=reason)
        fields["kind"] = "secret-key"
    else:
        algorithm, size, curve = normalized
        fields.update(algorithm=algorithm, size=size, curve=curve)
        fields["kind"] = "secret-key" if algorithm in SYMMETRIC_ALGORITHMS else "private-key"
    fields.update(_times(versions, data, fields["unreadable"]))
    fields.update(_rotation(data))
    fields["fingerprint"] = _fingerprint(data, key_type)
    soft_deleted = bool(data.get("soft_deleted", False))
    fields["state"] = "deactivated" if soft_deleted else "active"
    fields["managed"] = managed_facts(data, soft_deleted, versions)
    operations = [op for op in OPERATIONS if data.get(f"supports_{op}")]
    fields["usage"] = tuple(operations)
    fields["attributes"] = _attributes(data, mount, name, key_type, versions, operations)
    if versions and min(versions) > 1:
        fields["attributes"]["created_source"] = (
            f"version {min(versions)}: earlier versions were trimmed")
    return fields


def _attributes(data: dict[str, Any], mount: str, name: str, key_type: str,
                versions: dict[int, datetime], operations: list[str]) -> dict[str, Any]:
    attributes = {
        "mount": mount.strip("/"),
        "name": name,
        "transit_type": key_type,
        "latest_version": data.get("latest_version"),
        "versions": {str(v): t.isoformat() for v, t in sorted(versions.items())},
        "supported_operations": operations,
    }
    for setting in ("min_decryption_version", "min_encryption_version", "min_available_version",
                    "exportable", "allow_plaintext_backup", "deletion_allowed", "soft_deleted",
                    "derived", "imported_key", "key_size"):
        if setting in data:
            attributes[setting] = data[setting]
    attributes["auto_rotate_period_seconds"] = int(data.get("auto_rotate_period") or 0)
    return attributes


def managed_facts(data: dict[str, Any], soft_deleted: bool,
                  versions: dict[int, datetime] | None = None) -> ManagedKeyFacts:
    """The managed-key facts of a transit key: the generic rotation checks judge
    ``auto_rotate_period`` (``rotation``, its last rotation the latest version's creation).
    ``access`` is added by discovery once the ACL policies are read (see ``access.py``)."""
    return ManagedKeyFacts(
        manager=KeyManager.CUSTOMER,
        origin=KeyOrigin.IMPORTED if data.get("imported_key") else KeyOrigin.GENERATED,
        protection=ProtectionLevel.SOFTWARE,
        state=KeyState.PENDING_DELETION if soft_deleted else KeyState.ENABLED,
        native_state="soft-deleted" if soft_deleted else "active",
        can_rotate=True,
        rotation=rotation_facts(data, versions or {}),
    )


def rotation_facts(data: dict[str, Any], versions: dict[int, datetime]) -> Rotation:
    """Automatic rotation as ``auto_rotate_period`` sets it (0 or absent: none); the period
    in whole days, rounded up so a period just over the limit is not read as within it."""
    period = int(data.get("auto_rotate_period") or 0)
    latest = data.get("latest_version")
    return Rotation(automatic=period > 0,
                    period_days=math.ceil(period / 86400) if period > 0 else None,
                    last=versions.get(latest) if isinstance(latest, int) else None)


def _version_times(keys: Any) -> dict[int, datetime]:
    """Version → creation time. Symmetric types give Unix seconds, asymmetric an object."""
    times: dict[int, datetime] = {}
    for version, value in (keys or {}).items():
        when = value.get("creation_time") if isinstance(value, dict) else value
        if isinstance(when, int | float):
            times[int(version)] = datetime.fromtimestamp(when, UTC)
        elif isinstance(when, str) and when:
            times[int(version)] = datetime.fromisoformat(when).astimezone(UTC)
    return times


def _times(versions: dict[int, datetime], data: dict[str, Any],
           unreadable: dict[str, str]) -> dict[str, Any]:
    latest = data.get("latest_version")
    if not versions or latest not in versions:
        reason = "the server reports no version creation times for this key type"
        unreadable.update(created=reason, rotated=reason)
        return {}
    return {"created": versions[min(versions)], "rotated": versions[latest]}


def _rotation(data: dict[str, Any]) -> dict[str, Any]:
    rotation = rotation_facts(data, {})
    return {"rotation_enabled": rotation.automatic,
            "rotation_period_days": rotation.period_days}


def _fingerprint(data: dict[str, Any], key_type: str) -> str | None:
    latest = (data.get("keys") or {}).get(str(data.get("latest_version")))
    public = latest.get("public_key") if isinstance(latest, dict) else None
    if not public:
        return None
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        if key_type == "ed25519":
            key: Any = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(public))
        else:
            key = serialization.load_pem_public_key(public.encode())
    except ValueError:
        return None
    return public_fingerprint(key)
