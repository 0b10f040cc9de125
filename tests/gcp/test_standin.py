"""The stand-in speaks the documented Cloud KMS REST API: the official SDK reads every
resource the audit uses, pages follow nextPageToken, and errors are google.rpc.Status."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from pytest_cryptoaudit.lab.estate_gcp import ESTATE, IMPORT_JOBS, PROJECT, RINGS

RING = "projects/{}/locations/{}/keyRings/payments".format(*RINGS["payments"])


@pytest.fixture
def client(gcp_standin):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import kms_v1

    return kms_v1.KeyManagementServiceClient(
        transport="rest", credentials=AnonymousCredentials(),
        client_options={"api_endpoint": gcp_standin.url})


def test_the_sdk_reads_keys_versions_import_jobs_and_policies(client):
    key = next(planted for planted in ESTATE if planted.label == "clean-imported").name
    got = client.get_crypto_key(name=key)
    assert (got.purpose.name, got.import_only, got.labels["owner"]) == (
        "ENCRYPT_DECRYPT", True, "payments-team")
    assert got.destroy_scheduled_duration.days == 30
    (version,) = client.list_crypto_key_versions(parent=key)
    assert version.import_job == f"{RING}/importJobs/byok-job"
    jobs = {job.name.rsplit("/", 1)[1]: job for job in client.list_import_jobs(parent=RING)}
    assert {n: j.import_method.name for n, j in jobs.items()} == IMPORT_JOBS
    job = client.get_import_job(name=version.import_job)
    assert (job.state.name, job.protection_level.name, job.import_method.name) == (
        "EXPIRED", "HSM", "RSA_OAEP_3072_SHA256_AES_256")
    policy = client.get_iam_policy(request={"resource": key,
                                            "options": {"requested_policy_version": 3}})
    assert {b.role for b in policy.bindings} == {"roles/cloudkms.admin",
                                                 "roles/cloudkms.cryptoKeyEncrypterDecrypter"}
    assert client.get_key_ring(name=RING).name == RING


def test_pages_follow_next_page_token(client, gcp_standin):
    in_ring = [p.name for p in ESTATE if p.ring == "payments"]
    pager = client.list_crypto_keys(parent=RING)
    pages = list(pager.pages)
    assert len(pages) == -(-len(in_ring) // 3)  # pages of three
    assert [k.name for page in pages for k in page.crypto_keys] == sorted(in_ring)
    assert pages[0].total_size == len(in_ring) and pages[0].next_page_token
    assert not pages[-1].next_page_token


def test_errors_are_google_rpc_status(gcp_standin):
    from google.api_core.exceptions import NotFound

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{gcp_standin.url}/v1/{RING}/cryptoKeys?pageToken=bogus")
    body = json.loads(raised.value.read())
    assert body == {"error": {"code": 400, "message": "Invalid pageSize or pageToken.",
                              "status": "INVALID_ARGUMENT"}}
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import kms_v1

    client = kms_v1.KeyManagementServiceClient(
        transport="rest", credentials=AnonymousCredentials(),
        client_options={"api_endpoint": gcp_standin.url})
    with pytest.raises(NotFound, match="not found"):
        client.get_crypto_key(name=f"projects/{PROJECT}/locations/global/keyRings/x/"
                                   "cryptoKeys/missing")
