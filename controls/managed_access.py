"""Who may use or administer a managed key (CEK-08; ISO 27001 A.8.24; AWS FSBP KMS.5):
nobody unnamed, and nobody outside the owning account or the accounts the system trusts.

The checks judge the normalised access list of each key (``managed.access``: key policies,
grants, IAM bindings, ACLs, access policies, each entry naming its source), so they serve
every key store whose provider fills it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.facts import (
    ADMIN_ACTIONS,
    Action,
    Grant,
    PrincipalKind,
    managed,
    reported,
    required,
)
from pytest_cryptoaudit.references import AWS_FSBP_KMS, ISO27001_A824, ccm

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_cryptoaudit.model import KeyRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

ACCESS_REFERENCES = [ccm("CEK-08"), ISO27001_A824, AWS_FSBP_KMS]
#: Principals judged for separation of duties: named identities, not "anyone" (judged as
#: public), whole accounts (delegation to the account's own IAM) or service agents.
IDENTITIES = frozenset({PrincipalKind.USER, PrincipalKind.ROLE, PrincipalKind.GROUP,
                        PrincipalKind.UNKNOWN})
#: The source of entries that delegate access case by case; every other source is a policy.
DELEGATED = "grant"
#: Who holds the entries that name an intermediary (see ManagedKeyFacts.access_holders).
HOLDERS = "managed.access_holders"


def _with_access(key: KeyRecord) -> bool:
    """A managed key whose provider reports who may use it."""
    return managed(key) is not None and reported(key, "managed.access")


def _access(key: KeyRecord) -> tuple[Grant, ...]:
    facts = required(key.uid, "managed", managed(key))
    return required(key.uid, "managed.access", facts.access)


def _outside(key: KeyRecord, delegated: bool) -> list[str]:
    """``principal (ref; actions)`` of entries outside the trusted accounts, by source."""
    return sorted({
        f"{g.principal} ({g.ref}; {', '.join(a.value for a in g.actions) or 'no actions'})"
        for g in _access(key)
        if g.outside and (g.source == DELEGATED) == delegated
        and g.kind is not PrincipalKind.SERVICE})


@pytest.mark.control(
    "CEK-08", check="kms-policy-not-public",
    references=ACCESS_REFERENCES,
    remediation="Name the principals in the key's access policy, or add a condition that "
                "pins callers to known accounts, organisations or networks.",
    applies_to=_with_access, requires=["managed.access"],
)
def test_kms_policy_not_public(crypto_key: KeyRecord) -> None:
    """No access entry allows anyone (any principal) without a restricting condition."""
    public = sorted({f"{g.source} {g.ref}".strip()
                     for g in _access(crypto_key) if g.is_public})
    assert not public, (
        f"{', '.join(public)} allows any principal without a restricting condition")


@pytest.mark.control(
    "CEK-08", check="kms-policy-principals",
    references=ACCESS_REFERENCES,
    remediation="Remove the principal from the key's access policy, or add its account to "
                "the system's trusted accounts after review.",
    applies_to=_with_access, requires=["managed.access"],
)
def test_kms_policy_principals(crypto_key: KeyRecord) -> None:
    """Every principal the key's access policies allow belongs to the key's account or an
    account the system trusts (a principal whose account cannot be told is outside)."""
    foreign = _outside(crypto_key, delegated=False)
    assert not foreign, (
        f"key policy allows principals outside the allowed accounts: {'; '.join(foreign)}")


@pytest.mark.control(
    "CEK-08", check="kms-grantees",
    references=ACCESS_REFERENCES,
    remediation="Revoke the grant, or add the grantee's account to the system's trusted "
                "accounts after review.",
    applies_to=_with_access, requires=["managed.access"],
)
def test_kms_grantees(crypto_key: KeyRecord) -> None:
    """No grant gives a principal outside the trusted accounts use of the key."""
    foreign = _outside(crypto_key, delegated=True)
    assert not foreign, f"grants to principals outside the allowed accounts: {'; '.join(foreign)}"


def _admins_who_use(key: KeyRecord) -> list[str]:
    """``principal (refs)`` of identities that both administer and use the key. Where the
    provider resolves who holds an entry (a Vault policy's entities, groups and auth roles)
    and could not, an error: a holder of two policies is one identity with both duties."""
    unread = key.unreadable.get(HOLDERS)
    if unread is not None:
        raise CryptoAuditError(f"cannot audit {key.uid}: {HOLDERS}: {unread}")
    actions: dict[str, set[Action]] = {}
    refs: dict[str, set[str]] = {}
    for grant in _access(key):
        if grant.kind in IDENTITIES:
            actions.setdefault(grant.principal, set()).update(grant.actions)
            refs.setdefault(grant.principal, set()).add(grant.ref)
    return sorted(f"{who} ({'; '.join(sorted(refs[who]))})" for who, held in actions.items()
                  if Action.USE in held and held & ADMIN_ACTIONS)


@pytest.mark.control(
    "CEK-08", check="kms-separation-of-duties",
    references=[*ACCESS_REFERENCES, ccm("IAM-04")],
    remediation="Give key administration and key use to different principals (for Cloud KMS: "
                "no member holds roles/cloudkms.admin and an encrypter, decrypter or signer "
                "role).",
    applies_to=_with_access, requires=["managed.access"], reads=[HOLDERS],
)
def test_kms_separation_of_duties(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """No principal both administers the key and uses it, where the tier requires it."""
    both = _admins_who_use(crypto_key)
    tier = crypto_key.risk_tier.value
    if not crypto_policy.for_tier("managed_key_separation_of_duties", tier):
        if both:
            crypto_note(f"administers and uses the key (accepted at tier {tier}): "
                        + "; ".join(both))
        return
    assert not both, f"administers and uses the key: {'; '.join(both)}"
