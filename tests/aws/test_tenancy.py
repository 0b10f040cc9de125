"""Tenant key isolation on moto's KMS: a multi-tenant system with clean tenants, one planted
cross-tenant grant, a shared key under a per-tenant encryption context and one without, and
a key with no tenant; every tenant check judges the normalised access grants."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.lab.estate_kms import TENANT_ESTATE, seed_tenants, tenant_config
from tests.aws.test_estate import mismatches, results_by_uid

TENANT_CHECKS = ("tenant-key-assigned", "tenant-key-isolation", "tenant-shared-key-context")


@pytest.fixture(scope="session")
def tenant_keys(moto_server):
    return seed_tenants(moto_server.url)


def test_tenant_isolation_on_kms(audit, tenant_keys, moto_server):
    result, evidence = audit(tenant_config(moto_server.url))
    by_uid = results_by_uid(evidence)
    problems = []
    for planted in TENANT_ESTATE:
        results = by_uid.get(tenant_keys[planted.label], {})
        problems += mismatches(planted.label, results, dict(planted.expect))
    assert not problems, "\n".join(problems)
    assert result.ret == 1

    def message(label, check):
        return by_uid[tenant_keys[label]][check]["message"]

    cross = message("tenant-acme-cross-grant", "tenant-key-isolation")
    assert "arn:aws:iam::444444444444:role/globex-app (grant " in cross
    assert cross.startswith("key of tenant acme is open to other tenants")
    assert cross.endswith("of tenant globex") and "acme-app" not in cross
    shared = message("tenant-shared-open", "tenant-shared-key-context")
    assert "UseAcme" in shared and "UseGlobex" not in shared
    assert "names no tenant" in message("tenant-unassigned", "tenant-key-assigned")
    ran = {(label, check) for label in ("tenant-acme", "tenant-shared-context")
           for check in TENANT_CHECKS if check in by_uid[tenant_keys[label]]}
    assert ran == {("tenant-acme", "tenant-key-assigned"), ("tenant-acme", "tenant-key-isolation"),
                   ("tenant-shared-context", "tenant-key-assigned"),
                   ("tenant-shared-context", "tenant-shared-key-context")}
    assert evidence["scope"]["items"] == {"tenant-isolation": ["kms-tenants"]}
    tenancy = {k["uid"]: k["attributes"].get("tenancy") for k in evidence["inventory"]}
    assert tenancy[tenant_keys["tenant-globex"]] == {"tenants": ["globex"], "shared": False}


def test_without_tenancy_no_tenant_check_runs(audit, tenant_keys, moto_server):
    config = tenant_config(moto_server.url)
    del config["tenancy"]
    _, evidence = audit(config, "--cryptoaudit-control", "CEK-08")
    assert not [r for r in evidence["results"] if r["check"] in TENANT_CHECKS]
    assert [r for r in evidence["results"] if r["check"] == "kms-grantees"]
