"""A Managed HSM as the dedicated key store of its keys: its pool's state from Azure Resource
Manager (``Microsoft.KeyVault/managedHSMs``: ``provisioningState``, ``statusMessage``,
``securityDomainProperties.activationStatus``) as the key-store facts AWS custom key stores
and Cloud EKM connections fill, so the generic ``kms-key-store-connected`` judges every key
of a pool that is not active, and the system lists the keys that depend on each pool.

A pool is usable when it is provisioned (``Succeeded``, or ``Activated``) and its security
domain is ``Active``; a pool whose security domain was never downloaded is
``NotActivated``. A state the audit does not know, or an ``Unknown`` activation, is never
taken for connected: the fact is unreadable and the check errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...facts import KeyStoreState
from .arm import VaultProperties

#: ``provisioningState`` values and the store state they mean on their own.
PROVISIONING: dict[str, KeyStoreState | None] = {
    "succeeded": None, "activated": None,  # the security domain then decides
    "provisioning": KeyStoreState.CONNECTING, "updating": KeyStoreState.CONNECTING,
    "restoring": KeyStoreState.CONNECTING, "securitydomainrestore": KeyStoreState.CONNECTING,
    "deleting": KeyStoreState.DISCONNECTING, "failed": KeyStoreState.FAILED,
}
#: ``activationStatus`` values; ``Unknown`` is not listed: it is unreadable.
ACTIVATION = {"active": KeyStoreState.CONNECTED, "notactivated": KeyStoreState.DISCONNECTED,
              "failed": KeyStoreState.FAILED}


def describe_pool(hsm: VaultProperties) -> str:
    """The pool in ARM's words: name, provisioning state and security domain activation."""
    name = hsm.resource_id.rstrip("/").rsplit("/", 1)[-1] or hsm.url
    text = (f"Managed HSM {name}: provisioningState {hsm.provisioning_state or '(none)'}, "
            f"security domain {hsm.activation_status or '(not reported)'}")
    messages = [m for m in (hsm.status_message, hsm.activation_message) if m]
    return text + (f" ({'; '.join(messages)})" if messages else "")


def pool_facts(hsm: VaultProperties) -> tuple[dict[str, Any], str | None]:
    """(``key_store_state`` and ``key_store_detail``, or nothing and why unreadable)."""
    detail = describe_pool(hsm)
    provisioning = hsm.provisioning_state.lower()
    if provisioning not in PROVISIONING:
        return {}, f"{detail}: unknown provisioning state"
    state = PROVISIONING[provisioning] or ACTIVATION.get(hsm.activation_status.lower())
    if state is None:
        return {}, f"{detail}: the security domain's activation cannot be told"
    return {"key_store_state": state, "key_store_detail": detail}, None


def not_from_arm(url: str, subscriptions_listed: bool) -> str:
    """Why a Managed HSM's pool state is unreadable when ARM did not list it."""
    where = ("not found in the listed subscriptions" if subscriptions_listed
             else "read through Azure Resource Manager: name its subscription")
    return f"the pool state of Managed HSM {url} (provisioning, security domain): {where}"


def key_stores(pools: Iterable[str], facts_of: dict[str, tuple[dict[str, Any], str | None]],
               keys: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Each audited Managed HSM: its state, detail and the keys that depend on it (a pool
    whose keys could not be listed is listed with none)."""
    found = []
    for url in sorted(pools):
        facts, why = facts_of[url]
        state = facts.get("key_store_state")
        found.append({"id": url, "state": state.value if state else None,
                      "detail": facts.get("key_store_detail", why),
                      "keys": sorted(keys.get(url, ()))})
    return found
