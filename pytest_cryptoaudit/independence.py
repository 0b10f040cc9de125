"""Is the auditing identity a key administrator? (CEK-09 guideline 5: independent audits)

Each provider answers for its own service in the system fact ``auditor_admin_rights`` (the
administrative rights its access rules give the identity that ran the audit), and may list
``auditor_names``, the other names the identity goes by. What is generic lives here: naming
the identity, and matching it against the configured ``[auditor] administrators``.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from typing import Any


def identity_name(identity: Any) -> str:
    """The identity as one string: an ARN, a Vault display name / entity id, or the
    identities of several accounts (account -> caller) joined."""
    if isinstance(identity, Mapping):
        for key in ("arn", "Arn", "display_name", "entity_id", "name", "id"):
            if identity.get(key):
                return str(identity[key])
        if identity and all(isinstance(v, str) for v in identity.values()):
            return ", ".join(str(identity[k]) for k in sorted(identity))
        return json.dumps(identity, sort_keys=True)
    return str(identity)


def configured_administrator(identity: Any, patterns: Iterable[str],
                             names: Iterable[str] = ()) -> str | None:
    """The ``[auditor] administrators`` pattern that the identity (or one of the other
    ``names`` the provider knows it by) matches, if any."""
    candidates = {identity_name(identity), *names}
    if isinstance(identity, Mapping) and all(isinstance(v, str) for v in identity.values()):
        candidates.update(identity.values())
    return next((p for p in patterns for n in sorted(candidates)
                 if fnmatch.fnmatchcase(n, p)), None)
