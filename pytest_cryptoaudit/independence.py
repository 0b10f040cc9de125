"""Is the auditing identity a key administrator? (CEK-09 guideline 5: independent audits)

AWS KMS: the identity that ran the audit (the STS caller) must not be granted key
administration (``kms:Put*``, ``kms:Schedule*``, ``kms:Disable*``, ``kms:*`` ...) by the
key policies audited. Only key policies are evaluated; a statement for the account root
delegates to IAM, which is not read, and is reported as such. Vault/OpenBao: the token's
policies must not grant write (create, update, patch, delete, sudo) on ``transit/keys/*``
or ``sys/*``, apart from the self-service endpoints of Vault's default policy.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

AWS_ADMIN_ACTIONS = (
    "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:DisableKey",
    "kms:EnableKey", "kms:DisableKeyRotation", "kms:EnableKeyRotation", "kms:RotateKeyOnDemand",
    "kms:ImportKeyMaterial", "kms:DeleteImportedKeyMaterial", "kms:CreateGrant",
    "kms:RevokeGrant", "kms:UpdateKeyDescription", "kms:CreateAlias", "kms:DeleteAlias",
    "kms:UpdateAlias", "kms:UpdatePrimaryRegion", "kms:ReplicateKey", "kms:TagResource",
    "kms:UntagResource",
)
VAULT_WRITE = {"create", "update", "patch", "delete", "sudo"}
#: Endpoints under sys/ that Vault's default policy lets every token update: not admin.
VAULT_SELF_SERVICE = (
    "sys/capabilities-self", "sys/leases/renew", "sys/leases/lookup", "sys/renew",
    "sys/renew/*", "sys/wrapping/wrap", "sys/wrapping/lookup", "sys/wrapping/unwrap",
    "sys/tools/hash", "sys/tools/hash/*", "sys/tools/random", "sys/tools/random/*",
    "sys/control-group/request",
)


def identity_name(identity: Any) -> str:
    """The identity as one string: an ARN, or a Vault display name / entity id."""
    if isinstance(identity, Mapping):
        for key in ("arn", "Arn", "display_name", "entity_id", "name", "id"):
            if identity.get(key):
                return str(identity[key])
        return json.dumps(identity, sort_keys=True)
    return str(identity)


def configured_administrator(identity: Any, patterns: Iterable[str]) -> str | None:
    """The ``[auditor] administrators`` pattern that the identity matches, if any."""
    names = {identity_name(identity), *_aws_principal_forms(identity_name(identity))}
    return next((p for p in patterns for n in names if fnmatch.fnmatchcase(n, p)), None)


# -- AWS key policies -----------------------------------------------------------------------

def _aws_principal_forms(arn: str) -> set[str]:
    """The principal ARNs a key policy may use for ``arn`` (an assumed role is its role)."""
    forms = {arn}
    match = re.match(r"arn:(aws[\w-]*):sts::(\d+):assumed-role/([^/]+)/", arn)
    if match:
        forms.add(f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}")
    return forms


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or ()]


def _without_role_path(arn: str) -> str:
    """``arn:aws:iam::1:role/path/Name`` -> ``arn:aws:iam::1:role/Name``."""
    return re.sub(r":role/(?:.*/)?([^/]+)$", r":role/\1", arn)


def _names_identity(principal: Any, forms: set[str]) -> bool:
    if principal == "*":
        return True
    values = _listed(principal.get("AWS")) if isinstance(principal, Mapping) else []
    return any(v == "*" or _without_role_path(v) in forms for v in values)


def _applies_to(statement: Mapping[str, Any], forms: set[str]) -> bool:
    if "NotPrincipal" in statement:
        return not _names_identity(statement["NotPrincipal"], forms)
    return _names_identity(statement.get("Principal"), forms)


def _covers(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(fnmatch.fnmatch(action.lower(), p.lower())
                       for p in _listed(statement["NotAction"]))
    return any(fnmatch.fnmatch(action.lower(), p.lower()) for p in _listed(statement.get("Action")))


def parse_policy(policy: Any) -> list[Mapping[str, Any]]:
    """The statements of a key policy given as JSON text or a parsed document."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document.get("Statement", []) if isinstance(document, Mapping) else None
    if statements is None:
        raise ValueError("not a policy document")
    return [statements] if isinstance(statements, Mapping) else list(statements)


def aws_admin_actions(identity: Any, policy: Any) -> list[str]:
    """The administrative actions the key policy grants the identity (none: independent)."""
    forms = _aws_principal_forms(identity_name(identity))
    statements = [s for s in parse_policy(policy) if _applies_to(s, forms)]
    allowed = [s for s in statements if s.get("Effect") == "Allow"]
    denied = [s for s in statements if s.get("Effect") == "Deny"]
    return [a for a in AWS_ADMIN_ACTIONS
            if any(_covers(s, a) for s in allowed) and not any(_covers(s, a) for s in denied)]


def delegates_to_account(policy: Any) -> bool:
    """True if a statement allows the account root (IAM policies then decide)."""
    for statement in parse_policy(policy):
        principal = statement.get("Principal")
        values = _listed(principal.get("AWS")) if isinstance(principal, Mapping) else []
        if statement.get("Effect") == "Allow" and any(
                v.endswith(":root") or v.isdigit() for v in values):
            return True
    return False


# -- Vault policies ---------------------------------------------------------------------------

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


def _self_service(pattern: str) -> bool:
    return pattern in VAULT_SELF_SERVICE


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


def vault_admin_paths(policies: Mapping[str, Any], transit_mounts: Iterable[str]) -> list[str]:
    """``policy: path (capabilities)`` for every rule granting write on keys or ``sys/``."""
    protected = [m.rstrip("/") + "/keys/" for m in transit_mounts] + ["sys/"]
    found = []
    for name, rules in sorted(policies.items()):
        if name == "root":
            found.append("root: every path (root policy)")
            continue
        for path, capabilities in sorted(vault_rules(rules).items()):
            write = capabilities & VAULT_WRITE
            if "deny" in capabilities or not write or _self_service(path):
                continue
            if any(_overlaps(path, p) for p in protected):
                found.append(f"{name}: {path} ({', '.join(sorted(write))})")
    return found
