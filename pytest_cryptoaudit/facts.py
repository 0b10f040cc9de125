"""Typed facts per key family, filled by providers and judged by generic controls.

A provider that fills :class:`ManagedKeyFacts` for the keys of a key-management service
(AWS KMS, Vault transit, a cloud key vault, an HSM) gets every generic managed-key control
without writing one: the controls read these facts, never a provider name or one service's
attribute strings.

A fact is named by a dotted path from the record (``managed.state``, ``managed.access``).
Names are what controls list in ``requires`` / ``reads`` and what providers map to the calls
that fill them (``Provider.fetches``). A fact the provider tried and failed to read (or was
told not to fetch) goes to the record's ``unreadable`` under its name, so a control that
requires it errors with the reason instead of passing. ``None`` means the provider does not
report that fact at all, and the controls that judge it do not apply.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any, TypeVar

from .errors import CryptoAuditError

#: The fact families a record may carry, by field name on the record.
MANAGED = "managed"


class KeyManager(enum.StrEnum):
    """Who decides the key's policy and lifecycle."""

    CUSTOMER = "customer"
    SERVICE = "service"


class KeyOrigin(enum.StrEnum):
    """Where the key material came from."""

    GENERATED = "generated"  # generated inside the service
    IMPORTED = "imported"  # imported by the customer (BYOK)
    EXTERNAL = "external"  # held in a key store outside the service (HYOK)
    HSM = "hsm"  # generated in a dedicated HSM the customer controls


class ProtectionLevel(enum.StrEnum):
    """What protects the key material at rest and in use."""

    SOFTWARE = "software"
    HSM = "hsm"
    EXTERNAL = "external"


class KeyState(enum.StrEnum):
    """The lifecycle state, shared by every service."""

    ENABLED = "enabled"
    CREATING = "creating"
    DISABLED = "disabled"
    PENDING_DELETION = "pending-deletion"
    PENDING_IMPORT = "pending-import"
    DESTROYED = "destroyed"
    UNAVAILABLE = "unavailable"


class PrincipalKind(enum.StrEnum):
    """What a principal named in an access grant is; ``unknown`` counts as outside."""

    ACCOUNT = "account"
    ROLE = "role"
    USER = "user"
    SERVICE = "service"
    GROUP = "group"
    ANYONE = "anyone"
    UNKNOWN = "unknown"


class Action(enum.StrEnum):
    """The small vocabulary every service's permissions are normalised to."""

    USE = "use"  # encrypt, decrypt, sign, verify, derive, MAC
    MANAGE = "manage"  # change policy, rotation, state, description, aliases, tags
    EXPORT = "export"  # take key material out
    DELETE = "delete"  # schedule deletion, destroy versions or imported material
    GRANT = "grant"  # give others access (grants, role assignments)


class KeyStoreState(enum.StrEnum):
    """The connection state of a dedicated or external key store (``managed.key_store_state``)."""

    CONNECTED = "connected"
    CONNECTING = "connecting"
    DISCONNECTED = "disconnected"
    DISCONNECTING = "disconnecting"
    FAILED = "failed"


#: Actions that administer a key rather than use it.
ADMIN_ACTIONS = frozenset({Action.MANAGE, Action.DELETE, Action.GRANT, Action.EXPORT})


# slots: thousands of keys carry these; a shared tuple of grants serves identical policies.
@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """One normalised access entry: who may do what with the key, and where it says so.

    ``outside`` is true when the principal is outside the key's owning account/tenant and
    the accounts the system trusts; a principal whose account cannot be told is outside.
    ``restricted`` is true when conditions narrow who may use the entry. ``ref`` names the
    entry in its source (a policy statement's Sid, a grant id) for findings.
    ``context_keys`` are the encryption-context keys every use under the entry must carry
    (``kms:EncryptionContext:tenant``, a grant's context constraint; for Vault transit
    ``context``, the derivation context of a derived key, or ``associated_data`` an ACL
    requires): on a key that serves several tenants they keep each tenant's data apart.
    """

    principal: str
    kind: PrincipalKind
    actions: tuple[Action, ...]
    source: str  # key-policy, grant, iam, vault-acl, access-policy, rbac ...
    outside: bool = False
    restricted: bool = False
    ref: str = ""
    context_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", PrincipalKind(self.kind))
        object.__setattr__(self, "context_keys", tuple(sorted(set(self.context_keys))))
        object.__setattr__(self, "actions", tuple(sorted(Action(a) for a in self.actions)))

    @property
    def is_public(self) -> bool:
        """Anyone may act under this entry, and no condition narrows it."""
        return self.kind is PrincipalKind.ANYONE and not self.restricted


@dataclasses.dataclass(frozen=True, slots=True)
class Rotation:
    """Automatic rotation of a key the service can rotate."""

    automatic: bool
    period_days: int | None = None
    last: datetime | None = None
    next: datetime | None = None
    #: Where the period comes from when the service did not state it (a documented default).
    period_source: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Deletion:
    """A scheduled deletion: when the material goes, and the waiting period."""

    scheduled_for: datetime | None = None
    window_days: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ImportWrapping:
    """How imported key material was wrapped on its way into the service (BYOK), as the
    service records it: the scheme (``rsa-oaep``, ``rsa-pkcs1v15``, or ``hpke`` with a
    post-quantum KEM), the hash it uses, the RSA wrapping key's size, and the service's own
    name for the method (``native``)."""

    scheme: str
    hash: str | None
    rsa_bits: int | None
    native: str


@dataclasses.dataclass(frozen=True, slots=True)
class ManagedKeyFacts:
    """What an auditor needs to know about a key held by a key-management service.

    ``native_state`` keeps the service's own word for the state, for findings a service's
    operator recognises. ``key_store`` names a dedicated or external key store holding the
    key (None: the service's own store). ``rotation`` is read only where ``can_rotate``;
    ``access`` is None where the provider does not report access at all.
    ``access_holders`` names the lists read to resolve who holds an entry that names an
    intermediary (a Vault policy: the identity entities and groups and the auth roles that
    hold it), whose holders then stand in ``access`` as principals of their own; None where
    the provider resolves no holders (its principals are the callers themselves).
    """

    manager: KeyManager
    origin: KeyOrigin
    protection: ProtectionLevel
    state: KeyState
    native_state: str = ""
    can_rotate: bool = False
    rotation: Rotation | None = None
    deletion: Deletion | None = None
    key_store: str | None = None
    #: The connection state of ``key_store`` (None: the provider does not read stores), and
    #: the store's own words for it (type, name, state, error code) for findings.
    key_store_state: KeyStoreState | None = None
    key_store_detail: str = ""
    material_expires: bool | None = None
    #: How the imported material was wrapped (None: not imported, or the service does not
    #: record it after the import, as AWS KMS and Azure Key Vault do not).
    import_wrapping: ImportWrapping | None = None
    #: Days between a request to destroy key material and its destruction, as configured
    #: for the key (Cloud KMS destroyScheduledDuration); None where the service fixes the
    #: wait only when a deletion is scheduled (see ``deletion``).
    destroy_delay_days: int | None = None
    multi_region: bool = False
    replicas: tuple[str, ...] = ()
    access: tuple[Grant, ...] | None = None
    access_holders: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name, kind in (("manager", KeyManager), ("origin", KeyOrigin),
                           ("protection", ProtectionLevel), ("state", KeyState)):
            object.__setattr__(self, name, kind(getattr(self, name)))
        object.__setattr__(self, "replicas", tuple(self.replicas))
        if self.key_store_state is not None:
            object.__setattr__(self, "key_store_state", KeyStoreState(self.key_store_state))
        if self.access is not None:
            object.__setattr__(self, "access", tuple(self.access))
        if self.access_holders is not None:
            object.__setattr__(self, "access_holders", tuple(self.access_holders))


def fact(record: Any, name: str) -> Any:
    """The value of a fact by dotted name (``managed.rotation``), None where absent.

    A first segment that is no field of the record is looked up in its ``attributes``.
    """
    head, *rest = name.split(".")
    if hasattr(record, head):
        value = getattr(record, head)
    else:
        value = getattr(record, "attributes", {}).get(head)
    for part in rest:
        value = getattr(value, part, None)
    return value


def reported(record: Any, name: str) -> bool:
    """True if the provider reports the fact for this record, read or not (unreadable)."""
    return name in getattr(record, "unreadable", {}) or fact(record, name) is not None


def managed(record: Any) -> ManagedKeyFacts | None:
    value = getattr(record, MANAGED, None)
    return value if isinstance(value, ManagedKeyFacts) else None


T = TypeVar("T")


def required(uid: str, name: str, value: T | None) -> T:
    """``value``, a fact the check names in ``requires``: the run checks it is there before
    the check runs, so None here is a provider bug, and an error naming the record."""
    if value is None:
        raise CryptoAuditError(f"cannot audit {uid}: {name}: not reported by the provider")
    return value
