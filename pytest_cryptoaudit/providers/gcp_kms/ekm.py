"""Cloud External Key Manager: the EKM connection behind each ``EXTERNAL_VPC`` key.

A key whose protection level is ``EXTERNAL_VPC`` names its ``EkmConnection`` in
``cryptoKeyBackend``. The connection is read once (``ekmConnections.get``: service resolvers,
key management mode, crypto space path) and its reachability asked once
(``ekmConnections.verifyConnectivity``); the answer fills the key-store facts that AWS custom
key stores fill, so the generic ``kms-key-store-connected`` judges every key of a broken
connection. A ``FAILED_PRECONDITION`` from ``verifyConnectivity`` is Google's word for "the
external key manager cannot be reached or refused": the store is failed. Any other refusal
(denied, not found, throttled past the back-off) means the audit could not look: the
state is unreadable, never connected.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from ...facts import KeyStoreState

NAME = "managed.key_store_state"
#: The ``google.rpc.Code`` verifyConnectivity answers when the EKM cannot be used.
UNREACHABLE = "FAILED_PRECONDITION"


@dataclasses.dataclass(frozen=True)
class StoreAnswer:
    """The key-store facts of one connection, or why they could not be read."""

    facts: dict[str, Any] = dataclasses.field(default_factory=dict)
    unreadable: str | None = None


def connection_summary(connection: Any) -> str:
    """The connection in its own words: name, key management mode, EKM hosts, crypto space."""
    hosts = sorted({resolver.hostname for resolver in connection.service_resolvers
                    if resolver.hostname})
    parts = [f"EkmConnection {connection.name.rsplit('/', 1)[-1]}",
             f"key management {connection.key_management_mode.name}",
             f"EKM {', '.join(hosts) or '(no service resolver)'}"]
    if connection.crypto_space_path:
        parts.append(f"crypto space {connection.crypto_space_path}")
    return ", ".join(parts)


def store_answer(summary: str, refusal: tuple[str, str] | None) -> StoreAnswer:
    """The facts of a connection read as ``summary``, given ``verifyConnectivity``'s refusal
    as (status, reason), or None where it succeeded."""
    if refusal is None:
        return StoreAnswer({"key_store_state": KeyStoreState.CONNECTED,
                            "key_store_detail": f"{summary}: verifyConnectivity succeeded"})
    status, reason = refusal
    if status == UNREACHABLE:
        return StoreAnswer({"key_store_state": KeyStoreState.FAILED,
                            "key_store_detail": f"{summary}: verifyConnectivity: {reason}"})
    return StoreAnswer(unreadable=f"{summary}: verifyConnectivity: {reason}")


class EkmBook:
    """Each EKM connection read once, however many keys depend on it (threads share it)."""

    def __init__(self, read: Callable[[str], StoreAnswer]) -> None:
        self._read = read
        self._answers: dict[str, StoreAnswer] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        #: Connection name -> the keys that depend on it.
        self.keys: dict[str, list[str]] = {}

    def answer(self, connection: str, key: str) -> StoreAnswer:
        with self._lock:
            lock = self._locks.setdefault(connection, threading.Lock())
            self.keys.setdefault(connection, []).append(key)
        with lock:
            if connection not in self._answers:
                self._answers[connection] = self._read(connection)
            return self._answers[connection]

    def stores(self) -> list[dict[str, Any]]:
        """Each connection with its state, detail and dependent keys (system attribute)."""
        found = []
        for name, keys in sorted(self.keys.items()):
            answer = self._answers.get(name, StoreAnswer(unreadable="not read"))
            state = answer.facts.get("key_store_state")
            found.append({"id": name, "state": state.value if state else None,
                          "detail": answer.facts.get("key_store_detail", answer.unreadable),
                          "keys": sorted(keys)})
        return found
