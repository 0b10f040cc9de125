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


ORG = "organizations/4242"


def hierarchy_estate():
    """The keys' project two folders below the organization, with a binding at each level."""
    estate = build(KEYS[1:])
    production = estate.add_folder(ORG, "production")
    payments = estate.add_folder(production, "payments")
    estate.add_project("cryptoaudit-lab", payments)
    project = next(name for name, p in estate.projects.items()
                   if p["projectId"] == "cryptoaudit-lab")

    def policy(*bindings):
        return {"version": 3, "etag": "BwY=", "bindings": [
            {"role": role, "members": list(members)} for role, members in bindings]}

    estate.hierarchy_policies = {
        ORG: policy(("roles/cloudkms.admin", (AUDITOR, "group:kms-admins@example.com"))),
        production: policy(("roles/cloudkms.viewer", (AUDITOR,))),
        payments: policy(("roles/owner", ("user:ops@example.com",))),
        project: policy(("roles/editor", (AUDITOR,)),
                        ("roles/iam.securityReviewer", (AUDITOR,))),
    }
    return estate, project, production, payments


def test_bindings_on_the_project_folders_and_organization_are_judged(gcp_standins,
                                                                     monkeypatch):
    monkeypatch.setattr(discovery, "auditor_member", lambda *args: (AUDITOR, None))
    estate, project, *_ = hierarchy_estate()
    standin = gcp_standins(estate)
    (system,) = discover(config_toml(standin.url, resource_manager_endpoint=standin.url)
                         ).systems
    assert system.attributes["auditor_admin_rights"] == [
        f"organization binding roles/cloudkms.admin of {ORG}: delete, grant, manage",
        f"project binding roles/editor of {project}: delete, manage"]
    # each resource once: the two audited projects (the partner's is in no organization),
    # the two folders above the first, and five policies
    assert standin.requests["GetProject"] == 2 and standin.requests["GetFolder"] == 2
    assert standin.requests["GetResourceIamPolicy"] == 5
    assert "groups the auditing identity belongs to" in system.attributes["auditor_notes"][0]


def test_a_refused_policy_above_makes_the_rights_unreadable_naming_it(gcp_standins,
                                                                     monkeypatch):
    monkeypatch.setattr(discovery, "auditor_member", lambda *args: (AUDITOR, None))
    estate, _, production, _ = hierarchy_estate()
    estate.refusals[("GetResourceIamPolicy", production)] = 403
    standin = gcp_standins(estate)
    (system,) = discover(config_toml(standin.url, resource_manager_endpoint=standin.url)
                         ).systems
    reason = system.unreadable["auditor_admin_rights"]
    assert f"IAM policy of {production}" in reason and "PERMISSION_DENIED" in reason, reason
    assert "auditor_admin_rights" not in system.attributes


def test_a_project_outside_any_organization_has_its_own_policy_read(gcp_standins,
                                                                   monkeypatch):
    monkeypatch.setattr(discovery, "auditor_member", lambda *args: (AUDITOR, None))
    estate = build(KEYS[1:])
    standin = gcp_standins(estate)
    [project] = [p for p in (estate.project(pid) for pid in estate.locations)
                 if p["projectId"] == "cryptoaudit-lab"]
    estate.hierarchy_policies[project["name"]] = {"bindings": [
        {"role": "roles/owner", "members": [AUDITOR]}]}
    (system,) = discover(config_toml(standin.url, resource_manager_endpoint=standin.url)
                         ).systems
    assert system.attributes["auditor_admin_rights"] == [
        f"project binding roles/owner of {project['name']}: delete, grant, manage"]
    assert standin.requests["GetFolder"] == 0


def test_without_an_identity_to_judge_nothing_above_the_keys_is_read(gcp_standins):
    estate, *_ = hierarchy_estate()
    standin = gcp_standins(estate)
    discover(config_toml(standin.url, resource_manager_endpoint=standin.url))
    assert standin.requests["GetProject"] == standin.requests["GetResourceIamPolicy"] == 0


# -- inherited_access: the bindings above the key ring as access of the keys -----------------

def _inherited(inventory, project):
    return {(g.principal, g.ref) for k in inventory.keys if f"projects/{project}/" in k.uid
            for g in k.managed.access if g.ref.startswith(("project", "folder", "organ"))}


def test_bindings_above_join_the_access_of_every_key_of_the_project(gcp_standins,
                                                                   monkeypatch):
    monkeypatch.setattr(discovery, "auditor_member", lambda *args: (AUDITOR, None))
    estate, project, *_ = hierarchy_estate()
    standin = gcp_standins(estate)
    inventory = discover(config_toml(standin.url, resource_manager_endpoint=standin.url,
                                     inherited_access=True))
    assert _inherited(inventory, "cryptoaudit-lab") == {
        (AUDITOR, "organization binding roles/cloudkms.admin"),
        ("group:kms-admins@example.com", "organization binding roles/cloudkms.admin"),
        (AUDITOR, "folder binding roles/cloudkms.viewer"),
        ("user:ops@example.com", "folder binding roles/owner"),
        (AUDITOR, "project binding roles/editor"),
        (AUDITOR, "project binding roles/iam.securityReviewer")}
    assert _inherited(inventory, "partner-estate") == set()  # in no organization, no bindings
    # the auditor's rights are still named once per resource, not once per key
    (system,) = inventory.systems
    assert system.attributes["auditor_admin_rights"] == [
        f"organization binding roles/cloudkms.admin of {ORG}: delete, grant, manage",
        f"project binding roles/editor of {project}: delete, manage"]
    # without the option the keys hold their own and their rings' bindings only
    inventory = discover(config_toml(standin.url, resource_manager_endpoint=standin.url))
    assert _inherited(inventory, "cryptoaudit-lab") == set()


def test_an_owner_above_fails_separation_of_duties_on_the_keys(gcp_standins, gcp_audit):
    estate, *_ = hierarchy_estate()
    standin = gcp_standins(estate)
    _, evidence = gcp_audit(config_toml(standin.url, resource_manager_endpoint=standin.url,
                                        inherited_access=True),
                            "--cryptoaudit-control", "CEK-08", "-k", "separation_of_duties")
    results = [r for r in evidence["results"] if r["check"] == "kms-separation-of-duties"
               and "/cryptoaudit-lab/" in r["key_uid"]]
    assert results and all(r["outcome"] == "failed" for r in results)
    assert all("user:ops@example.com (folder binding roles/owner)" in r["message"]
               for r in results)


def test_a_refused_policy_above_makes_the_keys_access_unreadable(gcp_standins):
    estate, _, production, _ = hierarchy_estate()
    estate.refusals[("GetResourceIamPolicy", production)] = 403
    standin = gcp_standins(estate)
    inventory = discover(config_toml(standin.url, resource_manager_endpoint=standin.url,
                                     inherited_access=True))
    for key in inventory.keys:
        if "/cryptoaudit-lab/" in key.uid:
            why = key.unreadable["managed.access"]
            assert why.startswith(f"inherited IAM: IAM policy of {production}: "), why
            assert "PERMISSION_DENIED" in why and key.managed.access is None
        else:
            assert key.managed.access is not None
