"""PKI mounts: issuer (CA) certificates as certificate records, roles as system facts.

Issuer certificates are described by :func:`pytest_cryptoaudit.keyinfo.certificate_fields`,
so the generic certificate controls (strength, signature hash, expiry) apply to them as to
any other certificate. Roles are templates, not keys: they are kept as system attributes and
checked by the Vault controls (key type and bits, max_ttl, name restrictions).
"""

from __future__ import annotations

from typing import Any

from ...keyinfo import certificate_fields, state_of_certificate
from .client import VaultReader, VaultReadError, path_of

#: Vault's key_bits when a role leaves it at 0.
DEFAULT_ROLE_BITS = {"rsa": 2048, "ec": 256, "ed25519": 256}
ROLE_FLAGS = ("allow_any_name", "allow_wildcard_certificates", "allow_glob_domains",
              "allow_subdomains", "allow_bare_domains", "allow_localhost", "allow_ip_sans",
              "enforce_hostnames", "server_flag", "client_flag", "code_signing_flag")


def issuer_uid(system: str, mount: str, reference: str) -> str:
    return f"vault:{system}/{mount.strip('/')}/issuer/{reference}"


def mount_max_ttl(reader: VaultReader, mount: str) -> int:
    """The mount's effective max lease TTL in seconds: the ceiling of a role's max_ttl 0."""
    tune = reader.get(path_of("sys/mounts", mount.strip("/")) + "/tune")
    return int(tune.get("max_lease_ttl") or 0)


def list_issuers(reader: VaultReader, mount: str) -> list[tuple[str, bool]]:
    """(issuer id, is default) of every issuer of the mount."""
    names, info = reader.list_with_info(path_of(mount, "issuers"))
    return [(name, bool((info.get(name) or {}).get("is_default"))) for name in names]


def read_issuer(reader: VaultReader, mount: str, issuer_id: str, is_default: bool,
                now: Any) -> tuple[str, dict[str, Any]]:
    """(reference, certificate record fields) of one issuer; raises VaultReadError."""
    from cryptography import x509

    path = path_of(mount, "issuer", issuer_id)
    data = reader.get(path)
    try:
        cert = x509.load_pem_x509_certificate(str(data.get("certificate", "")).encode())
    except ValueError as exc:
        raise VaultReadError(path, f"issuer certificate cannot be parsed: {exc}") from None
    fields = certificate_fields(cert)
    fields["state"] = "deactivated" if data.get("revoked") else state_of_certificate(
        fields["certificate"], now)
    fields["attributes"] = {
        **fields["attributes"],
        "mount": mount.strip("/"),
        "issuer_id": issuer_id,
        "issuer_name": data.get("issuer_name") or "",
        "key_id": data.get("key_id") or "",
        "is_default": is_default,
        "revoked": bool(data.get("revoked")),
        "leaf_not_after_behavior": data.get("leaf_not_after_behavior"),
        "issuer_usage": data.get("usage"),
    }
    return data.get("issuer_name") or issuer_id, fields


def longest_role_ttl(roles: list[dict[str, Any]], attributes: dict[str, Any]) -> int | None:
    """The longest max_ttl of the roles that issue from this issuer (None: no role does)."""
    names = {attributes["issuer_id"], attributes["issuer_name"]} - {""}
    if attributes["is_default"]:
        names.add("default")
    ttls = [r["effective_max_ttl_seconds"] for r in roles if r["issuer_ref"] in names]
    return max(ttls, default=None)


def read_role(reader: VaultReader, mount: str, name: str, mount_ttl: int) -> dict[str, Any]:
    """The audit-relevant settings of one role, with effective key bits and max_ttl."""
    data = reader.get(path_of(mount, "roles", name))
    key_type = str(data.get("key_type", ""))
    configured_bits = int(data.get("key_bits") or 0)
    max_ttl = int(data.get("max_ttl") or 0)
    role = {
        "mount": mount.strip("/"),
        "name": name,
        "key_type": key_type,
        "key_bits_configured": configured_bits,
        "key_bits": configured_bits or DEFAULT_ROLE_BITS.get(key_type),
        "max_ttl_seconds": max_ttl,
        "effective_max_ttl_seconds": max_ttl or mount_ttl,
        "signature_bits": data.get("signature_bits"),
        "issuer_ref": data.get("issuer_ref") or "default",
        "allowed_domains": list(data.get("allowed_domains") or []),
    }
    role.update({flag: data.get(flag) for flag in ROLE_FLAGS if flag in data})
    return role
