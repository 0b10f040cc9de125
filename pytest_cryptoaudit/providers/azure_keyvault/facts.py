"""Key Vault answers as record fields and managed-key facts (no network).

The discovery passes the SDK's model objects (``KeyVaultKey``, ``KeyProperties``,
``KeyRotationPolicy``, ``DeletedKey``); these functions read only their documented
attributes, so the generic managed-key controls judge Key Vault keys as they judge any.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ...facts import (
    Deletion,
    KeyManager,
    KeyOrigin,
    KeyState,
    ManagedKeyFacts,
    ProtectionLevel,
    Rotation,
)
from .options import PURGE_PROTECTED

#: JWK curve names as the curve names records use.
CURVES = {"P-256": ("secp256r1", 256), "P-384": ("secp384r1", 384),
          "P-521": ("secp521r1", 521), "P-256K": ("secp256k1", 256)}
#: The tag by which an estate declares imported (BYOK) material: Key Vault's API keeps no
#: record of whether a key's material was generated in the vault or imported.
ORIGIN_TAG = "cryptoaudit:origin"
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")


def text(value: Any) -> str:
    """An SDK enum or string as its plain value."""
    return str(getattr(value, "value", value or ""))


def is_managed_hsm(vault_url: str) -> bool:
    """A Managed HSM (dedicated, single-tenant HSM pool) rather than a vault."""
    return ".managedhsm." in (urlsplit(vault_url).hostname or "")


def duration_days(value: str | None) -> int | None:
    """Days of an ISO 8601 duration of years, months and days (``P90D``, ``P1Y``); the
    durations Key Vault accepts in rotation policies. None if absent or not of that form."""
    match = _DURATION.match(value or "")
    if not value or not match or not any(match.groups()):
        return None
    years, months, days = (int(group or 0) for group in match.groups())
    return years * 365 + months * 30 + days


def utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def key_size(key: Any) -> tuple[str | None, int | None, str | None, str | None]:
    """(algorithm, size in bits, curve, why unreadable) of a key's JWK; never keeps it."""
    kty = text(key.key_type)
    jwk = key.key
    if kty.startswith("RSA"):
        modulus = jwk.n or b""
        if isinstance(modulus, str):
            modulus = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
        size = int.from_bytes(modulus, "big").bit_length() if modulus else None
        return "RSA", size, None, None if size else "Key Vault returned no RSA modulus"
    if kty.startswith("EC"):
        curve = CURVES.get(text(jwk.crv))
        if curve is None:
            return "EC", None, None, f"unknown curve {text(jwk.crv)!r}"
        return "EC", curve[1], curve[0], None
    if kty.startswith("oct"):
        return "AES", None, None, "Key Vault does not report the size of symmetric keys"
    return None, None, None, f"unknown key type {kty!r}"


def kind_of(kty: str) -> str:
    return "secret-key" if kty.startswith("oct") else "private-key"


def protection_of(kty: str, vault_url: str, managed_hsm: bool | None = None) -> ProtectionLevel:
    """``managed_hsm``: whether ARM lists the URL as a Managed HSM (None: by its host name)."""
    in_hsm = is_managed_hsm(vault_url) if managed_hsm is None else managed_hsm
    return ProtectionLevel.HSM if kty.endswith("-HSM") or in_hsm else ProtectionLevel.SOFTWARE


def origin_of(tags: dict[str, str], vault_url: str, managed_hsm: bool | None = None
              ) -> KeyOrigin:
    if tags.get(ORIGIN_TAG) == KeyOrigin.IMPORTED.value:
        return KeyOrigin.IMPORTED
    in_hsm = is_managed_hsm(vault_url) if managed_hsm is None else managed_hsm
    return KeyOrigin.HSM if in_hsm else KeyOrigin.GENERATED


def state_of(properties: Any, deleted: bool, now: datetime) -> tuple[KeyState, str, str]:
    """(shared state, the service's word for it, CycloneDX state)."""
    expires = utc(properties.expires_on)
    not_before = utc(properties.not_before)
    if deleted:
        return KeyState.PENDING_DELETION, "Deleted (recoverable)", "deactivated"
    if not properties.enabled:
        return KeyState.DISABLED, "Disabled", "suspended"
    if expires is not None and expires <= now:
        return KeyState.ENABLED, f"Expired {expires:%Y-%m-%d}", "deactivated"
    if not_before is not None and not_before > now:
        return KeyState.ENABLED, f"Not yet valid (nbf {not_before:%Y-%m-%d})", "pre-activation"
    return KeyState.ENABLED, "Enabled", "active"


def rotation_of(policy: Any, current_created: datetime | None) -> tuple[Rotation, dict[str, Any]]:
    """The rotation a policy makes, and its raw terms as attributes.

    Only a ``Rotate`` lifetime action rotates; a policy of ``Notify`` actions (the default
    of a key without one) only emails. The period is ``timeAfterCreate``, or the policy's
    ``expiryTime`` less ``timeBeforeExpiry``."""
    actions, rotate_days = [], []
    for action in policy.lifetime_actions or ():
        kind = text(action.action)
        after, before = action.time_after_create, action.time_before_expiry
        actions.append(" ".join(filter(None, (kind, after and f"after create {after}",
                                              before and f"before expiry {before}"))))
        if kind.lower() == "rotate":
            days = duration_days(after)
            expiry, lead = duration_days(policy.expires_in), duration_days(before)
            if days is None and expiry is not None and lead is not None:
                days = expiry - lead
            rotate_days.append(days)
    automatic = bool(rotate_days)
    known = [days for days in rotate_days if days is not None]
    period = min(known) if known else None
    following = (current_created + timedelta(days=period)
                 if automatic and period and current_created else None)
    attributes = {"rotation_policy_actions": actions or ["(none)"],
                  "rotation_policy_expiry": policy.expires_in}
    return (Rotation(automatic=automatic, period_days=period if automatic else None,
                     last=current_created, next=following),
            {k: v for k, v in attributes.items() if v is not None})


def recovery_attributes(properties: Any) -> dict[str, Any]:
    level = text(properties.recovery_level)
    found = {"recovery_level": level or None,
             "recoverable_days": properties.recoverable_days,
             "soft_delete": "Recoverable" in level if level else None,
             "purge_protection": level in PURGE_PROTECTED if level else None}
    return {name: value for name, value in found.items() if value is not None}


def base_fields(key: Any, vault_url: str, now: datetime, deleted: Any = None,
                managed_hsm: bool | None = None) -> dict[str, Any]:
    """KeyRecord fields of a key (rotation and versions come later); ``managed_hsm`` says
    whether ARM lists the URL as a Managed HSM (None: told by the host name)."""
    in_hsm = is_managed_hsm(vault_url) if managed_hsm is None else managed_hsm
    properties = key.properties
    kty = text(key.key_type)
    algorithm, size, curve, why = key_size(key)
    tags = dict(properties.tags or {})
    state, native, cyclonedx = state_of(properties, deleted is not None, now)
    unreadable = {"algorithm": why, "size": why} if why and algorithm is None else (
        {"size": why} if why else {})
    if properties.created_on is None:
        unreadable["created"] = "Key Vault did not report the key's creation time"
    attributes = {"vault": vault_url, "kty": sys.intern(kty), "key_version": properties.version,
                  "managed_by_certificate": bool(properties.managed),
                  **recovery_attributes(properties)}
    not_before = utc(properties.not_before)
    if not_before is not None:
        attributes["not_before"] = not_before.isoformat()
    origin = origin_of(tags, vault_url, in_hsm)
    facts: dict[str, Any] = {
        "manager": KeyManager.CUSTOMER,
        "origin": origin,
        "protection": protection_of(kty, vault_url, in_hsm),
        "state": state, "native_state": native,
        # A certificate's key is renewed with the certificate, not by a rotation policy.
        "can_rotate": not properties.managed and deleted is None,
        # The Managed HSM is the key's dedicated store: its pool must be active to use it.
        "key_store": urlsplit(vault_url).netloc if in_hsm else None,
    }
    if deleted is not None:
        facts["deletion"] = Deletion(utc(deleted.scheduled_purge_date),
                                     properties.recoverable_days)
    if origin is KeyOrigin.IMPORTED:
        facts["material_expires"] = properties.expires_on is not None
    return {
        "algorithm": algorithm, "size": size, "curve": curve,
        "usage": tuple(sys.intern(text(op)) for op in key.key_operations or ()),
        "state": cyclonedx, "origin": origin.value,
        "created": utc(properties.created_on), "expires": utc(properties.expires_on),
        "tags": tags, "attributes": attributes, "unreadable": unreadable,
        "facts": facts,
    }


def latest_rotation(versions: Iterable[Any]) -> tuple[int, datetime | None]:
    """How many versions, and when the newest was made if there is more than one."""
    created = sorted(v.created_on.astimezone(UTC) for v in versions
                     if v.created_on is not None)
    return len(created), (created[-1] if len(created) > 1 else None)


def managed_facts(facts: dict[str, Any], **more: Any) -> ManagedKeyFacts:
    return ManagedKeyFacts(**{**facts, **more})
