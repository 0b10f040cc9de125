"""AWS KMS answers as managed-key facts: DescribeKey metadata, rotation, policy and grants.

Pure functions (no network): the discovery passes what the API returned, and the generic
controls judge the facts built here.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ...facts import (
    Action,
    Deletion,
    Grant,
    KeyManager,
    KeyOrigin,
    KeyState,
    KeyStoreState,
    ManagedKeyFacts,
    PrincipalKind,
    ProtectionLevel,
    Rotation,
)
from .keyspec import may_rotate, utc
from .policydoc import (
    ACCOUNT_CONDITION_KEYS,
    ARN_CONDITION_KEYS,
    account_of,
    context_keys,
    is_service_principal,
    restricting_conditions,
    statements,
)

STATES = {
    "Enabled": KeyState.ENABLED, "Updating": KeyState.ENABLED, "Creating": KeyState.CREATING,
    "Disabled": KeyState.DISABLED, "PendingDeletion": KeyState.PENDING_DELETION,
    "PendingReplicaDeletion": KeyState.PENDING_DELETION,
    "PendingImport": KeyState.PENDING_IMPORT, "Unavailable": KeyState.UNAVAILABLE,
}
ORIGINS = {"AWS_KMS": KeyOrigin.GENERATED, "AWS_CLOUDHSM": KeyOrigin.HSM,
           "EXTERNAL": KeyOrigin.IMPORTED, "EXTERNAL_KEY_STORE": KeyOrigin.EXTERNAL}
PROTECTION = {"AWS_CLOUDHSM": ProtectionLevel.HSM,
              "EXTERNAL_KEY_STORE": ProtectionLevel.EXTERNAL}

#: KMS operations in the shared action vocabulary; reads (Describe*, Get*, List*) are none.
ACTIONS: Mapping[str, Action] = {
    **dict.fromkeys(("Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                     "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
                     "GenerateDataKeyWithoutPlaintext", "Sign", "Verify", "GenerateMac",
                     "VerifyMac", "DeriveSharedSecret"), Action.USE),
    **dict.fromkeys(("PutKeyPolicy", "EnableKey", "DisableKey", "EnableKeyRotation",
                     "DisableKeyRotation", "RotateKeyOnDemand", "UpdateKeyDescription",
                     "CreateAlias", "DeleteAlias", "UpdateAlias", "UpdatePrimaryRegion",
                     "ReplicateKey", "TagResource", "UntagResource", "CancelKeyDeletion",
                     "ImportKeyMaterial"), Action.MANAGE),
    **dict.fromkeys(("ScheduleKeyDeletion", "DeleteImportedKeyMaterial"), Action.DELETE),
    **dict.fromkeys(("CreateGrant", "RevokeGrant", "RetireGrant"), Action.GRANT),
}


def base_facts(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """ManagedKeyFacts fields from DescribeKey; rotation and access are added later."""
    origin = metadata.get("Origin") or ""
    state = metadata.get("KeyState") or ""
    multi = metadata.get("MultiRegionConfiguration") or {}
    deletion = utc(metadata.get("DeletionDate"))
    store = metadata.get("CustomKeyStoreId") if origin in PROTECTION else None
    return {
        "manager": KeyManager.SERVICE if metadata.get("KeyManager") == "AWS"
        else KeyManager.CUSTOMER,
        "origin": ORIGINS.get(origin, KeyOrigin.GENERATED),
        "protection": PROTECTION.get(origin, ProtectionLevel.HSM),  # KMS keys live in HSMs
        "state": STATES.get(state, KeyState.UNAVAILABLE),
        "native_state": state,
        "can_rotate": may_rotate(metadata) and metadata.get("KeyManager") != "AWS",
        "deletion": Deletion(deletion, metadata.get("PendingDeletionWindowInDays"))
        if deletion or state in ("PendingDeletion", "PendingReplicaDeletion") else None,
        "key_store": (store or "(id not reported)") if origin in PROTECTION else None,
        "material_expires": metadata.get("ExpirationModel") == "KEY_MATERIAL_EXPIRES"
        if origin == "EXTERNAL" and metadata.get("ExpirationModel") else None,
        "multi_region": bool(metadata.get("MultiRegion", False)),
        "replicas": tuple(sorted(r.get("Region", "") for r in multi.get("ReplicaKeys", ()))),
    }


def unreadable_facts(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Facts DescribeKey should have answered and did not: never guessed, so the checks
    that need them error with the reason."""
    missing = {}
    if (metadata.get("Origin") == "EXTERNAL" and metadata.get("KeyState") != "PendingImport"
            and not metadata.get("ExpirationModel")):
        missing["managed.material_expires"] = "DescribeKey did not report ExpirationModel"
    if metadata.get("KeyState") not in STATES:
        missing["managed.state"] = f"unknown KMS key state {metadata.get('KeyState')!r}"
    return missing


def rotation_fact(fields: Mapping[str, Any], source: str = "") -> Rotation | None:
    """The rotation the key's fields record (None if KMS reported none)."""
    enabled = fields.get("rotation_enabled")
    if enabled is None:
        return None
    last: datetime | None = fields.get("rotated")
    return Rotation(automatic=enabled, period_days=fields.get("rotation_period_days"),
                    last=last, period_source=source)


#: DescribeCustomKeyStores ``ConnectionState`` values.
STORE_STATES = {"CONNECTED": KeyStoreState.CONNECTED, "CONNECTING": KeyStoreState.CONNECTING,
                "DISCONNECTED": KeyStoreState.DISCONNECTED,
                "DISCONNECTING": KeyStoreState.DISCONNECTING, "FAILED": KeyStoreState.FAILED}


def key_store_facts(store: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """``key_store_state``/``key_store_detail`` from one DescribeCustomKeyStores entry, or
    (nothing, the reason) for a state the audit does not know (never guessed)."""
    state = store.get("ConnectionState")
    if state not in STORE_STATES:
        return {}, f"custom key store {store.get('CustomKeyStoreId')}: unknown connection " \
                   f"state {state!r}"
    kind = store.get("CustomKeyStoreType") or "AWS_CLOUDHSM"  # the type before XKS existed
    code = store.get("ConnectionErrorCode")
    detail = f"{kind} {store.get('CustomKeyStoreName', '')!r} {state}"
    return {"key_store_state": STORE_STATES[state],
            "key_store_detail": detail + (f" ({code})" if code else "")}, None


def managed_facts(base: Mapping[str, Any], **more: Any) -> ManagedKeyFacts:
    return ManagedKeyFacts(**{**base, **more})


# -- access --------------------------------------------------------------------------------

def _actions(patterns: Iterable[str], negated: bool = False) -> tuple[Action, ...]:
    """The vocabulary actions that ``kms:`` patterns (or a NotAction list) cover."""
    lowered = [p.lower() for p in patterns]
    covered = {action for operation, action in ACTIONS.items()
               if any(fnmatch.fnmatchcase(f"kms:{operation}".lower(), p) for p in lowered)
               != negated}
    return tuple(sorted(covered))


def principal_kind(principal: str) -> PrincipalKind:
    if principal == "*":
        return PrincipalKind.ANYONE
    if is_service_principal(principal):
        return PrincipalKind.SERVICE
    if principal.isdigit() or principal.endswith(":root"):
        return PrincipalKind.ACCOUNT
    for marker, kind in ((":role/", PrincipalKind.ROLE), (":assumed-role/", PrincipalKind.ROLE),
                         (":user/", PrincipalKind.USER), (":group/", PrincipalKind.GROUP)):
        if marker in principal:
            return kind
    return PrincipalKind.UNKNOWN


def _outside(principal: str, trusted: set[str]) -> bool:
    if principal == "*" or is_service_principal(principal):
        return False  # "anyone" is judged as public; AWS services act for the account
    return account_of(principal) not in trusted


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or ()]


def _statement_principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*" or "NotPrincipal" in statement:
        named = ["*"]
    elif isinstance(principal, Mapping):
        named = [p for kind in ("AWS", "Federated", "CanonicalUser", "Service")
                 for p in _listed(principal.get(kind))]
    else:
        named = []
    conditions = restricting_conditions(statement)
    for key in sorted(conditions):  # callers a condition names are principals too
        if key in ACCOUNT_CONDITION_KEYS or key in ARN_CONDITION_KEYS:
            named.extend(conditions[key])
    return named


def policy_grants(policy: Mapping[str, Any], trusted: set[str]) -> list[Grant]:
    """One grant per principal of each Allow statement of a key policy."""
    found = []
    for label, statement in statements(policy):
        negated = "NotAction" in statement
        actions = _actions(_listed(statement.get("NotAction" if negated else "Action")),
                           negated)
        restricted = bool(restricting_conditions(statement))
        context = tuple(context_keys(statement))
        for principal in _statement_principals(statement):
            found.append(Grant(principal, principal_kind(principal), actions, "key-policy",
                               outside=_outside(principal, trusted), restricted=restricted,
                               ref=f"statement {label}", context_keys=context))
    return found


def kms_grants(grants: Iterable[Mapping[str, Any]], trusted: set[str]) -> list[Grant]:
    """Grantee and retiring principals of KMS grants (never tokens or constraints)."""
    found = []
    for grant in grants:
        actions = _actions(f"kms:{op}" for op in grant.get("Operations", ()))
        constraints = grant.get("Constraints") or {}
        restricted = bool(constraints)
        context = tuple(key for table in ("EncryptionContextEquals", "EncryptionContextSubset")
                        for key in constraints.get(table) or {})
        ref = f"grant {grant.get('GrantId', '?')}"
        for principal, granted in ((grant.get("GranteePrincipal"), actions),
                                   (grant.get("RetiringPrincipal"), (Action.GRANT,))):
            if principal:
                found.append(Grant(principal, principal_kind(principal), granted, "grant",
                                   outside=_outside(principal, trusted), restricted=restricted,
                                   ref=ref, context_keys=context))
    return found
