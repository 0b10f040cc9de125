"""The provider-neutral managed-key facts of a token's secret and private keys.

A token is a key store its owner runs, so the generic managed-key controls judge its keys
the way they judge a cloud key service's:

* ``manager``: the customer; a token holds no keys managed by a service.
* ``origin``: CKA_LOCAL true is ``generated`` (on the token, the key store itself); false is
  ``imported`` (created from a value, unwrapped, or derived: copies of its value may exist
  elsewhere, as with BYOK). CKA_LOCAL unreadable makes ``managed.origin`` unreadable.
* ``protection``: what the slot says: CKF_HW_SLOT is a hardware device (``hsm``: a network or
  PCIe HSM, a smart card); a slot without it is a software token such as SoftHSM2 (``software``).
  The system's ``protection`` option overrides it, for a vendor client that presents a
  hardware HSM through a software slot; the system's evidence says which one decided.
* ``state``: ``enabled``. Tokens enforce no lifecycle state: CKA_START_DATE and CKA_END_DATE
  are advisory (``unusable-after-end-date`` judges them), and a key past its end date can be
  used until its usage attributes are cleared. The SP 800-57 state the dates give
  (``pre-activation``, ``active``, ``deactivated``) is kept as ``native_state``.
* Tokens do not rotate, schedule deletions, replicate or expire key material: those facts
  stay unset, so the checks that judge them do not apply (``key-age`` judges the age).
* ``access`` is not reported: a token has one user, and who may use a key is whoever holds
  the PIN, which the token does not record. Extractability and sensitivity are PKCS#11's own
  (``never-extractable``, ``sensitive`` in the pack).

Public key objects carry no managed facts: a public key is no secret to protect, and
importing one (a peer's, a trust anchor) is ordinary, so judging its origin would be noise.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ..facts import KeyManager, KeyOrigin, KeyState, ManagedKeyFacts, ProtectionLevel

#: The object kinds that carry managed-key facts.
MANAGED_KINDS = ("secret-key", "private-key")
ORIGIN = "managed.origin"


def token_protection(hardware_slot: bool,
                     declared: str | None) -> tuple[ProtectionLevel, str]:
    """What protects a token's keys, and what says so (for the system's evidence)."""
    if declared is not None:
        return ProtectionLevel(declared), "the system's protection option"
    if hardware_slot:
        return ProtectionLevel.HSM, "slot flag CKF_HW_SLOT (a hardware device)"
    return ProtectionLevel.SOFTWARE, "slot without CKF_HW_SLOT (a software token)"


def managed_facts(kind: str, values: Mapping[str, Any], unreadable: Mapping[str, str],
                  protection: ProtectionLevel,
                  native_state: str | None) -> tuple[ManagedKeyFacts | None, dict[str, str]]:
    """The managed-key facts of one object (None for a public key) and the facts among them
    that could not be read, with the reason. ``values`` and ``unreadable`` are keyed by
    attribute name (``LOCAL``)."""
    if kind not in MANAGED_KINDS:
        return None, {}
    local = values.get("LOCAL")
    missing = {} if local is not None else {
        ORIGIN: unreadable.get("LOCAL", "the token did not return CKA_LOCAL")}
    # An unknown origin is recorded as generated only as a placeholder: managed.origin is
    # unreadable, so the checks that judge it error, and no BYOK custody note is made up.
    origin = KeyOrigin.GENERATED if local is None or local else KeyOrigin.IMPORTED
    return _facts(origin, protection, native_state or ""), missing


# The facts are frozen and a token's keys share a handful of combinations: one object
# serves them all, so thousands of keys cost no more than a few.
@functools.lru_cache(maxsize=64)
def _facts(origin: KeyOrigin, protection: ProtectionLevel, native_state: str) -> ManagedKeyFacts:
    return ManagedKeyFacts(manager=KeyManager.CUSTOMER, origin=origin, protection=protection,
                           state=KeyState.ENABLED, native_state=native_state)
