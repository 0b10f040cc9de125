"""Turn DescribeKey metadata into normalized record fields (no network, no boto3)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

#: KeySpec -> (algorithm, size in bits, curve). ML-DSA sizes are NIST security strengths.
KEY_SPECS: Mapping[str, tuple[str, int, str | None]] = {
    "SYMMETRIC_DEFAULT": ("AES", 256, None),
    "RSA_2048": ("RSA", 2048, None),
    "RSA_3072": ("RSA", 3072, None),
    "RSA_4096": ("RSA", 4096, None),
    "ECC_NIST_P256": ("EC", 256, "secp256r1"),
    "ECC_NIST_P384": ("EC", 384, "secp384r1"),
    "ECC_NIST_P521": ("EC", 521, "secp521r1"),
    "ECC_SECG_P256K1": ("EC", 256, "secp256k1"),
    "ECC_NIST_EDWARDS25519": ("Ed25519", 256, None),
    "HMAC_224": ("HMAC", 224, None),
    "HMAC_256": ("HMAC", 256, None),
    "HMAC_384": ("HMAC", 384, None),
    "HMAC_512": ("HMAC", 512, None),
    "SM2": ("SM2", 256, "sm2"),
    "ML_DSA_44": ("ML-DSA", 128, None),
    "ML_DSA_65": ("ML-DSA", 192, None),
    "ML_DSA_87": ("ML-DSA", 256, None),
}

#: AWS key states as CycloneDX key states (the AWS value is kept as ``key_state``).
STATES = {
    "Enabled": "active", "Updating": "active", "Creating": "pre-activation",
    "PendingImport": "pre-activation", "Disabled": "suspended", "Unavailable": "suspended",
    "PendingDeletion": "deactivated", "PendingReplicaDeletion": "deactivated",
}

#: AWS origins as normalized origins (the AWS value is kept as ``aws_origin``).
ORIGINS = {"AWS_KMS": "generated", "AWS_CLOUDHSM": "generated", "EXTERNAL": "imported",
           "EXTERNAL_KEY_STORE": "external"}

PENDING_DELETION = ("PendingDeletion", "PendingReplicaDeletion")
#: States in which KMS does not answer rotation questions (the key cannot be used).
NO_ROTATION_STATES = (*PENDING_DELETION, "PendingImport", "Unavailable", "Creating")


def family(key_spec: str) -> str:
    """The policy family of a key spec: symmetric, rsa, ecc, hmac or other."""
    if key_spec == "SYMMETRIC_DEFAULT":
        return "symmetric"
    prefix = key_spec.split("_")[0].lower()
    return prefix if prefix in ("rsa", "ecc", "hmac") else "other"


#: Why a key's spec is unknown when DescribeKey reports neither field.
SPEC_MISSING = "DescribeKey reported neither KeySpec nor CustomerMasterKeySpec"
#: Usages only asymmetric keys have (HMAC keys GENERATE_VERIFY_MAC; ENCRYPT_DECRYPT is either).
ASYMMETRIC_USAGES = ("SIGN_VERIFY", "KEY_AGREEMENT")


def spec_of(metadata: Mapping[str, Any]) -> str | None:
    """The key spec; ``CustomerMasterKeySpec`` is its deprecated name, still answered."""
    spec = metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec")
    return spec if isinstance(spec, str) else None


def kind_of(key_spec: str | None, usage: str | None = None) -> str:
    """secret-key or private-key. With no spec only a signing or key-agreement usage proves
    a private key; otherwise the key is taken as secret, the class with the shorter
    cryptoperiod, so that the guess never judges its age more leniently."""
    if key_spec is None:
        return "private-key" if usage in ASYMMETRIC_USAGES else "secret-key"
    return "secret-key" if family(key_spec) in ("symmetric", "hmac") else "private-key"


def rotates(metadata: Mapping[str, Any]) -> bool:
    """Whether KMS can rotate the key automatically: symmetric, generated in KMS itself."""
    return (spec_of(metadata) == "SYMMETRIC_DEFAULT"
            and metadata.get("Origin") == "AWS_KMS"
            and metadata.get("KeyState") not in NO_ROTATION_STATES)


def may_rotate(metadata: Mapping[str, Any]) -> bool:
    """Whether KMS rotates the key, or might: with its spec unreported, a key that no usage
    proves asymmetric keeps its rotation checks, which then error for the missing spec."""
    if spec_of(metadata) is not None or metadata.get("KeyUsage") in ASYMMETRIC_USAGES:
        return rotates(metadata)
    return (metadata.get("Origin") == "AWS_KMS"
            and metadata.get("KeyState") not in NO_ROTATION_STATES)


def utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _text(value: str | None) -> str | None:
    # Thousands of records repeat the same few strings: share one copy of each.
    return sys.intern(value) if isinstance(value, str) else None


def algorithm_fields(key_spec: str | None) -> dict[str, Any]:
    """algorithm, size and curve of a key spec; an unknown spec is unreadable, not guessed."""
    known = KEY_SPECS.get(key_spec or "")
    if known is None:
        reason = f"unknown KMS key spec {key_spec!r}"
        return {"unreadable": {"algorithm": reason, "size": reason}}
    algorithm, size, curve = known
    return {"algorithm": algorithm, "size": size, "curve": curve}


def metadata_attributes(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The provider attributes read from DescribeKey; absent facts are left out."""
    origin = metadata.get("Origin")
    multi = metadata.get("MultiRegionConfiguration") or {}
    deletion = utc(metadata.get("DeletionDate"))
    store = "EXTERNAL_KEY_STORE" if origin == "EXTERNAL_KEY_STORE" else (
        "AWS_CLOUDHSM" if origin == "AWS_CLOUDHSM" else "AWS_KMS")
    attributes = {
        "account": _text(metadata.get("AWSAccountId")),
        "key_manager": _text(metadata.get("KeyManager")),
        "key_spec": _text(spec_of(metadata)),
        "key_state": _text(metadata.get("KeyState")),
        "aws_origin": _text(origin),
        "key_store": sys.intern(store),
        "multi_region": bool(metadata.get("MultiRegion", False)),
        "multi_region_type": _text(multi.get("MultiRegionKeyType")),
        "custom_key_store_id": metadata.get("CustomKeyStoreId"),
        "cloudhsm_cluster_id": metadata.get("CloudHsmClusterId"),
        "xks_key_id": (metadata.get("XksKeyConfiguration") or {}).get("Id"),
        "expiration_model": _text(metadata.get("ExpirationModel")),
        "deletion_date": deletion.isoformat() if deletion else None,
        "pending_deletion_window_days": metadata.get("PendingDeletionWindowInDays"),
    }
    return {name: value for name, value in attributes.items() if value is not None}


def record_fields(metadata: Mapping[str, Any], region: str) -> dict[str, Any]:
    """KeyRecord fields from DescribeKey's KeyMetadata (rotation, tags, policy come later)."""
    spec = spec_of(metadata)
    fields = algorithm_fields(spec)
    usage = metadata.get("KeyUsage")
    unreadable = dict(fields.pop("unreadable", {}))
    if spec is None:
        _spec_unknown(metadata, unreadable)
    if usage is None:
        unreadable["usage"] = "DescribeKey did not report KeyUsage"
    state = metadata.get("KeyState")
    fields.update(
        usage=(sys.intern(usage),) if usage else (),
        state=STATES.get(state or "", _text(state)),
        origin=ORIGINS.get(metadata.get("Origin") or ""),
        created=utc(metadata.get("CreationDate")),
        expires=utc(metadata.get("ValidTo")),
        attributes={**metadata_attributes(metadata), "region": sys.intern(region)},
        unreadable=unreadable,
    )
    if fields["created"] is None:
        unreadable["created"] = "DescribeKey did not report CreationDate"
    return fields


def _spec_unknown(metadata: Mapping[str, Any], unreadable: dict[str, str]) -> None:
    # The key may be symmetric: its rotation checks stay and error rather than vanish.
    unreadable["key_spec"] = SPEC_MISSING
    if metadata.get("KeyUsage") not in ASYMMETRIC_USAGES:
        why = f"cannot tell whether KMS rotates this key: {SPEC_MISSING}"
        unreadable.update(rotation_enabled=why, rotation_period_days=why)


def latest_rotation(rotations: Iterable[Mapping[str, Any]]) -> datetime | None:
    """The date of the most recent rotation (automatic or on demand), if any."""
    dates = [r["RotationDate"] for r in rotations if r.get("RotationDate") is not None]
    return utc(max(dates)) if dates else None
