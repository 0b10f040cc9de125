"""Google Cloud KMS, Azure Key Vault and ``tls_private_key`` resources as records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...facts import (
    Action,
    Grant,
    KeyManager,
    KeyOrigin,
    KeyState,
    ManagedKeyFacts,
    PrincipalKind,
    ProtectionLevel,
    Rotation,
)
from .aws import planned_age
from .planned import Estate, Fields, Planned
from .values import Unknown, iso_duration_days, seconds_days

GCP_PROTECTION = {"SOFTWARE": ProtectionLevel.SOFTWARE, "HSM": ProtectionLevel.HSM,
                  "EXTERNAL": ProtectionLevel.EXTERNAL, "EXTERNAL_VPC": ProtectionLevel.EXTERNAL}
GCP_IAM_TYPES = ("google_kms_crypto_key_iam_member", "google_kms_crypto_key_iam_binding")
GCP_ROLES: Mapping[str, tuple[Action, ...]] = {
    "roles/cloudkms.admin": (Action.MANAGE, Action.DELETE, Action.GRANT),
    "roles/owner": tuple(Action), "roles/editor": (Action.USE, Action.MANAGE, Action.DELETE),
}
CURVES = {"P-256": ("secp256r1", 256), "P-384": ("secp384r1", 384),
          "P-521": ("secp521r1", 521), "P-256K": ("secp256k1", 256),
          "P224": ("secp224r1", 224), "P256": ("secp256r1", 256), "P384": ("secp384r1", 384),
          "P521": ("secp521r1", 521)}


# -- Google Cloud KMS ------------------------------------------------------------------------

def gcp_algorithm(name: str) -> tuple[str, int | None, str | None] | None:
    """(algorithm, size, curve) of a Cloud KMS algorithm name, None if not recognised."""
    if name in ("GOOGLE_SYMMETRIC_ENCRYPTION", "EXTERNAL_SYMMETRIC_ENCRYPTION") \
            or name.startswith("AES_256"):
        return "AES", 256, None
    if match := re.match(r"^RSA_(?:SIGN|DECRYPT)_\w*?_(\d{4})_", name + "_"):
        return "RSA", int(match.group(1)), None
    if match := re.match(r"^EC_SIGN_P(\d+)_", name):
        return "EC", int(match.group(1)), f"secp{match.group(1)}r1"
    if name.startswith("EC_SIGN_SECP256K1"):
        return "EC", 256, "secp256k1"
    if match := re.match(r"^HMAC_SHA(\d+)$", name):
        return "HMAC", int(match.group(1)), None
    if name == "EC_SIGN_ED25519":
        return "Ed25519", 256, None
    return None


def google_crypto_key(estate: Estate, resource: Planned) -> None:
    """A Cloud KMS key: version template, protection, rotation period, destroy delay, IAM."""
    fields = Fields()
    template = resource.block("version_template")
    template = {} if isinstance(template, Unknown) else template
    name = fields.take("algorithm", template.get("algorithm") or "GOOGLE_SYMMETRIC_ENCRYPTION")
    purpose = fields.take("usage", resource.get("purpose", "ENCRYPT_DECRYPT"))
    spec = gcp_algorithm(name) if isinstance(name, str) else None
    if spec is None and name is not None:
        fields.unreadable["algorithm"] = f"Cloud KMS algorithm {name!r} is not known"
    elif spec is not None:
        fields.values.update(algorithm=spec[0], size=spec[1], curve=spec[2])
        fields.attributes["gcp_algorithm"] = name
    protection = fields.take("managed.protection", template.get("protection_level", "SOFTWARE"))
    symmetric = purpose == "ENCRYPT_DECRYPT"
    facts: dict[str, Any] = {
        "manager": KeyManager.CUSTOMER,
        "origin": KeyOrigin.IMPORTED if resource.get("import_only") is True
        else KeyOrigin.EXTERNAL if str(protection).startswith("EXTERNAL")
        else KeyOrigin.GENERATED,
        "protection": GCP_PROTECTION.get(str(protection), ProtectionLevel.SOFTWARE),
        "state": KeyState.ENABLED, "native_state": "ENABLED", "can_rotate": symmetric,
        "access": _gcp_access(estate, resource, fields),
    }
    if symmetric:
        period = fields.take("managed.rotation", resource.props.get("rotation_period"))
        days = seconds_days(period) if isinstance(period, str) else None
        if "managed.rotation" not in fields.unreadable:
            facts["rotation"] = Rotation(automatic=days is not None,
                                         period_days=round(days) if days else None)
    destroy = fields.take("destroy_scheduled_days", resource.get(
        "destroy_scheduled_duration", "2592000s"))
    fields.attributes["destroy_scheduled_days"] = (
        seconds_days(destroy) if isinstance(destroy, str) else None)
    fields.values["managed"] = ManagedKeyFacts(**facts)
    if isinstance(purpose, str):
        fields.values["usage"] = (purpose,)
    kind = "secret-key" if symmetric or purpose == "MAC" else "private-key"
    planned_age(estate, resource, fields)
    estate.add_key(resource, kind, fields)


def _gcp_access(estate: Estate, resource: Planned, fields: Fields) -> tuple[Grant, ...]:
    found: list[Grant] = []
    for binding in estate.referring(GCP_IAM_TYPES, "crypto_key_id", resource):
        members = binding.props.get("members") if "members" in binding.props \
            else [binding.props.get("member")]
        role = binding.props.get("role")
        unknown = next((v for v in (role, members, *(members or ()))
                        if isinstance(v, Unknown)), None)
        if unknown is not None:
            fields.unreadable["managed.access"] = f"{binding.address}: {unknown.reason}"
            continue
        actions = GCP_ROLES.get(str(role), (Action.USE,))
        for member in members or ():
            found.append(_gcp_grant(str(member), actions, estate, binding, role))
    for policy in estate.referring(("google_kms_crypto_key_iam_policy",), "crypto_key_id",
                                   resource):
        fields.unreadable["managed.access"] = (
            f"{policy.address}: an IAM policy document is not read statically")
    return tuple(found)


def _gcp_grant(member: str, actions: tuple[Action, ...], estate: Estate, binding: Planned,
               role: Any) -> Grant:
    kind_name, _, identity = member.partition(":")
    if member in ("allUsers", "allAuthenticatedUsers"):
        return Grant(member, PrincipalKind.ANYONE, actions, "iam", ref=f"{binding.address} {role}")
    kind = {"user": PrincipalKind.USER, "serviceAccount": PrincipalKind.ROLE,
            "group": PrincipalKind.GROUP, "domain": PrincipalKind.ACCOUNT}.get(
        kind_name, PrincipalKind.UNKNOWN)
    domain = identity.rsplit("@", 1)[-1]
    account = domain.split(".")[0] if domain.endswith(".iam.gserviceaccount.com") else domain
    return Grant(member, kind, actions, "iam", outside=account not in estate.trusted,
                 ref=f"{binding.address} {role}")


# -- Azure Key Vault ------------------------------------------------------------------------

def azure_key(estate: Estate, resource: Planned) -> None:
    """A Key Vault key: type, size or curve, expiry, rotation policy, and its vault."""
    fields = Fields()
    key_type = fields.take("algorithm", resource.get("key_type"))
    if isinstance(key_type, str):
        _azure_algorithm(fields, resource, key_type)
    facts: dict[str, Any] = {
        "manager": KeyManager.CUSTOMER, "origin": KeyOrigin.GENERATED,
        "protection": ProtectionLevel.HSM if str(key_type).endswith("-HSM")
        else ProtectionLevel.SOFTWARE,
        "state": KeyState.ENABLED, "native_state": "enabled", "can_rotate": True,
        "rotation": _azure_rotation(fields, resource),
    }
    fields.values["managed"] = ManagedKeyFacts(**facts)
    expires = fields.take("expires", resource.get("expiration_date"))
    if isinstance(expires, str):
        fields.values["expires"] = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    _vault_facts(estate, resource, fields)
    planned_age(estate, resource, fields)
    kind = "secret-key" if str(key_type).startswith("oct") else "private-key"
    estate.add_key(resource, kind, fields)


def _azure_algorithm(fields: Fields, resource: Planned, key_type: str) -> None:
    family = key_type.removesuffix("-HSM")
    if family == "EC":
        curve = fields.take("curve", resource.get("curve", "P-256"))
        if curve in CURVES:
            name, size = CURVES[curve]
            fields.values.update(algorithm="EC", curve=name, size=size)
    elif family in ("RSA", "oct"):
        size = fields.take("size", resource.get("key_size"))
        fields.values.update(algorithm="RSA" if family == "RSA" else "AES",
                             size=size if isinstance(size, int) else None)
    else:
        fields.unreadable["algorithm"] = f"Key Vault key type {key_type!r} is not known"


def _azure_rotation(fields: Fields, resource: Planned) -> Rotation | None:
    policy = resource.block("rotation_policy")
    if isinstance(policy, Unknown):
        fields.unreadable["managed.rotation"] = policy.reason
        return None
    automatic = policy.get("automatic")
    automatic = automatic[0] if isinstance(automatic, list) and automatic else automatic
    if not isinstance(automatic, Mapping):
        return Rotation(automatic=False)
    after = automatic.get("time_after_creation")
    before, expire = automatic.get("time_before_expiry"), policy.get("expire_after")
    if isinstance(after, str):
        days = iso_duration_days(after)
    elif isinstance(before, str) and isinstance(expire, str):
        days = (iso_duration_days(expire) or 0) - (iso_duration_days(before) or 0)
    else:
        days = None
    return Rotation(automatic=True, period_days=round(days) if days else None)


def _vault_facts(estate: Estate, resource: Planned, fields: Fields) -> None:
    """The vault's deletion and network settings, carried on each key it holds."""
    vault_id = resource.props.get("key_vault_id")
    vaults = [v for v in estate.of_type("azurerm_key_vault")
              if isinstance(vault_id, Unknown) and vault_id.address == v.base_address]
    if not vaults:
        reason = "the key's vault is not declared in the audited code"
        for name in ("key_vault_purge_protection", "key_vault_network_default_action"):
            fields.unreadable[name] = reason
        return
    vault = vaults[0]
    fields.attributes["key_vault"] = vault.address
    fields.attributes["key_vault_purge_protection"] = fields.take(
        "key_vault_purge_protection", vault.get("purge_protection_enabled", False))
    fields.attributes["key_vault_soft_delete_days"] = fields.take(
        "key_vault_soft_delete_days", vault.get("soft_delete_retention_days", 90))
    rbac = vault.get("rbac_authorization_enabled", vault.get("enable_rbac_authorization", False))
    fields.attributes["key_vault_rbac"] = fields.take("key_vault_rbac", rbac)
    acls = vault.block("network_acls")
    action = acls.reason if isinstance(acls, Unknown) else acls.get("default_action", "Allow")
    if vault.get("public_network_access_enabled", True) is False:
        action = "Deny"
    fields.attributes["key_vault_network_default_action"] = fields.take(
        "key_vault_network_default_action", Unknown(action) if isinstance(acls, Unknown)
        else action)


# -- tls_private_key ------------------------------------------------------------------------

def tls_private_key(estate: Estate, resource: Planned) -> None:
    """A key the Terraform ``tls`` provider generates (and keeps in the state, unencrypted)."""
    fields = Fields()
    algorithm = fields.take("algorithm", resource.get("algorithm"))
    if algorithm == "RSA":
        size = fields.take("size", resource.get("rsa_bits", 2048))
        fields.values.update(algorithm="RSA", size=size)
    elif algorithm == "ECDSA":
        curve = fields.take("curve", resource.get("ecdsa_curve", "P224"))
        if curve in CURVES:
            name, bits = CURVES[curve]
            fields.values.update(algorithm="EC", curve=name, size=bits)
    elif algorithm == "ED25519":
        fields.values.update(algorithm="Ed25519", size=256)
    elif algorithm is not None:
        fields.unreadable["algorithm"] = f"tls_private_key algorithm {algorithm!r} is not known"
    fields.attributes["stored_in_state"] = True
    planned_age(estate, resource, fields)
    estate.add_key(resource, "private-key", fields)


MAPPERS: Mapping[str, Any] = {
    "google_kms_crypto_key": google_crypto_key,
    "azurerm_key_vault_key": azure_key,
    "tls_private_key": tls_private_key,
}
