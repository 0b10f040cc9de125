"""CEK-09 auditor independence for Cloud KMS: the IAM member the audit calls as must hold
no administrative role on the keys and key rings it audits."""

from __future__ import annotations

import dataclasses

from pytest_cryptoaudit.lab.estate_gcp import ADMIN, ENCRYPTER, PlantedKey, build, config_toml
from pytest_cryptoaudit.providers.gcp_kms import discovery
from pytest_cryptoaudit.providers.gcp_kms.independence import auditor_facts, auditor_member
from pytest_cryptoaudit.providers.gcp_kms.options import GcpKmsOptions

from .helpers import discover

AUDITOR = "serviceAccount:audit@cryptoaudit-lab.iam.gserviceaccount.com"
KEYS = (PlantedKey("administered", bindings=((ADMIN, (AUDITOR,)),)),
        PlantedKey("used", bindings=((ENCRYPTER, (AUDITOR,)),)),
        PlantedKey("clean"))


def options(**values):
    return GcpKmsOptions(projects=["cryptoaudit-lab"], locations="all", **values)


@dataclasses.dataclass
class Credentials:
    service_account_email: str = ""


def test_the_auditor_is_the_impersonated_or_key_file_service_account():
    assert auditor_member(options(impersonate_service_account="a@p.iam.gserviceaccount.com"),
                          Credentials("other@p.iam.gserviceaccount.com")) == (
        "serviceAccount:a@p.iam.gserviceaccount.com", None)
    assert auditor_member(options(), Credentials("sa@p.iam.gserviceaccount.com")) == (
        "serviceAccount:sa@p.iam.gserviceaccount.com", None)
    member, why = auditor_member(options(), Credentials("default"))  # ADC before refresh
    assert member is None and "impersonate a service account" in why
    assert auditor_member(options(credentials="anonymous", api_endpoint="http://127.0.0.1:1"),
                          Credentials()) == (None, None)


def test_no_identity_is_unreadable_and_a_test_endpoint_reports_nothing():
    assert auditor_facts(None, None, []) == ({}, {})
    attributes, unreadable = auditor_facts(None, "cannot tell", [])
    assert attributes == {} and unreadable == {"auditor_identity": "cannot tell",
                                               "auditor_admin_rights": "cannot tell"}


def test_the_auditor_s_admin_binding_is_named_and_use_is_not(gcp_standins, monkeypatch):
    monkeypatch.setattr(discovery, "auditor_member", lambda *args: (AUDITOR, None))
    standin = gcp_standins(build(KEYS))
    inventory = discover(config_toml(standin.url))
    (system,) = inventory.systems
    assert system.attributes["auditor_identity"] == AUDITOR
    (right,) = system.attributes["auditor_admin_rights"]
    assert right.startswith(f"key binding {ADMIN} of {KEYS[0].name}: "), right
    assert right.endswith("delete, grant, manage"), right
    assert "not read" in system.attributes["auditor_notes"][0]


def test_an_unreadable_policy_makes_the_rights_unreadable(gcp_standins, monkeypatch):
    monkeypatch.setattr(discovery, "auditor_member", lambda *args: (AUDITOR, None))
    estate = build(KEYS)
    estate.refusals[("GetIamPolicy", KEYS[2].name)] = 403
    inventory = discover(config_toml(gcp_standins(estate).url))
    (system,) = inventory.systems
    assert "auditor_admin_rights" not in system.attributes
    reason = system.unreadable["auditor_admin_rights"]
    assert KEYS[2].name in reason and "PERMISSION_DENIED" in reason, reason
