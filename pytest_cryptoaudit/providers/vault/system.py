"""Server-wide facts: seal, audit devices, mounts, ACL policies and the auditor's identity.

Each reader returns plain JSON-able data for the system record, or raises
:class:`VaultReadError` naming the path it could not read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .client import VaultReader, VaultReadError, path_of
from .policies import PolicyParseError, parse_document

AUDITED_ENGINES = ("transit", "pki")
#: Policies that are administrative by construction, whatever the configuration says.
BUILTIN_ADMIN_POLICIES = ("root",)


def seal_status(reader: VaultReader) -> dict[str, Any]:
    """Seal facts from ``sys/seal-status`` (readable without a token)."""
    status = reader.get_unauthenticated_status("sys/seal-status")
    return {
        "sealed": bool(status.get("sealed", True)),
        "initialized": bool(status.get("initialized", False)),
        "seal_type": status.get("type"),
        "recovery_seal": bool(status.get("recovery_seal", False)),
        "server_version": status.get("version"),
        "storage_type": status.get("storage_type"),
        "cluster_name": status.get("cluster_name"),
    }


def auditor_identity(reader: VaultReader) -> dict[str, Any]:
    """Who the audit token belongs to: display name, policies, accessor and the namespace
    it was made in ("" for the root; OpenBao and Vault name it ``namespace_path``), never
    the token."""
    data = reader.get("auth/token/lookup-self")
    return {
        "display_name": data.get("display_name"),
        "policies": sorted(data.get("policies") or []),
        "accessor": data.get("accessor"),
        "namespace": str(data.get("namespace_path") or "").strip("/"),
    }


def mounts(reader: VaultReader, malformed: Callable[[str], None]) -> dict[str, str]:
    """Every secrets engine mount path (without the trailing slash) → engine type.

    An entry that is not an object cannot say what engine it is: ``malformed`` receives a
    reason naming it (the audit would otherwise narrow silently), and the others are kept.
    """
    data = reader.get("sys/mounts")
    found = {}
    for path, info in data.items():
        if isinstance(info, dict):
            found[path.strip("/")] = str(info.get("type"))
        else:
            malformed(f"sys/mounts: entry {path!r} is not an object "
                      f"({type(info).__name__}), so that mount is not audited")
    return found


def mount_type(reader: VaultReader, mount: str) -> str:
    """The engine type of one mount, through the UI endpoint a token with access may read."""
    data = reader.get(path_of("sys/internal/ui/mounts", mount.strip("/")))
    return str(data.get("type", ""))


def audit_devices(reader: VaultReader) -> list[dict[str, Any]]:
    """Enabled audit devices: path, type and whether local (options may name files).

    Audit devices belong to the whole server, so they are read in the root namespace.
    """
    data = reader.root_namespace().get("sys/audit")
    return [
        {"path": path, "type": info.get("type"), "local": bool(info.get("local", False))}
        for path, info in sorted(data.items()) if isinstance(info, dict)
    ]


def acl_policies(reader: VaultReader, conditions: dict[str, dict[str, Any]] | None = None,
                 ) -> dict[str, dict[str, list[str]]]:
    """Each ACL policy's rules as path → capabilities; ``root`` is implicit and skipped.
    ``conditions``, where given, receives each policy's parameter conditions by path."""
    rules = {}
    for name in reader.names("sys/policies/acl"):
        if name in BUILTIN_ADMIN_POLICIES:
            continue
        path = path_of("sys/policies/acl", name)
        text = reader.get(path).get("policy")
        if not isinstance(text, str):
            raise VaultReadError(path, "response carries no policy text")
        try:
            rules[name], parameters = parse_document(text)
        except PolicyParseError as exc:
            raise VaultReadError(path, str(exc)) from None
        if conditions is not None and parameters:
            conditions[name] = parameters
    return rules
