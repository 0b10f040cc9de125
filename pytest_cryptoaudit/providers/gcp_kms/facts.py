"""Cloud KMS answers as record fields and managed-key facts: crypto keys, their versions and
the IAM policies of key and key ring.

Pure functions (no network, no SDK): the discovery passes plain values read from the SDK's
messages (enum names, datetimes, durations in seconds, ``(role, members, conditional)``
bindings), and the generic controls judge the facts built here.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ...facts import (
    Action,
    Deletion,
    Grant,
    ImportWrapping,
    KeyManager,
    KeyOrigin,
    KeyState,
    ManagedKeyFacts,
    PrincipalKind,
    ProtectionLevel,
    Rotation,
)

DAY = 86400
#: Algorithm of a version -> (algorithm, size in bits, curve). ML-DSA sizes are NIST
#: security strengths, as for the AWS specs.
ALGORITHMS: Mapping[str, tuple[str, int, str | None]] = {
    "GOOGLE_SYMMETRIC_ENCRYPTION": ("AES", 256, None),
    "EXTERNAL_SYMMETRIC_ENCRYPTION": ("AES", 256, None),
    **{f"AES_{bits}_{mode}": ("AES", bits, None)
       for bits in (128, 256) for mode in ("GCM", "CBC", "CTR")},
    **{f"RSA_{kind}_{bits}_{digest}": ("RSA", bits, None)
       for kind in ("SIGN_PSS", "SIGN_PKCS1", "DECRYPT_OAEP") for bits in (2048, 3072, 4096)
       for digest in ("SHA256", "SHA512", "SHA1")},
    **{f"RSA_SIGN_RAW_PKCS1_{bits}": ("RSA", bits, None) for bits in (2048, 3072, 4096)},
    "EC_SIGN_P256_SHA256": ("EC", 256, "secp256r1"),
    "EC_SIGN_P384_SHA384": ("EC", 384, "secp384r1"),
    "EC_SIGN_SECP256K1_SHA256": ("EC", 256, "secp256k1"),
    "EC_SIGN_ED25519": ("Ed25519", 256, None),
    **{f"HMAC_{name}": ("HMAC", bits, None)
       for name, bits in (("SHA1", 160), ("SHA224", 224), ("SHA256", 256), ("SHA384", 384),
                          ("SHA512", 512))},
    "PQ_SIGN_ML_DSA_44": ("ML-DSA", 128, None),
    "PQ_SIGN_ML_DSA_65": ("ML-DSA", 192, None),
    "PQ_SIGN_ML_DSA_87": ("ML-DSA", 256, None),
    "ML_KEM_768": ("ML-KEM", 192, None),
    "ML_KEM_1024": ("ML-KEM", 256, None),
}
SECRET_PURPOSES = frozenset({"ENCRYPT_DECRYPT", "RAW_ENCRYPT_DECRYPT", "MAC"})
PROTECTION = {"SOFTWARE": ProtectionLevel.SOFTWARE, "HSM": ProtectionLevel.HSM,
              "HSM_SINGLE_TENANT": ProtectionLevel.HSM,
              "EXTERNAL": ProtectionLevel.EXTERNAL, "EXTERNAL_VPC": ProtectionLevel.EXTERNAL}
#: Version states in the order that decides the key's state: the first present wins.
STATE_ORDER: tuple[tuple[str, KeyState], ...] = (
    ("ENABLED", KeyState.ENABLED), ("PENDING_GENERATION", KeyState.CREATING),
    ("PENDING_IMPORT", KeyState.PENDING_IMPORT), ("DISABLED", KeyState.DISABLED),
    ("DESTROY_SCHEDULED", KeyState.PENDING_DELETION),
    ("PENDING_EXTERNAL_DESTRUCTION", KeyState.PENDING_DELETION),
    ("IMPORT_FAILED", KeyState.UNAVAILABLE), ("GENERATION_FAILED", KeyState.UNAVAILABLE),
    ("EXTERNAL_DESTRUCTION_FAILED", KeyState.UNAVAILABLE), ("DESTROYED", KeyState.DESTROYED),
)
CYCLONEDX_STATES = {KeyState.ENABLED: "active", KeyState.CREATING: "pre-activation",
                    KeyState.PENDING_IMPORT: "pre-activation", KeyState.DISABLED: "suspended",
                    KeyState.UNAVAILABLE: "suspended", KeyState.PENDING_DELETION: "deactivated",
                    KeyState.DESTROYED: "destroyed"}

USE, MANAGE, DELETE, GRANT = Action.USE, Action.MANAGE, Action.DELETE, Action.GRANT
#: Predefined roles in the shared action vocabulary; viewer roles are none. A custom role's
#: permissions are not read, so it maps to no action and is named in the grant's ref.
ROLES: Mapping[str, tuple[Action, ...]] = {
    "roles/cloudkms.admin": (MANAGE, DELETE, GRANT),
    "roles/cloudkms.importer": (MANAGE,),
    **dict.fromkeys((
        "roles/cloudkms.cryptoKeyEncrypterDecrypter", "roles/cloudkms.cryptoKeyEncrypter",
        "roles/cloudkms.cryptoKeyDecrypter", "roles/cloudkms.signerVerifier",
        "roles/cloudkms.signer", "roles/cloudkms.verifier", "roles/cloudkms.macSigner",
        "roles/cloudkms.macVerifier", "roles/cloudkms.cryptoOperator",
        "roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation",
        "roles/cloudkms.cryptoKeyEncrypterViaDelegation",
        "roles/cloudkms.cryptoKeyDecrypterViaDelegation",
        "roles/cloudkms.cryptoKeyDecapsulator"), (USE,)),
    "roles/owner": (USE, MANAGE, DELETE, GRANT),
    "roles/editor": (USE, MANAGE, DELETE),
    # Predefined roles that only read: no action on a key (and no "permissions not read").
    **dict.fromkeys(("roles/cloudkms.viewer", "roles/cloudkms.publicKeyViewer",
                     "roles/viewer", "roles/browser", "roles/iam.securityReviewer"), ()),
}
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
#: Google-managed service agents act for a Google service inside the customer's project.
SERVICE_AGENT_DOMAINS = (".gserviceaccount.com",)


@dataclasses.dataclass(frozen=True)
class Version:
    """What the audit keeps of one crypto key version."""

    name: str
    state: str
    protection: str
    algorithm: str
    created: datetime | None = None
    destroy_time: datetime | None = None
    import_job: str = ""


@dataclasses.dataclass(frozen=True)
class Binding:
    """One IAM binding: a role, its members, and whether a condition narrows it."""

    role: str
    members: tuple[str, ...]
    conditional: bool = False


def kind_of(purpose: str) -> str:
    return "secret-key" if purpose in SECRET_PURPOSES else "private-key"


def algorithm_fields(algorithm: str) -> dict[str, Any]:
    """algorithm, size and curve; an unknown algorithm is unreadable, never guessed."""
    known = ALGORITHMS.get(algorithm)
    if known is None:
        reason = f"unknown Cloud KMS algorithm {algorithm!r}"
        return {"unreadable": {"algorithm": reason, "size": reason}}
    name, size, curve = known
    return {"algorithm": name, "size": size, "curve": curve}


def key_state(primary: Version | None, versions: Sequence[Version]) -> tuple[KeyState, str]:
    """The shared state and the service's word for it: the primary version's state where the
    key has one (symmetric keys), else the most usable state among its versions."""
    if primary is not None:
        return _state(primary.state), primary.state
    present = {version.state for version in versions}
    for native, state in STATE_ORDER:
        if native in present:
            return state, native
    return KeyState.DESTROYED, "NO_VERSIONS"


def _state(native: str) -> KeyState:
    return dict(STATE_ORDER).get(native, KeyState.UNAVAILABLE)


def days(seconds: float | None) -> int | None:
    """Whole days of a duration, rounded up (a 90.5-day period is longer than 90 days)."""
    return None if seconds is None else math.ceil(seconds / DAY)


def origin_of(protection: str, import_only: bool, versions: Iterable[Version]) -> KeyOrigin:
    if PROTECTION.get(protection) is ProtectionLevel.EXTERNAL:
        return KeyOrigin.EXTERNAL
    if import_only or any(version.import_job for version in versions):
        return KeyOrigin.IMPORTED
    return KeyOrigin.GENERATED


@dataclasses.dataclass(frozen=True)
class KeyAnswer:
    """A crypto key as read: the fields of ``CryptoKey`` the audit uses, and its versions."""

    name: str
    purpose: str
    protection: str
    template_algorithm: str
    created: datetime | None
    labels: Mapping[str, str]
    import_only: bool
    rotation_seconds: float | None
    next_rotation: datetime | None
    destroy_scheduled_seconds: float | None
    backend: str
    primary: Version | None
    versions: tuple[Version, ...]


def rotation_of(key: KeyAnswer, last: datetime | None) -> Rotation:
    """Automatic rotation needs both a period and a next rotation time (Cloud KMS rotates at
    ``nextRotationTime`` and advances it by ``rotationPeriod``)."""
    automatic = key.rotation_seconds is not None and key.next_rotation is not None
    return Rotation(automatic=automatic, period_days=days(key.rotation_seconds), last=last,
                    next=key.next_rotation)


def deletion_of(key: KeyAnswer, state: KeyState) -> Deletion | None:
    if state is not KeyState.PENDING_DELETION:
        return None
    when = [v.destroy_time for v in key.versions
            if v.state == "DESTROY_SCHEDULED" and v.destroy_time is not None]
    return Deletion(min(when) if when else None, days(key.destroy_scheduled_seconds))


def managed_facts(key: KeyAnswer, access: tuple[Grant, ...] | None) -> ManagedKeyFacts:
    state, native = key_state(key.primary, key.versions)
    protection = PROTECTION.get(key.protection, ProtectionLevel.SOFTWARE)
    origin = origin_of(key.protection, key.import_only, key.versions)
    can_rotate = (key.purpose == "ENCRYPT_DECRYPT" and origin is KeyOrigin.GENERATED
                  and protection is not ProtectionLevel.EXTERNAL)
    external = protection is ProtectionLevel.EXTERNAL
    return ManagedKeyFacts(
        manager=KeyManager.CUSTOMER, origin=origin, protection=protection, state=state,
        native_state=native, can_rotate=can_rotate,
        rotation=rotation_of(key, newest(key.versions)) if can_rotate else None,
        deletion=deletion_of(key, state),
        key_store=(key.backend or "Cloud EKM") if external else None,
        # Cloud KMS imported material carries no expiry of its own.
        material_expires=False if origin is KeyOrigin.IMPORTED else None,
        destroy_delay_days=days(key.destroy_scheduled_seconds),
        access=access)


_RSA_OAEP = re.compile(r"^RSA_OAEP_(?P<bits>\d+)_(?P<hash>SHA\d+)(?:_AES_256)?$")
_HPKE = re.compile(r"^HPKE_KEM_\w+_HKDF_(?P<hash>SHA\d+)_AES_256_GCM$")


def import_wrapping(method: str) -> ImportWrapping | None:
    """An ImportJob's ``importMethod`` as the shared facts (RSA-OAEP, alone or wrapping an
    AES-256 key with KWP, or HPKE with ML-KEM / X-Wing); None for a method not known here,
    which the discovery reports as unreadable rather than guessing."""
    if match := _RSA_OAEP.match(method):
        return ImportWrapping("rsa-oaep", match["hash"].lower(), int(match["bits"]), method)
    if match := _HPKE.match(method):
        return ImportWrapping("hpke", match["hash"].lower(), None, method)
    return None


def newest(versions: Iterable[Version]) -> datetime | None:
    created = [v.created for v in versions if v.created is not None]
    return max(created) if created else None


# -- access --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Trust:
    """Who counts as inside: the audited and allowed projects, the allowed domains."""

    projects: frozenset[str]
    domains: frozenset[str]


def member_kind(member: str) -> PrincipalKind:
    prefix, _, value = member.partition(":")
    if member in PUBLIC_MEMBERS:
        return PrincipalKind.ANYONE
    if prefix == "serviceAccount":
        return PrincipalKind.SERVICE if _service_agent(value) else PrincipalKind.ROLE
    return {"user": PrincipalKind.USER, "group": PrincipalKind.GROUP,
            "domain": PrincipalKind.ACCOUNT, "projectOwner": PrincipalKind.ACCOUNT,
            "projectEditor": PrincipalKind.ACCOUNT,
            "projectViewer": PrincipalKind.ACCOUNT}.get(prefix, PrincipalKind.UNKNOWN)


def _service_agent(email: str) -> bool:
    """A Google-managed service agent (``service-123@gcp-sa-ekms.iam.gserviceaccount.com``,
    ``123@cloudservices.gserviceaccount.com``), not a user-managed service account."""
    local, _, domain = email.partition("@")
    number = local.removeprefix("service-")
    return (domain.startswith("gcp-sa-") or domain == "cloudservices.gserviceaccount.com"
            or (local.startswith("service-") and number.isdigit()
                and domain.endswith(SERVICE_AGENT_DOMAINS)))


def outside(member: str, trust: Trust) -> bool:
    """True when the member is outside the audited projects and allowed domains; a member
    whose project or domain cannot be told (a federated principal, a deleted one) is."""
    prefix, _, value = member.partition(":")
    if member in PUBLIC_MEMBERS or member_kind(member) is PrincipalKind.SERVICE:
        return False  # "anyone" is judged as public; service agents act for the project
    if prefix in ("projectOwner", "projectEditor", "projectViewer"):
        return value not in trust.projects
    domain = value.rpartition("@")[2].lower()
    if prefix == "serviceAccount" and domain.endswith(".iam.gserviceaccount.com"):
        return domain.removesuffix(".iam.gserviceaccount.com") not in trust.projects
    if prefix in ("user", "group", "domain", "serviceAccount"):
        return domain not in trust.domains
    return True


def grants(bindings: Iterable[Binding], level: str, trust: Trust) -> list[Grant]:
    """One grant per member of each binding; ``level`` is "key" or "key ring"."""
    found = []
    for binding in bindings:
        actions = ROLES.get(binding.role, ())
        custom = "" if binding.role in ROLES else " (permissions not read)"
        for member in binding.members:
            found.append(Grant(member, member_kind(member), actions, "iam",
                               outside=outside(member, trust), restricted=binding.conditional,
                               ref=f"{level} binding {binding.role}{custom}"))
    return found
