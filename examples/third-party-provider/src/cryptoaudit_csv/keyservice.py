"""A third-party provider for an imaginary key service, "Acme Key Service", whose console
exports its keys as JSON. It writes no control: it fills the typed managed-key facts, and
every generic managed-key check of pytest-cryptoaudit (rotation, state, deletion, origin,
key store, imported material, access) audits its keys.

The export, one object per key::

    {"keys": [{"id": "orders", "algorithm": "AES", "size": 256, "created": "2026-01-01",
               "state": "enabled", "origin": "generated", "manager": "customer",
               "rotation": {"automatic": true, "period_days": 90},
               "access": [{"principal": "acme:team/orders", "kind": "role",
                           "actions": ["use"], "source": "key-policy"}]}],
     "auditor": {"identity": "acme:user/auditor", "admin_rights": []}}
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_cryptoaudit import Provider, ProviderOptions
from pytest_cryptoaudit.facts import Deletion, Grant, ManagedKeyFacts, ProtectionLevel, Rotation


class AcmeKeyServiceOptions(ProviderOptions):
    export: str


def _date(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None


def _facts(key: dict[str, Any]) -> ManagedKeyFacts:
    rotation = key.get("rotation")
    deletion = key.get("deletion")
    return ManagedKeyFacts(
        manager=key.get("manager", "customer"),
        origin=key.get("origin", "generated"),
        protection=key.get("protection", ProtectionLevel.HSM),
        state=key["state"],
        can_rotate=rotation is not None,
        rotation=Rotation(rotation["automatic"], rotation.get("period_days"))
        if rotation else None,
        deletion=Deletion(_date(deletion)) if deletion else None,
        key_store=key.get("key_store"),
        material_expires=key.get("material_expires"),
        access=tuple(Grant(**entry) for entry in key.get("access", ())),
    )


class AcmeKeyServiceProvider(Provider):
    """Reads an Acme Key Service export; a key that does not parse is a discovery error."""

    name = "acme-keys"
    component = "kms"
    Options = AcmeKeyServiceOptions

    def discover(self, system, context):
        path = Path(system.options.export)
        path = path if path.is_absolute() else context.base_dir / path
        try:
            export = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            attempt = self.new_discovery(system)
            attempt.error(f"cannot read the export {path}: {exc}")
            return attempt
        auditor = export.get("auditor", {})
        attempt = self.new_discovery(system, auditor_identity=auditor.get("identity"),
                                     auditor_admin_rights=auditor.get("admin_rights"))
        for key in export.get("keys", ()):
            uid = f"acme:{key.get('id')}"
            try:
                attempt.add_key(uid, "secret-key", algorithm=key["algorithm"],
                                size=int(key["size"]), created=_date(key["created"]),
                                managed=_facts(key))
            except (KeyError, TypeError, ValueError) as exc:
                attempt.error(f"key {key.get('id')}: {exc}", key_uid=uid)
        return attempt
