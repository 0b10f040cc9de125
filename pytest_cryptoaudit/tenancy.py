"""Tenants of a multi-tenant key estate, as ``[tenancy]`` declares them (CEK-09 guidelines 3
and 9: tenant isolation and tenant key isolation).

A tenant is what the configuration says it is: the value of a key tag or label
(``tenancy.tag``), whole systems (an AWS account per tenant, a Vault namespace configured as
its own system), key-name patterns, and the accounts and principal patterns of its callers.
The checks in ``controls/tenancy.py`` read the normalised access grants of each key
(``managed.access``), so they serve every key store whose provider fills them.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable
from typing import Annotated, Any

import pydantic

from .facts import Grant

Text = Annotated[str, pydantic.StringConstraints(min_length=1)]
_STRICT = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)


class Tenant(pydantic.BaseModel):
    """One ``[[tenancy.tenants]]`` entry: what belongs to the tenant."""

    model_config = _STRICT

    name: Text
    systems: list[Text] = pydantic.Field(
        default=[], description="Systems wholly the tenant's (an account or namespace each).")
    keys: list[Text] = pydantic.Field(
        default=[], description="Globs over key uids (ARNs, paths) and aliases.")
    accounts: list[Text] = pydantic.Field(
        default=[], description="Accounts (or projects, subscriptions) of the tenant's callers.")
    principals: list[Text] = pydantic.Field(
        default=[], description="Globs over the tenant's principals (ARNs, identities).")


class TenancyTable(pydantic.BaseModel):
    """``[tenancy]``: the tenants, how a key names its tenant, and the shared keys."""

    model_config = _STRICT

    tag: Text | None = pydantic.Field(
        default=None, description="Key tag or label whose value names the key's tenant "
                                  "(tenant_tag).")
    shared_value: Text = pydantic.Field(
        default="shared", description="The tag value of a key that serves several tenants.")
    shared_keys: list[Text] = pydantic.Field(
        default=[], description="Globs over keys that serve several tenants by design.")
    systems: list[Text] = pydantic.Field(
        default=[], description="Multi-tenant systems: their keys must each have a tenant.")
    context_keys: list[Text] = pydantic.Field(
        default=["tenant", "context", "associated_data"],
        description="Encryption-context keys that separate tenants on a shared key: AWS "
                    "kms:EncryptionContext: keys, and Vault transit's derivation context "
                    "(context) and associated data (associated_data).")
    tenants: list[Tenant] = []

    @pydantic.model_validator(mode="after")
    def _unique_names(self) -> TenancyTable:
        names = [t.name for t in self.tenants]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"tenant names must be unique: {', '.join(repeated)}")
        return self

    @property
    def declared(self) -> bool:
        return bool(self.tenants)

    def scoped(self, record: Any) -> bool:
        """True for a key of a multi-tenant system or of a tenant's own system."""
        return record.system in self.systems or any(record.system in t.systems
                                                     for t in self.tenants)

    def shared(self, record: Any) -> bool:
        """A key that serves several tenants by design (shared tag value or pattern)."""
        return ((self.tag is not None and record.tags.get(self.tag) == self.shared_value)
                or _matches(_names(record), self.shared_keys))

    def tenants_of_key(self, record: Any) -> list[str]:
        """Every tenant the configuration assigns the key to (one, if all is well)."""
        found = []
        tagged = record.tags.get(self.tag) if self.tag else None
        for tenant in self.tenants:
            if (tagged == tenant.name or record.system in tenant.systems
                    or _matches(_names(record), tenant.keys)):
                found.append(tenant.name)
        return found

    def annotate(self, record: Any) -> Any:
        """The key with ``attributes["tenancy"]`` (its tenants, and whether it is shared by
        design) where tenants are declared and the key is a tenant's or a multi-tenant
        system's; any other key unchanged."""
        if not self.declared:
            return record
        tenants, shared = self.tenants_of_key(record), self.shared(record)
        if not (tenants or shared or self.scoped(record)):
            return record
        facts = {"tenants": tenants, "shared": shared}
        return dataclasses.replace(record, attributes={**record.attributes, "tenancy": facts})

    def tenant_of_principal(self, principal: str) -> str | None:
        """The tenant whose accounts or principal patterns take in ``principal``."""
        for tenant in self.tenants:
            if _matches([principal], tenant.principals) or any(
                    principal == account or f":{account}:" in principal
                    for account in tenant.accounts):
                return tenant.name
        return None

    def grant_tenants(self, grants: Iterable[Grant]) -> dict[str, list[Grant]]:
        """Tenant -> the grants that let its principals act on the key."""
        by_tenant: dict[str, list[Grant]] = {}
        for grant in grants:
            tenant = self.tenant_of_principal(grant.principal)
            if tenant is not None:
                by_tenant.setdefault(tenant, []).append(grant)
        return by_tenant


def _names(record: Any) -> list[str]:
    aliases = record.attributes.get("aliases", ()) if hasattr(record, "attributes") else ()
    return [record.uid, *[str(a) for a in aliases]]


def _matches(names: Iterable[str], patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in patterns)
