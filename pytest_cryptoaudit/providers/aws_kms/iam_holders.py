"""Who may use and administer a key through IAM (opt-in: ``iam_holders = true``).

A key policy statement for the account root lets the account's IAM policies grant the
actions it allows; a statement for another account's root does the same for that account,
when the system audits it too. With ``iam_holders``, every user and role of an account is
read once
(GetAccountAuthorizationDetails: their inline policies, attached policies, groups and
permissions boundaries) and becomes an access entry of each key whose policy delegates to
the account, for the KMS actions its policies allow on that key's ARN: source ``iam``, the
policy as the reference. The separation-of-duties and tenant checks then see the people
and workloads that hold a key through IAM, not only those its key policy names.

Evaluation is that of :mod:`.iam`: an Allow counts whatever its condition (a condition that
narrows the caller makes the entry ``restricted``, and ``kms:EncryptionContext:`` keys it
requires become the entry's context keys), an unconditional Deny removes an action, a
boundary caps what the policies allow; service control, resource control and session
policies are not read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ...facts import Action, Grant, PrincipalKind
from .facts import ACTIONS
from .iam import (
    Entity,
    IamReader,
    IdentityPolicies,
    Statement,
    reaches,
)
from .independence import (
    covers,
    delegated_accounts,
    delegating_statements,
    key_policy_denials,
)
from .policydoc import context_keys, restricting_conditions

#: Every KMS operation of the shared vocabulary, as IAM names it.
KMS_OPERATIONS = tuple(f"kms:{operation}" for operation in ACTIONS)


def delegated_operations(policy: Any) -> dict[str, tuple[str, ...]]:
    """Account -> the KMS operations a key policy lets that account's IAM policies grant:
    those of its Allow statements for the account's root (or its id). Usually the key's
    own account; another one where the key is shared across accounts."""
    by_account: dict[str, list[Statement]] = {}
    for statement in delegating_statements(policy):
        for account in delegated_accounts(statement):
            by_account.setdefault(account, []).append(statement)
    return {account: ops for account, statements in sorted(by_account.items())
            if (ops := tuple(op for op in KMS_OPERATIONS
                             if any(covers(s, op) for s in statements)))}


@dataclasses.dataclass(frozen=True)
class Identity:
    arn: str
    kind: PrincipalKind
    policies: IdentityPolicies


class AccountIam:
    """The users and roles of one account with their policies, judged per key."""

    def __init__(self, identities: Iterable[Identity]) -> None:
        self.identities = tuple(identities)
        # A key's entries depend only on which resource patterns match its ARN: most
        # statements name every key ("*"), so keys share their answers.
        self._resources = tuple(sorted({
            _resources(s) for i in self.identities
            for s in (*(s for _, policy in i.policies.policies for s in policy),
                      *(i.policies.boundary or ()))}))
        self._cache: dict[tuple[Any, ...], tuple[Grant, ...]] = {}

    @classmethod
    def of(cls, details: Mapping[str, list[Any]], reader: IamReader) -> AccountIam:
        """The account's users and roles from its authorization details; a managed policy
        they list is read through ``reader`` (once) when the details do not hold it. A
        group a user lists but the details do not is malformed (KeyError)."""
        reader.learn(details)
        groups = {g["GroupName"]: Entity.of_details("group", g)
                  for g in details["GroupDetailList"]}
        identities = []
        for kind, entries in ((PrincipalKind.USER, "UserDetailList"),
                              (PrincipalKind.ROLE, "RoleDetailList")):
            for entry in details[entries]:
                entity = Entity.of_details(kind.value, entry)
                identities.append(Identity(entity.arn, kind, reader.policies_of(
                    entity, [groups[name] for name in entry.get("GroupList", [])])))
        return cls(identities)

    def grants(self, key_arn: str, operations: tuple[str, ...], key_policy: Any = None,
               outside: bool = False) -> tuple[Grant, ...]:
        """One entry per (identity, policy) that gives some of ``operations`` on the key,
        less what a Deny of the ``key_policy`` takes from the identity; ``outside``: this
        account is outside the key's own and the trusted ones."""
        if not operations:
            return ()
        key = (operations, id(key_policy), outside,
               tuple(reaches({field: list(patterns)}, key_arn)
                     for field, patterns in self._resources))
        if key not in self._cache:
            self._cache[key] = tuple(
                g for identity in self.identities for g in _entries(
                    identity, key_arn, _less_denied(identity.arn, operations, key_policy),
                    outside))
        return self._cache[key]


def _less_denied(arn: str, operations: tuple[str, ...], key_policy: Any) -> tuple[str, ...]:
    if key_policy is None:
        return operations
    denied = key_policy_denials(arn, key_policy, operations)
    return tuple(op for op in operations if op not in denied)


def _resources(statement: Statement) -> tuple[str, tuple[str, ...]]:
    """The resource element of a statement, as a hashable pair."""
    field = "NotResource" if "NotResource" in statement else "Resource"
    value = statement.get(field, "*")
    return field, tuple([value] if isinstance(value, str) else (str(v) for v in value))


def _entries(identity: Identity, key_arn: str, operations: tuple[str, ...],
             outside: bool) -> list[Grant]:
    by_source: dict[str, list[tuple[Statement, list[str]]]] = {}
    for source, statement, allowed in identity.policies.allowing(key_arn, operations):
        by_source.setdefault(source, []).append((statement, allowed))
    entries = []
    for source, found in by_source.items():
        actions = {ACTIONS[op.split(":", 1)[1]] for _, allowed in found for op in allowed}
        using = [statement for statement, allowed in found
                 if any(ACTIONS[op.split(":", 1)[1]] is Action.USE for op in allowed)]
        context = (set.intersection(*(set(context_keys(s)) for s in using)) if using
                   else set())
        entries.append(Grant(
            identity.arn, identity.kind, tuple(actions), "iam", outside=outside,
            restricted=all(restricting_conditions(s) for s, _ in found),
            ref=source, context_keys=tuple(context)))
    return entries
