"""The CEK-09 audit scope items a system's records show audited (guideline 3: KMS, HSMs,
encryption libraries, tenant isolation controls; guideline 9: BYOK/HYOK, tenant key
isolation), read from the records' facts, never from a provider's name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .facts import KeyOrigin, managed

ENCRYPTION_LIBRARIES = "encryption-libraries"
TENANT_ISOLATION = "tenant-isolation"
BYOK = "byok"
HYOK = "hyok"
#: The system attribute that lists a host's or image's crypto libraries.
LIBRARIES = "libraries"
#: The items beside the component classes, in the order reports list them.
ITEMS = (ENCRYPTION_LIBRARIES, TENANT_ISOLATION, BYOK, HYOK)


def key_items(keys: Iterable[Any]) -> dict[str, int]:
    """Scope item -> how many of ``keys`` show it audited."""
    counts = dict.fromkeys(ITEMS, 0)
    for key in keys:
        facts = managed(key)
        if "tenancy" in key.attributes:
            counts[TENANT_ISOLATION] += 1
        if facts is not None and facts.origin is KeyOrigin.IMPORTED:
            counts[BYOK] += 1
        if facts is not None and facts.origin is KeyOrigin.EXTERNAL:
            counts[HYOK] += 1
    return counts


def libraries_of(system: Any) -> list[Any]:
    """The crypto libraries a system record lists (a library inventory's subjects)."""
    return list(system.attributes.get(LIBRARIES) or ())


def system_items(system: Any, keys: Iterable[Any]) -> dict[str, int]:
    """Scope item -> count (libraries, keys) of the items this system's records cover;
    items it does not cover are left out."""
    counts = key_items(keys)
    counts[ENCRYPTION_LIBRARIES] = len(libraries_of(system))
    return {item: count for item, count in counts.items() if count}


#: What one audited subject of each item is called (singular, plural).
NOUNS = {ENCRYPTION_LIBRARIES: ("library", "libraries"),
         TENANT_ISOLATION: ("tenant key", "tenant keys"),
         BYOK: ("key with imported material", "keys with imported material"),
         HYOK: ("key in an external key store", "keys in external key stores")}


def describe(items: dict[str, int]) -> str:
    """``byok (2 keys with imported material), hyok (1 key in an external key store)``."""
    return ", ".join(f"{item} ({count} {NOUNS[item][count != 1]})"
                     for item, count in items.items())
