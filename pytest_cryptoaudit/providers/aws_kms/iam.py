"""What IAM grants on KMS keys: the auditing identity's own policies, for keys whose policy
delegates to the account (CEK-09 independence), and every account's policies that allow
decryption with all its keys (CEK-08, AWS Security Hub KMS.1 and KMS.2).

A key policy statement for the account root (``arn:aws:iam::111111111111:root``, the
default key policy) lets IAM policies grant the actions it allows. So whether the auditing
identity may administer such a key depends on its identity-based policies: its inline and
attached policies, those of its groups (a user), and its permissions boundary. They are read
here (IAM is global: one read per account) and judged per key.

Evaluation, as AWS evaluates within one account, erring towards reporting a right: an Allow
counts whatever its condition; a Deny counts only without a condition; a permissions
boundary caps what the identity policies allow. Service control policies, resource control
policies and session policies are not read: they can only narrow the rights found. IAM
actions that would change the identity's own rights (its policies, groups, boundary, the
versions of the policies attached to it) are rights too: with them it may grant itself the
rest.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .clients import MALFORMED, PaginationError
from .independence import covers, parse_policy

Statement = Mapping[str, Any]


#: (verb, object) of the IAM actions on a user or role that change its own rights:
#: ``iam:PutRolePolicy``, ``iam:AttachUserPolicy``, ``iam:DeleteRolePermissionsBoundary``...
SELF_CHANGES = (("Put", "Policy"), ("Attach", "Policy"), ("Put", "PermissionsBoundary"),
                ("Delete", "PermissionsBoundary"))


class IamUnreadable(Exception):
    """The identity's IAM policies could not be read (the message says why)."""


@dataclasses.dataclass(frozen=True)
class IdentityPolicies:
    """One identity's identity-based policies: (source, statements) pairs and its boundary."""

    principal: str  # "role cryptoaudit", "user alice", "the account root user"
    policies: tuple[tuple[str, tuple[Statement, ...]], ...] = ()
    boundary: tuple[Statement, ...] | None = None
    root: bool = False
    #: (resource ARN, IAM actions on it that would change this identity's own rights): its
    #: own policies and boundary, its groups' policies, the managed policies attached to it.
    changeable: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def self_grants(self) -> dict[str, list[str]]:
        """Source -> the IAM actions this identity may take to change its own rights (and so
        grant itself whatever a key policy delegates to the account)."""
        found: dict[str, list[str]] = {}
        for resource, actions in self.changeable:
            for source, _, allowed in self.allowing(resource, actions):
                found.setdefault(source, [])
                found[source] += [a for a in allowed if a not in found[source]]
        return found

    def admin_actions(self, key_arn: str, delegated: Iterable[str]) -> dict[str, list[str]]:
        """Source -> the administrative actions (of ``delegated``, those the key policy lets
        IAM grant on ``key_arn``) this identity's policies allow there."""
        delegated = list(delegated)
        if self.root:  # IAM policies cannot restrict the account's root user
            return {self.principal: delegated} if delegated else {}
        rights: dict[str, list[str]] = {}
        for source, _, actions in self.allowing(key_arn, delegated):
            rights.setdefault(source, [])
            rights[source] += [a for a in actions if a not in rights[source]]
        return {source: [a for a in delegated if a in actions]
                for source, actions in rights.items()}

    def allowing(self, key_arn: str, actions: Iterable[str]
                 ) -> list[tuple[str, Statement, list[str]]]:
        """``(source, statement, actions)`` of each Allow statement that gives this identity
        some of ``actions`` on ``key_arn``, after its Denies and its permissions boundary."""
        actions = list(actions)
        # The statements whose resources reach the key, each judged once for this key.
        policies = [(source, [s for s in policy if reaches(s, key_arn)])
                    for source, policy in self.policies]
        denied = {a for a in actions for _, policy in policies
                  if any(_denies(s, a) for s in policy)}
        if self.boundary is not None:
            bound = [s for s in self.boundary if reaches(s, key_arn)]
            denied |= {a for a in actions if any(_denies(s, a) for s in bound)
                       or not any(_allows(s, a) for s in bound)}
        found = []
        for source, policy in policies:
            for statement in policy:
                allowed = [a for a in actions if a not in denied and _allows(statement, a)]
                if allowed:
                    found.append((source, statement, allowed))
        return found


@functools.lru_cache(maxsize=4096)
def _pattern(value: str) -> re.Pattern[str]:
    """An IAM resource pattern: ``*`` and ``?`` are wildcards, and so is a policy variable
    (``${aws:username}``), since it may stand for anything here."""
    parts = re.split(r"(\$\{[^}]*\}|\*|\?)", value)
    return re.compile("".join(".*" if p.startswith("${") or p == "*" else "." if p == "?"
                              else re.escape(p) for p in parts), re.DOTALL)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or ()]


def reaches(statement: Statement, arn: str) -> bool:
    """Does the statement's Resource (or NotResource) cover ``arn``? No Resource: anything."""
    if "NotResource" in statement:
        return not any(_pattern(p).fullmatch(arn) for p in _listed(statement["NotResource"]))
    resources = _listed(statement.get("Resource", "*"))
    return any(_pattern(p).fullmatch(arn) for p in resources)


def _allows(statement: Statement, action: str) -> bool:
    return statement.get("Effect") == "Allow" and covers(statement, action)


def _denies(statement: Statement, action: str) -> bool:
    """An unconditional Deny: a conditional one may not apply, so it does not remove a right."""
    return (statement.get("Effect") == "Deny" and not statement.get("Condition")
            and covers(statement, action))


# -- reading -------------------------------------------------------------------------------

def identity_of(arn: str) -> tuple[str, str]:
    """(kind, name) of a caller ARN: ``root``, ``role`` (an assumed-role session's role) or
    ``user``; raises :class:`IamUnreadable` for anything else (a federated user's rights
    depend on a session policy that cannot be read)."""
    if re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:root", arn):
        return "root", ""
    match = (re.fullmatch(r"arn:aws[\w-]*:sts::\d{12}:assumed-role/([^/]+)/.+", arn)
             or re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/(?:.*/)?([^/]+)", arn))
    if match:
        return "role", match[1]
    match = re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:user/(?:.*/)?([^/]+)", arn)
    if match:
        return "user", match[1]
    raise IamUnreadable(f"{arn} is not an IAM user, an assumed role or the account root "
                        "user, so its IAM policies cannot be read")


def _each_page(call: Callable[..., Mapping[str, Any]], what: str,
               **arguments: Any) -> Iterator[Mapping[str, Any]]:
    """Every page of an IAM listing (IsTruncated / Marker); a repeated marker ends it with
    an error naming ``what``."""
    seen: set[str] = set()
    marker: str | None = None
    while True:
        page = call(**arguments, **({"Marker": marker} if marker else {}))
        yield page
        marker = page.get("Marker") if page.get("IsTruncated") else None
        if not marker:
            return
        if marker in seen:
            raise PaginationError(f"{what} repeated a pagination marker; abandoned")
        seen.add(marker)


def _pages(call: Callable[..., Mapping[str, Any]], key: str, **arguments: Any) -> list[Any]:
    """Every item of an IAM listing."""
    return [item for page in _each_page(call, "IAM listing", **arguments)
            for item in page.get(key, [])]


def policy_statements(value: Any) -> tuple[Statement, ...]:
    """A policy document as botocore returns it (decoded) or as JSON text."""
    from urllib.parse import unquote

    if isinstance(value, str) and value.lstrip().startswith("%"):
        value = unquote(value)
    return tuple(parse_policy(value))


@dataclasses.dataclass(frozen=True)
class Entity:
    """What IAM says of one user, role or group: its inline policies (name, document), the
    ARNs of its attached managed policies, and its permissions boundary's ARN."""

    kind: str  # "user", "role" or "group"
    name: str
    arn: str
    inline: tuple[tuple[str, Any], ...] = ()
    attached: tuple[str, ...] = ()
    boundary: str | None = None

    @classmethod
    def of_details(cls, kind: str, entry: Mapping[str, Any]) -> Entity:
        """From an entry of GetAccountAuthorizationDetails (its ``...DetailList``)."""
        title = kind.title()
        return cls(kind, str(entry[f"{title}Name"]), str(entry["Arn"]),
                   tuple((str(p["PolicyName"]), p["PolicyDocument"])
                         for p in entry.get(f"{title}PolicyList", [])),
                   tuple(str(p["PolicyArn"]) for p in entry.get("AttachedManagedPolicies", [])),
                   (entry.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"))


class IamReader:
    """Reads identities' policies through one IAM client; managed policies are read once."""

    def __init__(self, iam: Any) -> None:
        self.iam = iam
        self._managed: dict[str, tuple[Statement, ...]] = {}

    def learn(self, details: Mapping[str, list[Any]]) -> None:
        """Keep the default version of each managed policy the account details list, so
        that none of them is read again."""
        for policy in details["Policies"]:
            default = [v for v in policy.get("PolicyVersionList", [])
                       if v.get("IsDefaultVersion")]
            if default:
                self._managed[policy["Arn"]] = policy_statements(default[0]["Document"])

    def managed(self, arn: str) -> tuple[Statement, ...]:
        if arn not in self._managed:
            version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = self.iam.get_policy_version(PolicyArn=arn, VersionId=version)
            self._managed[arn] = policy_statements(document["PolicyVersion"]["Document"])
        return self._managed[arn]

    def _entity(self, kind: str, name: str, arn: str, boundary: str | None = None) -> Entity:
        """A user, role or group read through the API (its policy listings)."""
        argument = {f"{kind.title()}Name": name}
        inline = getattr(self.iam, f"get_{kind}_policy")
        return Entity(
            kind, name, arn,
            tuple((policy, inline(**argument, PolicyName=policy)["PolicyDocument"])
                  for policy in _pages(getattr(self.iam, f"list_{kind}_policies"),
                                       "PolicyNames", **argument)),
            tuple(entry["PolicyArn"] for entry in _pages(
                getattr(self.iam, f"list_attached_{kind}_policies"), "AttachedPolicies",
                **argument)),
            boundary)

    def identity(self, caller_arn: str,
                 details: Mapping[str, list[Any]] | None = None) -> IdentityPolicies:
        """The caller's policies: from the account's authorization details when they were
        read anyway, else through the API (GetRole or GetUser and the policy listings)."""
        kind, name = identity_of(caller_arn)
        if kind == "root":
            return IdentityPolicies("the account root user", root=True)
        if details is not None:
            return self._from_details(kind, name, details)
        entry = (self.iam.get_role(RoleName=name)["Role"] if kind == "role"
                 else self.iam.get_user(UserName=name)["User"])
        boundary = (entry.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        entity = self._entity(kind, name, str(entry["Arn"]), boundary)
        groups = [self._entity("group", g["GroupName"], str(g["Arn"]))
                  for g in (_pages(self.iam.list_groups_for_user, "Groups", UserName=name)
                            if kind == "user" else ())]
        return self.policies_of(entity, groups)

    def _from_details(self, kind: str, name: str,
                      details: Mapping[str, list[Any]]) -> IdentityPolicies:
        entries = [e for e in details[f"{kind.title()}DetailList"]
                   if e.get(f"{kind.title()}Name") == name]
        if not entries:
            raise IamUnreadable(f"{kind} {name} is not in the account's authorization "
                                "details (GetAccountAuthorizationDetails)")
        self.learn(details)
        groups = {g["GroupName"]: g for g in details["GroupDetailList"]}
        return self.policies_of(Entity.of_details(kind, entries[0]), [
            Entity.of_details("group", groups[group]) for group in entries[0].get("GroupList", [])])

    def policies_of(self, entity: Entity, groups: Iterable[Entity] = ()) -> IdentityPolicies:
        """A user's or role's policies, those of its groups, its boundary, and what it could
        change to change its own rights."""
        groups = list(groups)
        title = entity.kind.title()
        policies = [(f"inline policy {name} of {e.kind} {e.name}", policy_statements(document))
                    for e in (entity, *groups) for name, document in e.inline]
        policies += [(f"policy {arn} attached to {e.kind} {e.name}", self.managed(arn))
                     for e in (entity, *groups) for arn in e.attached]
        changeable = [(entity.arn, tuple(f"iam:{verb}{title}{what}"
                                         for verb, what in SELF_CHANGES))]
        if entity.kind == "user":
            _, partition, _, _, account, _ = entity.arn.split(":", 5)
            changeable.append((f"arn:{partition}:iam::{account}:group/any-group",
                               ("iam:AddUserToGroup",)))
            changeable += [(g.arn, ("iam:PutGroupPolicy", "iam:AttachGroupPolicy"))
                           for g in groups]
        changeable += [(arn, ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"))
                       for arn in dict.fromkeys(a for e in (entity, *groups) for a in e.attached)
                       if ":iam::aws:policy/" not in arn]
        boundary = self.managed(entity.boundary) if entity.boundary else None
        return IdentityPolicies(f"{entity.kind} {entity.name}", tuple(policies), boundary,
                                changeable=tuple(changeable))


def read_identity(iam: Any, caller_arn: str, errors: tuple[type[Exception], ...],
                  details: Mapping[str, list[Any]] | None = None) -> IdentityPolicies:
    """The caller's IAM policies (from ``details`` when given); any refusal or malformed
    document is :class:`IamUnreadable` naming the identity and the reason."""
    from .clients import describe

    try:
        return IamReader(iam).identity(caller_arn, details)
    except IamUnreadable:
        raise
    except errors + MALFORMED as exc:
        raise IamUnreadable(f"IAM policies of {caller_arn} unreadable: {describe(exc)}") from exc


# -- IAM policies that allow decryption with every key (AWS FSBP KMS.1 and KMS.2) -----------

#: The actions that reveal plaintext under a key (AWS Security Hub KMS.1 and KMS.2).
DECRYPT_ACTIONS = ("kms:Decrypt", "kms:ReEncryptFrom")
#: The lists of GetAccountAuthorizationDetails read; AWS managed policies are left out, as
#: in KMS.1 (every account has them; AdministratorAccess is judged where it is attached, by
#: the checks of who may use each key).
DETAIL_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def account_details(iam: Any, aws_managed: bool = False) -> dict[str, list[Any]]:
    """Every user, group and role with its inline policies, and every customer managed
    policy (and AWS managed one, if asked) with its versions: GetAccountAuthorizationDetails,
    every page."""
    merged: dict[str, list[Any]] = {name: [] for name in DETAIL_LISTS}
    filters = ["User", "Role", "Group", "LocalManagedPolicy",
               *(["AWSManagedPolicy"] if aws_managed else [])]
    for page in _each_page(iam.get_account_authorization_details,
                           "GetAccountAuthorizationDetails", Filter=filters):
        for name in DETAIL_LISTS:
            merged[name].extend(page.get(name, []))
    return merged


def _all_keys_probe(account: str) -> str:
    """A key ARN no policy names on its own: a resource pattern that covers it covers
    every key of the account, in every region."""
    return f"arn:aws:kms:no-such-region-0:{account}:key/00000000-0000-0000-0000-000000000000"


def decrypting_statements(document: Any, account: str) -> list[tuple[str, list[str], bool]]:
    """``(statement label, actions, conditional)`` of the Allow statements of an identity
    policy that allow a decryption action on every key of ``account``, less the actions an
    unconditional Deny of the same policy takes back."""
    probe, statements = _all_keys_probe(account), policy_statements(document)
    denied = {a for a in DECRYPT_ACTIONS
              if any(_denies(s, a) and reaches(s, probe) for s in statements)}
    found = []
    for index, statement in enumerate(statements):
        if statement.get("Effect") != "Allow" or not reaches(statement, probe):
            continue
        actions = [a for a in DECRYPT_ACTIONS if a not in denied and covers(statement, a)]
        if actions:
            label = str(statement.get("Sid") or f"#{index + 1}")
            found.append((label, actions, bool(statement.get("Condition"))))
    return found


def decrypt_all_keys(details: Mapping[str, list[Any]], account: str) -> list[dict[str, Any]]:
    """The customer managed policies (default version) and inline policies of users, groups
    and roles that allow decryption with every key of ``account``: one entry per statement."""
    found: list[dict[str, Any]] = []

    def judge(policy: str, document: Any, attached: int | None) -> None:
        for label, actions, conditional in decrypting_statements(document, account):
            found.append({"account": account, "policy": policy, "statement": label,
                          "actions": actions, "conditional": conditional,
                          **({"attachments": attached} if attached is not None else {})})

    for policy in details.get("Policies", []):
        if ":iam::aws:policy/" in policy["Arn"]:
            continue  # AWS managed, read for iam_holders only
        [default] = [v for v in policy.get("PolicyVersionList", [])
                     if v.get("IsDefaultVersion")] or [None]
        if default is None:
            raise ValueError(f"{policy.get('Arn')}: no default version listed")
        judge(f"customer managed policy {policy['Arn']}", default["Document"],
              int(policy.get("AttachmentCount", 0)))
    for kind, entries, key in (("user", "UserDetailList", "UserPolicyList"),
                               ("group", "GroupDetailList", "GroupPolicyList"),
                               ("role", "RoleDetailList", "RolePolicyList")):
        for entity in details.get(entries, []):
            name = entity.get(f"{kind.title()}Name")
            for inline in entity.get(key, []):
                judge(f"inline policy {inline['PolicyName']} of {kind} {name}",
                      inline["PolicyDocument"], None)
    return found
