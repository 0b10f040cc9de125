"""Per-key owners and tier from tags: which tags count, the alias, the fallbacks, and the
findings a bad override gives."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.model import KeyRecord, RiskTier
from pytest_cryptoaudit.owners import TagNames, apply_tags

NAMES = TagNames()


def key(tags=None, **fields):
    base = dict(uid="k", system="web", provider="x", kind="secret-key", risk_tier="medium",
                owner="CSC", accountable_owner="", tags=tags or {})
    return KeyRecord(**{**base, **fields})


def test_a_team_in_the_owner_tag_is_the_accountable_owner_not_the_ssrm_party():
    record = apply_tags(key({"owner": "checkout-team"}), NAMES)
    assert (record.owner, record.accountable_owner) == ("CSC", "checkout-team")
    assert not record.unreadable


def test_namespaced_tags_override_ssrm_owner_and_tier():
    record = apply_tags(key({"cryptoaudit:ssrm-owner": "CSP-MP",
                             "cryptoaudit:risk-tier": "critical"}), NAMES)
    assert (record.owner, record.risk_tier) == ("CSP-MP", RiskTier.CRITICAL)


def test_plain_risk_tier_is_an_alias_and_the_namespaced_tag_wins():
    assert apply_tags(key({"risk-tier": "low"}), NAMES).risk_tier is RiskTier.LOW
    both = key({"risk-tier": "low", "cryptoaudit:risk-tier": "high"})
    assert apply_tags(both, NAMES).risk_tier is RiskTier.HIGH


@pytest.mark.parametrize(("tags", "field", "expected"), [
    ({"cryptoaudit:ssrm-owner": "bogus"}, "ssrm_owner", "invalid 'cryptoaudit:ssrm-owner' tag"),
    ({"cryptoaudit:risk-tier": "extreme"}, "risk_tier", "invalid 'cryptoaudit:risk-tier' tag"),
    ({"risk-tier": "extreme"}, "risk_tier", "invalid 'risk-tier' tag 'extreme'"),
])
def test_an_invalid_override_is_kept_naming_the_tag(tags, field, expected):
    record = apply_tags(key(tags), NAMES)
    assert expected in record.unreadable[field]
    assert (record.owner, record.risk_tier) == ("CSC", RiskTier.MEDIUM)


def test_the_system_setting_is_the_fallback_accountable_owner():
    assert apply_tags(key(accountable_owner="web-team"), NAMES).accountable_owner == "web-team"
    tagged = key({"owner": "alice@example.com"}, accountable_owner="web-team")
    assert apply_tags(tagged, NAMES).accountable_owner == "alice@example.com"


def test_configured_names_and_a_service_that_cannot_spell_colons():
    names = TagNames(accountable_owner="team").mapped(lambda name: name.replace(":", "-"))
    record = apply_tags(key({"team": "payments", "owner": "CSP",
                             "cryptoaudit-ssrm-owner": "CSP"}), names)
    assert (record.accountable_owner, record.owner) == ("payments", "CSP")


def test_a_required_tier_tag_that_is_missing_is_a_finding():
    record = apply_tags(key(), NAMES, require_tier_tag=True)
    assert "no 'cryptoaudit:risk-tier' tag" in record.unreadable["risk_tier"]
    assert not apply_tags(key({"risk-tier": "low"}), NAMES, require_tier_tag=True).unreadable
