"""Is the auditing token a key administrator of a Vault/OpenBao server? (CEK-09 guideline 5)

The token's policies must not grant write (create, update, patch, delete, sudo) on
``<transit mount>/keys/*`` or ``sys/*``, apart from the self-service endpoints of Vault's
default policy. The answer is the system fact ``auditor_admin_rights`` that the generic
``auditor-independent`` check judges.

A token made in a namespace above the audited one (a root token auditing ``team``, the
usual set-up) holds policies of that namespace: they are judged there, on the audited
namespace's paths as seen from it (``team/transit/keys/*``), and on the ``sys/`` of every
namespace from it down to the audited one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .client import path_prefixes

VAULT_WRITE = {"create", "update", "patch", "delete", "sudo"}
#: Endpoints under sys/ that Vault's default policy lets every token update: not admin.
VAULT_SELF_SERVICE = (
    "sys/capabilities-self", "sys/leases/renew", "sys/leases/lookup", "sys/renew",
    "sys/renew/*", "sys/wrapping/wrap", "sys/wrapping/lookup", "sys/wrapping/unwrap",
    "sys/tools/hash", "sys/tools/hash/*", "sys/tools/random", "sys/tools/random/*",
    "sys/control-group/request",
    # Listing audit devices needs sudo on this exact path; devices are enabled and disabled
    # only at sys/audit/NAME (the least-privilege check exempts it too: vault_exempt_paths).
    "sys/audit",
)




def vault_rules(rules: Any) -> dict[str, set[str]]:
    """``{path pattern: capabilities}`` from a policy in HCL or JSON (text or parsed)."""
    if isinstance(rules, str) and rules.lstrip().startswith("{"):
        rules = json.loads(rules)
    if isinstance(rules, Mapping):  # JSON policy, or already parsed to path -> capabilities
        paths = rules.get("path", rules)
        return {p: set(body.get("capabilities", ()) if isinstance(body, Mapping) else body)
                for p, body in paths.items()}
    return {match[0]: set(re.findall(r'"([a-z]+)"', _capabilities(match[1])))
            for match in _hcl_paths(str(rules))}


def _hcl_paths(text: str) -> list[tuple[str, str]]:
    """Each ``path "..." { ... }`` block with its body, braces matched."""
    blocks = []
    for match in re.finditer(r'path\s+"([^"]+)"\s*\{', text):
        depth, end = 1, match.end()
        while depth and end < len(text):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        blocks.append((match[1], text[match.end():end - 1]))
    return blocks


def _capabilities(body: str) -> str:
    found = re.search(r"capabilities\s*=\s*\[([^\]]*)\]", body)
    return found[1] if found else ""


def _literal_prefix(pattern: str) -> str:
    return re.split(r"[*+]", pattern, maxsplit=1)[0]


def _overlaps(pattern: str, protected: str) -> bool:
    literal = _literal_prefix(pattern)
    has_glob = literal != pattern
    return literal.startswith(protected) or (has_glob and protected.startswith(literal))


def token_policies(identity: Mapping[str, Any], acl_policies: Mapping[str, Any],
                   admin_policies: Iterable[str] = ("root",)) -> tuple[dict[str, Any], list[str]]:
    """The rules of the auditing token's policies, and the names whose rules are missing.

    An admin policy (``root`` and the provider's ``admin_policies``) stands for every path.
    """
    rules: dict[str, Any] = {}
    missing = []
    admins = set(admin_policies)
    for name in identity.get("policies") or ():
        if name in admins:
            rules["root" if name == "root" else name] = {"path": {"*": {"capabilities": [
                "create", "update", "delete", "sudo"]}}}
        elif name in acl_policies:
            rules[name] = acl_policies[name]
        else:
            missing.append(name)
    return rules, missing


def vault_admin_paths(policies: Mapping[str, Any], transit_mounts: Iterable[str],
                      below: str = "") -> list[str]:
    """``policy: path (capabilities)`` for every rule granting write on keys or ``sys/``.
    ``below``: the audited namespace as seen from the policies' own (``a/b``), "" when they
    are its own."""
    steps = path_prefixes(below)
    protected = [steps[-1] + m.strip("/") + "/keys/" for m in transit_mounts] + [
        f"{step}sys/" for step in steps]
    exempt = {step + path for step in steps for path in VAULT_SELF_SERVICE}
    found = []
    for name, rules in sorted(policies.items()):
        if name == "root":
            found.append("root: every path (root policy)")
            continue
        for path, capabilities in sorted(vault_rules(rules).items()):
            write = capabilities & VAULT_WRITE
            if "deny" in capabilities or not write or path in exempt:
                continue
            if any(_overlaps(path, p) for p in protected):
                found.append(f"{name}: {path} ({', '.join(sorted(write))})")
    return found


def admin_rights(attributes: Mapping[str, Any], unreadable: Mapping[str, str],
                 audited: str | None = None,
                 above: Mapping[str, tuple[str, Mapping[str, Any] | None]] | None = None,
                 ) -> dict[str, Any]:
    """``auditor_admin_rights`` from the token's identity and the ACL policies read, or the
    reason it cannot be told (as ``unreadable``). ``audited``: the system's namespace;
    ``above``: each namespace above it -> (the audited one as seen from there, its policies
    or None where they were not read)."""
    for needed in ("auditor_identity", "acl_policies"):
        if attributes.get(needed) is None:
            why = unreadable.get(needed, "not reported by the provider")
            return {"unreadable": f"{needed}: {why}"}
    identity = attributes["auditor_identity"]
    home = str(identity.get("namespace") or "")
    below, acl_policies = "", attributes["acl_policies"]
    if home != (audited or "").strip("/"):
        if home not in (above or {}):
            return {"unreadable": f"the auditing token belongs to namespace {home or 'root'}, "
                                  "neither the audited namespace nor one above it"}
        below, policies_there = (above or {})[home]
        if policies_there is None:
            return {"unreadable": "the ACL policies of the auditing token's namespace "
                                  f"({home or 'root'}) were not read"}
        acl_policies = policies_there
    policies, missing = token_policies(identity, acl_policies,
                                       attributes.get("admin_policies", ["root"]))
    if missing:
        where = f" (namespace {home or 'root'})" if below else ""
        return {"unreadable": f"rules of the auditing token's policies{where} not read: "
                              + ", ".join(missing)}
    mounts = attributes.get("transit_mounts") or ["transit/"]
    return {"auditor_admin_rights": vault_admin_paths(policies, mounts, below),
            "auditor_notes": []}
