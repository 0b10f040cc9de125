"""Is the auditing identity a key administrator of the Cloud KMS keys it audits? (CEK-09
guideline 5)

The identity is the IAM member the audit calls as: the impersonated service account, the
service account of the key file, or the service account of Application Default
Credentials where they name one. Its rights are the IAM bindings that name that member with
an administrative action: those already read for each key (the key's and its key ring's
policies), and those of each audited project and of the folders and organization above it
(Resource Manager, read once each). Bindings to groups it belongs to, and the permissions of
custom roles, are not read, which a note says.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...facts import ADMIN_ACTIONS, Grant
from .options import GcpKmsOptions

NOT_READ = ("bindings on the keys, key rings, projects, folders and organization are judged; "
            "bindings to groups the auditing identity belongs to, and the permissions of "
            "custom roles, are not read")


def auditor_member(options: GcpKmsOptions, credentials: Any) -> tuple[str | None, str | None]:
    """(the IAM member the audit calls as, or why it cannot be told)."""
    if options.impersonate_service_account:
        return f"serviceAccount:{options.impersonate_service_account}", None
    if options.credentials == "anonymous":
        return None, None  # a test endpoint: no identity to judge, nothing reported
    email = str(getattr(credentials, "service_account_email", "") or "")
    if "@" in email:
        return f"serviceAccount:{email}", None
    return None, ("cannot tell which identity Application Default Credentials call as: "
                  "impersonate a service account or name a service-account file")


def auditor_facts(member: str | None, why: str | None,
                  access: Iterable[tuple[str, tuple[Grant, ...] | None, str | None]]
                  ) -> tuple[dict[str, Any], dict[str, str]]:
    """(system attributes, unreadable) for the ``auditor-independent`` check from
    ``(key name, grants or None, why unreadable)`` of every key read."""
    if member is None:
        if why is None:
            return {}, {}
        return {}, {"auditor_identity": why, "auditor_admin_rights": why}
    rights: set[str] = set()
    unreadable = []
    for name, grants, reason in access:
        if grants is None:
            unreadable.append(f"{name}: {reason or 'access not reported'}")
            continue
        for grant in grants:
            held = sorted(a.value for a in grant.actions if a in ADMIN_ACTIONS)
            if grant.principal == member and held:
                on = name.rsplit("/cryptoKeys/", 1)[0] if grant.ref.startswith("key ring") \
                    else name  # a key, or a project, folder or organization
                rights.add(f"{grant.ref} of {on}: {', '.join(held)}")
    attributes: dict[str, Any] = {"auditor_identity": member}
    if unreadable:
        shown = "; ".join(sorted(unreadable)[:5])
        more = f"; and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""
        return attributes, {"auditor_admin_rights": "IAM policies unreadable: "
                                                    f"{shown}{more}"}
    return {**attributes, "auditor_admin_rights": sorted(rights),
            "auditor_notes": [NOT_READ]}, {}
