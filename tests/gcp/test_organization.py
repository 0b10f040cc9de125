"""An organization's projects, in any folder, are found through Cloud Resource Manager v3
(every page) and audited; a refused listing is an error naming the organization."""

from __future__ import annotations

from pytest_cryptoaudit.lab.estate_gcp import PROJECT, PlantedKey, build, config_toml

from .helpers import discover

ORGANIZATION = "123456789012"
ORG = f"organizations/{ORGANIZATION}"
KEYS = tuple(PlantedKey(f"key-{index}") for index in range(3))


def organization_estate():
    estate = build(KEYS)
    production = estate.add_folder(ORG, "production")
    payments = estate.add_folder(production, "payments")
    estate.add_project(PROJECT, payments)  # two folders deep
    estate.add_project("sandbox-project", ORG)
    estate.add_project("sandbox-two-project", ORG)
    estate.add_project("going-away-project", production, state="DELETE_REQUESTED")
    estate.add_project("other-org-project", "organizations/999")
    return estate


def test_the_organization_s_active_projects_at_any_depth_are_audited(gcp_standins):
    standin = gcp_standins(organization_estate(), page_size=1)
    inventory = discover(config_toml(standin.url, projects=[], organization=ORGANIZATION))
    assert not inventory.errors, inventory.errors
    (system,) = inventory.systems
    assert system.attributes["projects"] == [PROJECT, "sandbox-project", "sandbox-two-project"]
    assert system.attributes["organization"] == ORGANIZATION
    assert sorted(key.uid for key in inventory.keys) == sorted(
        planted.name for planted in KEYS)
    # Pages of one: two pages of the organization's projects, one per folder; one page of
    # folders per parent (the organization, production, payments).
    assert (standin.requests["ListProjects"], standin.requests["ListFolders"]) == (4, 3)


def test_named_projects_and_the_organization_s_are_audited_once(gcp_standins):
    standin = gcp_standins(organization_estate())
    inventory = discover(config_toml(standin.url, projects=[PROJECT],
                                     organization=ORGANIZATION))
    (system,) = inventory.systems
    assert system.attributes["projects"] == [PROJECT, "sandbox-project", "sandbox-two-project"]
    assert len(inventory.keys) == len(KEYS)


def test_a_refused_organization_listing_is_an_error_naming_it(gcp_standins):
    estate = organization_estate()
    estate.refusals[("ListFolders", ORG)] = 403
    standin = gcp_standins(estate)
    inventory = discover(config_toml(standin.url, projects=[PROJECT],
                                     organization=ORGANIZATION))
    (error,) = inventory.errors
    assert error.reason.startswith(f"organization {ORGANIZATION}: cannot list its projects: "
                                   "403 PERMISSION_DENIED"), error.reason
    # The named project is still audited; nothing else is guessed.
    (system,) = inventory.systems
    assert system.attributes["projects"] == [PROJECT]
    assert len(inventory.keys) == len(KEYS)

