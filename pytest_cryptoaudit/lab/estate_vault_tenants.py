"""The multi-tenant part of the lab's OpenBao: a namespace ``tenants`` serving acme and globex.

Planted: an entity of globex holding a policy named for acme's reports (only the holders show
it reaches acme's key), and a plain transit key shared by both tenants (no per-tenant
context); clean: each tenant's own key and a shared key created with ``derived=true``. The
audit token is a root-namespace token whose policy reads the namespace too.
"""

from __future__ import annotations

from typing import Any

from ..providers.vault.client import namespace_ancestors
from . import openbao

NAMESPACE = "tenants"
SYSTEM = "vault-tenants"
ROTATE = {"auto_rotate_period": "720h"}
KEYS: dict[str, dict[str, Any]] = {
    "acme-records": ROTATE, "globex-records": ROTATE,
    "shared-derived": {**ROTATE, "derived": True}, "shared-plain": ROTATE,
}
#: Expected outcomes of the tenant checks, by key.
EXPECT = {
    "acme-records": {"tenant-key-isolation": "failed"},
    "globex-records": {"tenant-key-isolation": "passed"},
    "shared-derived": {"tenant-shared-key-context": "passed"},
    "shared-plain": {"tenant-shared-key-context": "failed"},
}


def _use(*keys: str) -> str:
    return "".join(f'path "transit/{op}/{key}" {{ capabilities = ["update"] }}\n'
                   for key in keys for op in ("encrypt", "decrypt"))


POLICIES = {
    "acme-app": _use("acme-records", "shared-derived", "shared-plain"),
    "globex-app": _use("globex-records", "shared-derived", "shared-plain"),
    "acme-reports": 'path "transit/decrypt/acme-records" { capabilities = ["update"] }',
}


def namespaced_auditor_policy(namespace: str = NAMESPACE) -> str:
    """The read-only audit policy for the root namespace and, by path prefix, ``namespace``
    and every namespace between them (``org/`` and ``org/div/`` for ``org/div/team``),
    whose policies and holders the provider reads too."""
    lines = openbao.AUDITOR_POLICY.splitlines()
    prefixes = [f"{above}/" if above else "" for above in namespace_ancestors(namespace)]
    return "\n".join(line.replace('path "', f'path "{prefix}', 1)
                     for prefix in [*prefixes, f"{namespace.strip('/')}/"]
                     for line in lines) + "\n"


def seed_tenants(server: openbao.BaoServer) -> None:
    """Create the namespace with its keys, policies, entities, group and auth role."""
    server.client().write_data(f"sys/namespaces/{NAMESPACE}", data={})
    client = server.client(namespace=NAMESPACE)
    openbao.enable_engine(client, "transit", "transit")
    for name, settings in KEYS.items():
        openbao.create_transit_key(client, "transit", name, "aes256-gcm96", **settings)
    for name, rules in POLICIES.items():
        openbao.write_policy(client, name, rules)
    openbao.create_entity(client, "acme-svc", ["acme-app"])
    analyst = openbao.create_entity(client, "globex-analyst", ["acme-reports"])
    openbao.create_group(client, "globex-ops", ["globex-app"], [analyst])
    openbao.enable_auth(client, "approle", "approle")
    openbao.write_auth_entry(client, "auth/approle/role/acme-batch",
                             token_policies=["acme-app"])


def tenant_system(url: str, token_env: str) -> dict[str, Any]:
    return {"name": SYSTEM, "provider": "vault", "risk_tier": "high", "ssrm_owner": "CSC",
            "accountable_owner": "platform-team", "url": url, "token_env": token_env,
            "namespace": NAMESPACE, "mounts": ["transit"], "admin_policies": ["lab-admin"]}


def tenancy() -> dict[str, Any]:
    """The ``[tenancy]`` part of the namespace: its keys and principals per tenant."""
    prefix = f"vault:{SYSTEM}/transit/"
    tenants = [{"name": name, "keys": [f"{prefix}{name}-*"],
                "principals": [f"*:{NAMESPACE}/{name}-*", f"auth:{NAMESPACE}/auth/*/{name}-*"]}
               for name in ("acme", "globex")]
    return {"systems": [SYSTEM], "shared_keys": [f"{prefix}shared-*"], "tenants": tenants}


def merge_tenancy(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two ``[tenancy]`` tables as one: lists joined, tenants of one name merged."""
    merged = {**first, **{k: v for k, v in second.items() if k not in ("tenants",)}}
    for field in ("systems", "shared_keys"):
        merged[field] = [*first.get(field, []), *second.get(field, [])]
    tenants: dict[str, dict[str, Any]] = {}
    for tenant in [*first.get("tenants", []), *second.get("tenants", [])]:
        entry = tenants.setdefault(tenant["name"], {"name": tenant["name"]})
        for field, values in tenant.items():
            if field != "name":
                entry[field] = [*entry.get(field, []), *values]
    merged["tenants"] = list(tenants.values())
    return merged
