"""Policy settings of the generic managed-key controls, and the names they replaced.

The settings judge typed facts (:mod:`.facts`), so one value serves every key-management
service. The ``aws_kms_*`` names they replaced (and ``vault_require_auto_rotation``) stay
accepted under ``[policy]`` as aliases;
origin values in the AWS vocabulary are translated to the shared one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .facts import KeyOrigin, ProtectionLevel
from .policy import PolicySetting, tiered

ALL_ORIGINS = [o.value for o in KeyOrigin]
ALL_PROTECTION = [p.value for p in ProtectionLevel]
GENERATED_IN_SERVICE_OR_HSM = [KeyOrigin.GENERATED.value, KeyOrigin.HSM.value]
OAEP_SHA2 = ["sha256", "sha384", "sha512"]
CEK10 = "CSA CCM v4 CEK-10; NIST SP 800-57 Part 1 Rev 5"

MANAGED_KEY_SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting(
        "managed_key_rotation_required", tiered(True, True, True, True),
        "Whether customer-managed keys the service can rotate must rotate automatically.",
        "AWS FSBP KMS.4; NIST SP 800-57 Part 1 Rev 5, 5.3.6"),
    PolicySetting(
        "managed_key_allowed_origins",
        tiered(ALL_ORIGINS, ALL_ORIGINS, ALL_ORIGINS, GENERATED_IN_SERVICE_OR_HSM),
        "Key material origins allowed per tier: generated (in the service), hsm (in a "
        "dedicated HSM), imported (BYOK), external (an external key store, HYOK).", CEK10),
    PolicySetting(
        "managed_key_imported_material_must_expire", tiered(False, False, True, True),
        "Whether imported key material must carry an expiry.", "CSA CCM v4 CEK-10, CEK-17"),
    PolicySetting(
        "managed_key_import_wrapping_hashes",
        tiered(OAEP_SHA2, OAEP_SHA2, OAEP_SHA2, OAEP_SHA2),
        "OAEP hashes allowed in the RSA wrapping of imported key material (RSA PKCS #1 v1.5 "
        "wrapping is never allowed; the wrapping key's size is judged by min_rsa_bits).",
        "NIST SP 800-56B Rev 2, 7.2.2; NIST SP 800-131A Rev 2, 6"),
    PolicySetting(
        "managed_key_pending_deletion_waivable", tiered(True, True, False, False),
        "Whether a waiver may accept a key scheduled for deletion (an approved deletion).",
        "CSA CCM v4 CEK-14; AWS FSBP KMS.3"),
    PolicySetting(
        "managed_key_allow_disabled", tiered(True, True, False, False),
        "Whether a disabled (suspended) key is acceptable without review.",
        "CSA CCM v4 CEK-16"),
    PolicySetting(
        "managed_key_min_destroy_delay_days", tiered(1, 7, 7, 30),
        "Fewest days between a request to destroy key material and its destruction, to "
        "notice and cancel a mistaken or malicious destruction.",
        "CSA CCM v4 CEK-14; NIST SP 800-57 Part 1 Rev 5, 8.3.4"),
    PolicySetting(
        "managed_key_allowed_protection",
        tiered(ALL_PROTECTION, ALL_PROTECTION, ALL_PROTECTION, ALL_PROTECTION),
        "Protection levels allowed per tier: software, hsm (a hardware security module), "
        "external (an external key manager). Name the tiers that require an HSM, e.g. "
        "{critical = [\"hsm\", \"external\"]}.", "CSA CCM v4 CEK-10; FIPS 140-3"),
    PolicySetting(
        "managed_key_separation_of_duties", tiered(True, True, True, True),
        "Whether a principal that administers a key must not also use it.",
        "CSA CCM v4 IAM-04; CIS Google Cloud Foundations 1.11"),
    PolicySetting(
        "managed_key_allow_service_managed", tiered(True, True, False, False),
        "Whether keys the service manages (no customer control of policy or rotation) are "
        "acceptable.", "CSA CCM v4 CEK-08"),
)

_AWS_ORIGINS = {"AWS_KMS": KeyOrigin.GENERATED.value, "AWS_CLOUDHSM": KeyOrigin.HSM.value,
                "EXTERNAL": KeyOrigin.IMPORTED.value,
                "EXTERNAL_KEY_STORE": KeyOrigin.EXTERNAL.value}


def _origins(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {tier: _origins(v) for tier, v in value.items()}
    if isinstance(value, list):
        return [_AWS_ORIGINS.get(v, v) for v in value]
    return value


#: Deprecated name -> (its replacement, how to translate a value).
ALIASES: Mapping[str, tuple[str, Callable[[Any], Any]]] = {
    "aws_kms_rotation_required": ("managed_key_rotation_required", lambda v: v),
    "aws_kms_allowed_origins": ("managed_key_allowed_origins", _origins),
    "aws_kms_imported_material_must_expire": (
        "managed_key_imported_material_must_expire", lambda v: v),
    "aws_kms_pending_deletion_waivable": ("managed_key_pending_deletion_waivable", lambda v: v),
    "aws_kms_allow_disabled_keys": ("managed_key_allow_disabled", lambda v: v),
    "aws_kms_allow_aws_managed_keys": ("managed_key_allow_service_managed", lambda v: v),
    # transit rotation is judged by the generic kms-rotation-enabled check
    "vault_require_auto_rotation": ("managed_key_rotation_required", lambda v: v),
}


def resolve_alias(name: str, value: Any) -> tuple[str, Any]:
    """A ``[policy]`` override under its current name (a deprecated one is replaced)."""
    new_name, translate = ALIASES.get(name, (name, lambda v: v))
    return new_name, translate(value)
