"""Tenant key isolation (CEK-09 guidelines 3 and 9; CEK-08): each tenant's keys are its own,
no principal of one tenant may use another tenant's key, and a key shared by tenants by
design is used only under a per-tenant encryption context.

Tenants are what ``[tenancy]`` declares (a tag per key, whole systems, key patterns, the
accounts and principals of callers); discovery marks each key of a tenant or of a
multi-tenant system with ``attributes["tenancy"]``. The access checks judge the normalised
access grants (``managed.access``: key policies, grants, IAM bindings, ACLs, RBAC), so they
serve every key store whose provider fills them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.facts import Action, Grant, managed, reported, required
from pytest_cryptoaudit.references import ISO27001_A824, ccm

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_cryptoaudit.config import AuditConfig
    from pytest_cryptoaudit.model import KeyRecord
    from pytest_cryptoaudit.tenancy import TenancyTable

pytestmark = pytest.mark.ssrm("CSC")

REFERENCES = [ccm("CEK-09"), "CEK-09 guidelines 3 and 9", "ISO/IEC 27017:2015 CLD.9.5.1",
              ISO27001_A824]
SHOWN = 10


def _tenancy(key: KeyRecord) -> dict[str, Any]:
    value: dict[str, Any] = key.attributes.get("tenancy") or {}
    return value


def _tenant_key(key: KeyRecord) -> bool:
    """A key of a tenant or of a multi-tenant system (``[tenancy]``)."""
    return "tenancy" in key.attributes


def _own_key(key: KeyRecord) -> bool:
    """A key of exactly one tenant, not shared by design, whose provider reports who may use
    it (a key of no or several tenants is a finding of tenant-key-assigned)."""
    tenancy = _tenancy(key)
    return (_tenant_key(key) and not tenancy.get("shared")
            and len(tenancy.get("tenants", ())) == 1
            and managed(key) is not None and reported(key, "managed.access"))


def _shared_key(key: KeyRecord) -> bool:
    """A key shared by tenants by design, whose provider reports who may use it."""
    return (_tenant_key(key) and bool(_tenancy(key).get("shared"))
            and managed(key) is not None and reported(key, "managed.access"))


HOLDERS = "managed.access_holders"


def _access(key: KeyRecord) -> tuple[Grant, ...]:
    """The key's access entries; where the provider resolves who holds an entry (a Vault
    policy's entities, groups and auth roles) and could not, an error naming why: the
    entries alone would hide the principals that hold them."""
    facts = required(key.uid, "managed", managed(key))
    grants = required(key.uid, "managed.access", facts.access)
    unread = key.unreadable.get(HOLDERS)
    if unread is not None:
        raise CryptoAuditError(f"cannot audit {key.uid}: {HOLDERS}: {unread}")
    return grants


def _entry(grant: Grant) -> str:
    actions = ", ".join(a.value for a in grant.actions) or "no actions"
    where = grant.ref if grant.ref.startswith(grant.source) else f"{grant.source} {grant.ref}"
    return f"{grant.principal} ({where.strip()}; {actions})"


def _listing(items: list[str]) -> str:
    more = f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


@pytest.mark.control(
    "CEK-08", check="tenant-key-assigned",
    references=REFERENCES,
    remediation="Tag the key with its one tenant (the [tenancy] tag), move it to the tenant's "
                "own system, or declare it shared and bind its use to a tenant context.",
    applies_to=_tenant_key, requires=["tenancy"],
)
def test_tenant_key_assigned(crypto_key: KeyRecord, crypto_note: Callable[[str], None]) -> None:
    """Every key of a multi-tenant system belongs to exactly one tenant, or is declared
    shared: no key silently serves two tenants."""
    tenancy = _tenancy(crypto_key)
    tenants = list(tenancy.get("tenants", ()))
    if tenancy.get("shared"):
        crypto_note("shared by tenants by design" + (f" (also assigned to {', '.join(tenants)})"
                                                      if tenants else ""))
        return
    assert tenants, f"the key of multi-tenant system {crypto_key.system} names no tenant"
    assert len(tenants) == 1, f"the key is assigned to {len(tenants)} tenants: {', '.join(tenants)}"
    crypto_note(f"tenant {tenants[0]}")


def _foreign_entries(key: KeyRecord, tenancy: TenancyTable, owner: str) -> list[str]:
    return sorted({f"{_entry(grant)} of tenant {tenant}"
                   for tenant, grants in tenancy.grant_tenants(_access(key)).items()
                   if tenant != owner for grant in grants if grant.actions})


@pytest.mark.control(
    "CEK-08", check="tenant-key-isolation",
    references=REFERENCES,
    remediation="Remove the other tenant's principal from the key policy, grant, binding or "
                "ACL; give each tenant a key of its own.",
    applies_to=_own_key, requires=["tenancy", "managed.access"], reads=[HOLDERS],
)
def test_tenant_key_isolation(crypto_key: KeyRecord, crypto_audit_config: AuditConfig) -> None:
    """No principal of another tenant may use or administer a tenant's key through any
    access entry (key policy, grant, IAM binding, ACL, RBAC)."""
    tenants = list(_tenancy(crypto_key).get("tenants", ()))
    foreign = _foreign_entries(crypto_key, crypto_audit_config.tenancy, tenants[0])
    assert not foreign, (f"key of tenant {tenants[0]} is open to other tenants: "
                         f"{_listing(foreign)}")


@pytest.mark.control(
    "CEK-08", check="tenant-shared-key-context",
    references=[*REFERENCES, "AWS KMS kms:EncryptionContext: condition keys",
                "OpenBao transit: derived keys (context); ACL required_parameters"],
    remediation="Add a condition that binds the encryption context to the caller's tenant "
                "(e.g. StringEquals kms:EncryptionContext:tenant = ${aws:PrincipalTag/tenant}) "
                "to every statement or grant that gives a tenant use of the key; in Vault, "
                "use a transit key created with derived=true (every use then needs a "
                "context) and pin each tenant policy's context with allowed_parameters.",
    applies_to=_shared_key, requires=["tenancy", "managed.access"], reads=[HOLDERS],
)
def test_tenant_shared_key_context(
    crypto_key: KeyRecord, crypto_audit_config: AuditConfig, crypto_note: Callable[[str], None],
) -> None:
    """A key shared by tenants is usable only under a per-tenant encryption context: every
    entry that gives a tenant's principal use of it requires one of the context keys."""
    tenancy = crypto_audit_config.tenancy
    wanted = set(tenancy.context_keys)
    by_tenant = tenancy.grant_tenants(_access(crypto_key))
    open_entries = sorted({f"{_entry(grant)} of tenant {tenant}"
                           for tenant, grants in by_tenant.items() for grant in grants
                           if Action.USE in grant.actions
                           and not wanted.intersection(grant.context_keys)})
    crypto_note(f"used by tenants: {', '.join(sorted(by_tenant)) or 'none named'}")
    assert not open_entries, (
        f"shared key used without a per-tenant encryption context "
        f"({' or '.join(sorted(wanted))}): {_listing(open_entries)}")
