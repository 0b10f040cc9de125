"""The audited record behind a result (a key, an endpoint or a system), found by uid.

Per-test reports (the pytest-html extra, the Allure attachment) show the same attributes
that the evidence's ``inventory``, ``endpoints`` and ``systems`` carry: this looks them up
once per run instead of once per test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import Inventory
from ..serialize import to_jsonable


class Subjects:
    """Index of an inventory's records by uid, serialized as the evidence serializes them."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._records: dict[str, tuple[str, Any]] | None = None

    def _index(self) -> dict[str, tuple[str, Any]]:
        if self._records is None:
            records: dict[str, tuple[str, Any]] = {}
            for endpoint in getattr(self.inventory, "endpoints", ()):
                records[endpoint.uid] = ("endpoint", endpoint)
            for library in getattr(self.inventory, "libraries", ()):
                records[library.uid] = ("library", library)
            for key in self.inventory.keys:
                records[key.uid] = ("key", key)
            self._records = records
        return self._records

    def of(self, result: Mapping[str, Any]) -> dict[str, Any]:
        """``{"key": {...}}``, ``{"endpoint": {...}}``, ``{"library": {...}}`` or
        ``{"system": {...}}`` for a result's
        subject; empty when the subject could not be read at all (a discovery error)."""
        found = self._index().get(result["key_uid"])
        if found is not None:
            return {found[0]: to_jsonable(found[1])}
        system = self.inventory.system(result["system"])
        return {"system": to_jsonable(system)} if system else {}
