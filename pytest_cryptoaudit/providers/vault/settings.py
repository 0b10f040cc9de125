"""Policy thresholds of the Vault controls, with their defaults and sources.

Override any of them under ``[policy]`` in ``cryptoaudit.toml``; per-tier settings take a
table of ``low``, ``medium``, ``high`` and ``critical``.
"""

from __future__ import annotations

from ...policy import SP800_131A, PolicySetting, tiered

ISO_A824 = "ISO/IEC 27001:2022 A.8.24"

#: Transit types of at least 112-bit strength (SP 800-131A) for the lower tiers ...
STRENGTH_112 = ["aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "xchacha20-poly1305",
                "rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521",
                "ed25519", "hmac"]
#: ... and of at least 128-bit strength for high and critical (aes128 kept out by choice:
#: a 256-bit key also covers the post-quantum margin for symmetric data keys).
STRENGTH_128 = [t for t in STRENGTH_112 if t not in ("aes128-gcm96", "rsa-2048")]

AUTO_UNSEAL = ["awskms", "azurekeyvault", "gcpckms", "ocikms", "alicloudkms", "pkcs11",
               "transit", "kmip"]

#: Exact paths exempt from the privileged-path check: the self-service ``sys/`` paths of the
#: built-in ``default`` policy (Vault and OpenBao), and ``sys/audit``, whose listing needs
#: ``sudo`` although no write exists on that exact path (devices change at sys/audit/NAME).
EXEMPT_PATHS = [
    "sys/capabilities-self", "sys/leases/renew", "sys/leases/lookup", "sys/renew",
    "sys/wrapping/wrap", "sys/wrapping/lookup", "sys/wrapping/unwrap",
    "sys/tools/hash", "sys/tools/hash/*", "sys/control-group/request",
    "sys/internal/ui/resultant-acl", "sys/audit",
]

WRITE = ["create", "update", "delete", "sudo"]
#: ``{transit}`` stands for every transit mount of the server.
PRIVILEGED_PATHS = [
    {"path": "sys/*", "capabilities": WRITE},
    {"path": "{transit}/keys/+/config", "capabilities": WRITE},
    {"path": "{transit}/export/*", "capabilities": ["read", *WRITE]},
    {"path": "{transit}/backup/*", "capabilities": ["read", *WRITE]},
]

VAULT_SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting(
        "vault_transit_key_types", tiered(STRENGTH_112, STRENGTH_112, STRENGTH_128,
                                          STRENGTH_128),
        "Transit key types allowed per tier.", f"{SP800_131A}; NIST SP 800-57 Part 1 Table 2"),
    PolicySetting(
        "vault_allow_exportable_keys", tiered(True, True, False, False),
        "Whether a transit key may be marked exportable.", ISO_A824),
    PolicySetting(
        "vault_allow_plaintext_backup", tiered(True, True, False, False),
        "Whether a transit key may allow plaintext backups.", ISO_A824),
    PolicySetting(
        "vault_allow_deletion", tiered(True, True, False, False),
        "Whether a transit key may have deletion_allowed set.", ISO_A824),
    PolicySetting(
        "vault_allowed_seal_types", tiered(["shamir", *AUTO_UNSEAL], ["shamir", *AUTO_UNSEAL],
                                           ["shamir", *AUTO_UNSEAL], AUTO_UNSEAL),
        "Seal types allowed per tier (critical: unsealed by a KMS or HSM, not key shares).",
        ISO_A824),
    PolicySetting(
        "vault_pki_allow_any_key_type", tiered(True, False, False, False),
        "Whether a PKI role may sign CSRs of any key type and size (key_type = any).",
        SP800_131A),
    PolicySetting(
        "vault_pki_allow_any_name", tiered(True, True, False, False),
        "Whether a PKI role may issue certificates for any name (allow_any_name).", ISO_A824),
    PolicySetting(
        "vault_pki_allow_wildcards", tiered(True, True, False, False),
        "Whether a PKI role may issue wildcard certificates.", ISO_A824),
    PolicySetting(
        "vault_privileged_paths", PRIVILEGED_PATHS,
        "Path globs and the capabilities on them that only admin policies may grant.",
        ISO_A824),
    PolicySetting(
        "vault_exempt_paths", EXEMPT_PATHS,
        "Exact policy paths exempt from the privileged-path check (self-service and "
        "read-only ones that need sudo).",
        ISO_A824),
)
