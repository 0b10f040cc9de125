"""A planted estate of Azure Managed HSM pools: one active, one whose pool failed (its keys
still listed), and one never activated (its data plane refuses every read), each a stand-in
data plane (see :mod:`.keyvault_standin`) listed by ARM as ``Microsoft.KeyVault/managedHSMs``
in one subscription. Each planted key carries the outcome ``kms-key-store-connected`` must
give it. The pools' local RBAC: officers administer every key of the payments pool and a
storage service only wraps with them (duties apart), while the branch pool's application
holds Crypto User on its key, which both uses and administers it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .keyvault_standin import (
    AUDITOR_OID,
    KeyVaultStandIn,
    StoredKey,
    hsm_role_assignment,
    managed_hsm_resource,
)

SUBSCRIPTION = "00000000-0000-4000-8000-0000000000a5"
FAIL, PASS = "failed", "passed"


@dataclasses.dataclass(frozen=True)
class PlantedPool:
    """One Managed HSM: its ARM states, whether its data plane serves, and its keys with
    the outcome of ``kms-key-store-connected`` each must get."""

    name: str
    provisioning_state: str = "Succeeded"
    activation_status: str = "Active"
    status_message: str = ""
    activation_message: str = ""
    refuse: bool = False
    keys: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Local RBAC: (scope, role GUID, principal object id).
    roles: tuple[tuple[str, str, str], ...] = ()


#: Built-in roles of a pool's local RBAC, by their fixed GUIDs.
CRYPTO_OFFICER = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
CRYPTO_USER = "21dbd100-6940-42c2-9190-5d6cb909625b"
CRYPTO_AUDITOR = "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3"
SERVICE_ENCRYPTION_USER = "33413926-3206-4cdd-b39a-83574fe37a17"
#: Principal object ids of the planted assignments.
OFFICERS = "0ff1ce00-0000-4000-8000-000000000001"
STORAGE_CMK = "5702a6e0-0000-4000-8000-000000000002"
BRANCH_APP = "b7a2c400-0000-4000-8000-000000000003"

POOLS: tuple[PlantedPool, ...] = (
    PlantedPool("hsm-payments", keys={"payments-rsa": PASS, "payments-ec": PASS},
                roles=(("/", CRYPTO_OFFICER, OFFICERS), ("/", CRYPTO_AUDITOR, AUDITOR_OID),
                       ("/keys", SERVICE_ENCRYPTION_USER, STORAGE_CMK))),
    PlantedPool("hsm-branch", provisioning_state="Failed",
                status_message="The pool's HSM partitions did not come up after an update.",
                keys={"branch-rsa": FAIL},
                roles=(("/", CRYPTO_OFFICER, OFFICERS),
                       ("/keys/branch-rsa", CRYPTO_USER, BRANCH_APP))),
    PlantedPool("hsm-new", activation_status="NotActivated",
                activation_message="Download the security domain to activate the pool.",
                refuse=True),
)
#: What the data plane of a pool that cannot serve answers (the stand-in's wording).
REFUSAL = (403, "Forbidden", "The Managed HSM pool is not activated.")


def start(folder: Path) -> dict[str, KeyVaultStandIn]:
    """One started stand-in per pool, from one test CA in ``folder``; the first also answers
    ARM for the subscription (close each when done)."""
    standins = {pool.name: KeyVaultStandIn(folder).__enter__() for pool in POOLS}
    now = datetime.now(UTC)
    resources = []
    for pool in POOLS:
        standin = standins[pool.name]
        resources.append(("managedHSMs", managed_hsm_resource(
            pool.name, standin.url, SUBSCRIPTION, provisioning_state=pool.provisioning_state,
            status_message=pool.status_message, activation_status=pool.activation_status,
            activation_message=pool.activation_message)))
        for label in pool.keys:
            rsa = label.endswith("rsa")
            standin.vault.add_key(StoredKey(
                label, "RSA-HSM" if rsa else "EC-HSM", size=3072 if rsa else None,
                curve=None if rsa else "P-384", tags={"owner": "payments-team"},
                versions={label.replace("-", "").ljust(32, "0"): now - timedelta(days=20)},
                expires=now + timedelta(days=300),
                rotation_policy={"lifetimeActions": [{"trigger": {"timeAfterCreate": "P90D"},
                                                      "action": {"type": "Rotate"}}],
                                 "attributes": {"expiryTime": "P1Y"}}))
        standin.hsm_role_assignments += [hsm_role_assignment(*role) for role in pool.roles]
        if pool.refuse:
            standin.data_plane_refusal = REFUSAL
    standins[POOLS[0].name].arm[SUBSCRIPTION] = resources
    return standins


def uids(standins: Mapping[str, KeyVaultStandIn]) -> dict[str, str]:
    """Planted key label -> record uid."""
    return {label: f"{standins[pool.name].url}/keys/{label}"
            for pool in POOLS for label in pool.keys}


def system(standins: Mapping[str, KeyVaultStandIn], token_env: str,
           **options: Any) -> dict[str, Any]:
    """The system auditing every pool of the subscription (found through ARM)."""
    first = standins[POOLS[0].name]
    return system_at(first.url, first.ca_file, token_env, **options)


def system_at(arm_url: str, ca_file: Path, token_env: str, **options: Any) -> dict[str, Any]:
    """The system, given the stand-in that answers ARM and the CA that signs them all."""
    return {"name": "mhsm", "provider": "azure-keyvault", "risk_tier": "high",
            "ssrm_owner": "CSC", "subscriptions": [SUBSCRIPTION], "arm_endpoint": arm_url,
            "credential": "access-token", "access_token_env": token_env,
            "ca_file": str(ca_file), "verify_challenge_resource": False,
            "graph_endpoint": arm_url, **options}
