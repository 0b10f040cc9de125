"""End to end over the lab's infrastructure code: every planted weakness fails, every clean
resource passes, and what the code cannot tell is an error naming the expression."""

from __future__ import annotations

import jsonschema
import pytest

from pytest_cryptoaudit.reporting.evidence import evidence_schema

TF = "terraform:iac/terraform/"
PLAN = "terraform:iac/terraform-plan/"
CFN = "cloudformation:iac/cloudformation/"
K8S = "kubernetes:iac/kubernetes/"
APPS = TF + 'modules/kms-key/main.tf:10:module.apps.module.key["{}"].aws_kms_key.this'
ENCRYPTION = K8S + "apiserver/encryption.yaml:2:EncryptionConfiguration/-#"
LEGACY_ENCRYPTION = K8S + "legacy-encryption.yaml:1:EncryptionConfiguration/-#"
CERTS = K8S + "cert-manager/certificates.yaml:"

#: (uid, check) -> outcome, for every planted weakness and clean resource.
EXPECTED = {
    # Terraform: generic managed-key controls on planned keys
    (TF + "kms.tf:7:aws_kms_key.ledger", "kms-rotation-enabled"): "passed",
    (TF + "kms.tf:7:aws_kms_key.ledger", "kms-rotation-period"): "passed",
    (TF + "kms.tf:7:aws_kms_key.ledger", "kms-policy-principals"): "passed",
    (TF + "kms.tf:7:aws_kms_key.ledger", "has-owner"): "passed",
    (TF + "kms.tf:26:aws_kms_key.legacy", "kms-rotation-enabled"): "failed",
    (TF + "kms.tf:32:aws_kms_key.shared", "kms-policy-not-public"): "failed",
    (TF + "kms.tf:32:aws_kms_key.shared", "kms-rotation-enabled"): "passed",
    (TF + "kms.tf:47:aws_kms_key.exports", "kms-grantees"): "failed",
    (TF + "kms.tf:47:aws_kms_key.exports", "kms-policy-principals"): "passed",
    (TF + "kms.tf:47:aws_kms_key.exports", "kms-policy-not-public"): "passed",
    (TF + "kms.tf:60:aws_kms_external_key.byok", "kms-key-material-imported"): "failed",
    (TF + "kms.tf:65:aws_kms_key.pipeline", "kms-rotation-enabled"): "error",
    (TF + "kms.tf:71:aws_kms_key.replica[0]", "kms-rotation-enabled"): "passed",
    (TF + "kms.tf:71:aws_kms_key.replica[1]", "kms-rotation-enabled"): "passed",
    (TF + "kms.tf:78:aws_kms_key.regional", "discovery-complete"): "error",
    (TF + "kms.tf:89:module.vendor", "discovery-complete"): "error",
    (APPS.format("checkout"), "kms-rotation-enabled"): "passed",
    (APPS.format("refunds"), "kms-rotation-enabled"): "failed",
    # Terraform: keys, certificates and listeners
    (TF + "tls.tf:2:tls_private_key.internal_ca", "key-strength"): "passed",
    (TF + "tls.tf:2:tls_private_key.internal_ca", "iac-private-key-in-state"): "failed",
    (TF + "tls.tf:8:tls_private_key.device", "key-strength"): "failed",
    (TF + "tls.tf:12:aws_acm_certificate.api", "key-strength"): "passed",
    (TF + "tls.tf:19:aws_acm_certificate.legacy", "key-strength"): "failed",
    (TF + "tls.tf:26:aws_lb_listener.api", "tls-protocol-versions"): "passed",
    (TF + "tls.tf:26:aws_lb_listener.api", "tls-cipher-suites"): "passed",
    (TF + "tls.tf:26:aws_lb_listener.api", "tls-forward-secrecy"): "passed",
    (TF + "tls.tf:39:aws_lb_listener.legacy", "tls-protocol-versions"): "failed",
    (TF + "tls.tf:39:aws_lb_listener.legacy", "tls-forward-secrecy"): "failed",
    (TF + "tls.tf:69:aws_cloudfront_distribution.site", "tls-protocol-versions"): "failed",
    (TF + "tls.tf:69:aws_cloudfront_distribution.site", "tls-cipher-suites"): "failed",
    # Terraform: Google Cloud KMS and Azure Key Vault
    (TF + "gcp.tf:7:google_kms_crypto_key.orders", "kms-rotation-enabled"): "passed",
    (TF + "gcp.tf:7:google_kms_crypto_key.orders", "kms-rotation-period"): "passed",
    (TF + "gcp.tf:7:google_kms_crypto_key.orders", "kms-policy-principals"): "passed",
    (TF + "gcp.tf:7:google_kms_crypto_key.orders", "kms-policy-not-public"): "passed",
    (TF + "gcp.tf:18:google_kms_crypto_key.archive", "kms-rotation-enabled"): "failed",
    (TF + "gcp.tf:18:google_kms_crypto_key.archive", "kms-policy-not-public"): "failed",
    (TF + "azure.tf:12:azurerm_key_vault_key.tenant", "key-strength"): "passed",
    (TF + "azure.tf:12:azurerm_key_vault_key.tenant", "kms-rotation-enabled"): "passed",
    (TF + "azure.tf:12:azurerm_key_vault_key.tenant", "kms-rotation-period"): "passed",
    (TF + "azure.tf:12:azurerm_key_vault_key.tenant", "iac-key-vault-purge-protection"):
        "failed",
    (TF + "azure.tf:12:azurerm_key_vault_key.tenant", "iac-key-vault-network"): "failed",
    # Terraform with its plan JSON
    (PLAN + "main.tf:2:aws_kms_key.orders", "kms-rotation-enabled"): "passed",
    (PLAN + "main.tf:2:aws_kms_key.orders", "key-age"): "passed",
    (PLAN + "main.tf:2:aws_kms_key.orders", "kms-policy-not-public"): "error",
    (PLAN + "main.tf:8:aws_kms_key.batch", "kms-rotation-enabled"): "failed",
    (PLAN + "main.tf:13:aws_kms_key.retired", "kms-not-pending-deletion"): "failed",
    (PLAN + "plan.json:module.vendor.aws_kms_key.this[0]", "kms-rotation-enabled"): "failed",
    # CloudFormation
    (CFN + "keys.yaml:16:LedgerKey", "kms-rotation-enabled"): "passed",
    (CFN + "keys.yaml:16:LedgerKey", "kms-rotation-period"): "passed",
    (CFN + "keys.yaml:16:LedgerKey", "kms-policy-principals"): "passed",
    (CFN + "keys.yaml:33:BatchKey", "kms-rotation-enabled"): "failed",
    (CFN + "keys.yaml:40:PartnerKey", "kms-policy-principals"): "error",
    (CFN + "keys.yaml:54:ImportedKey", "kms-key-material-imported"): "failed",
    (CFN + "keys.yaml:60:LedgerReplica", "kms-policy-principals"): "passed",
    (CFN + "keys.yaml:73:ApiCertificate", "key-strength"): "passed",
    (CFN + "keys.yaml:80:ApiListener", "tls-protocol-versions"): "failed",
    (CFN + "site.json:4:Site", "tls-protocol-versions"): "passed",
    (CFN + "site.json:4:Site", "tls-cipher-suites"): "passed",
    # Kubernetes
    (ENCRYPTION + "secrets", "iac-secrets-encrypted-at-rest"): "passed",
    (ENCRYPTION + "secrets", "iac-encryption-provider"): "passed",
    (ENCRYPTION + "configmaps", "iac-secrets-encrypted-at-rest"): "failed",
    (ENCRYPTION + "leases.coordination.k8s.io", "iac-encryption-provider"): "failed",
    (ENCRYPTION + "leases.coordination.k8s.io", "iac-encryption-key-rotation"): "failed",
    (ENCRYPTION + "leases.coordination.k8s.io", "key-strength"): "passed",
    (LEGACY_ENCRYPTION + "secrets", "iac-encryption-provider"): "failed",
    (LEGACY_ENCRYPTION + "events", "iac-encryption-key-rotation"): "passed",
    (LEGACY_ENCRYPTION + "events", "iac-encryption-provider"): "passed",
    # secretbox is XSalsa20-Poly1305 with a 256-bit key
    (LEGACY_ENCRYPTION + "events", "pq-readiness"): "passed",
    (LEGACY_ENCRYPTION + "events", "key-strength"): "passed",
    (CERTS + "2:Certificate/payments/api", "key-strength"): "passed",
    (CERTS + "2:Certificate/payments/api", "iac-cert-manager-rotation-policy"): "passed",
    (CERTS + "2:Certificate/payments/api", "iac-cert-manager-renewal"): "passed",
    (CERTS + "21:Certificate/payments/legacy", "key-strength"): "failed",
    (CERTS + "21:Certificate/payments/legacy", "iac-cert-manager-rotation-policy"): "failed",
    (CERTS + "21:Certificate/payments/legacy", "iac-cert-manager-renewal"): "failed",
    (CERTS + "38:Certificate/payments/batch", "iac-cert-manager-rotation-policy"): "error",
    (K8S + "secrets.yaml:2:Secret/payments/web-tls", "not-expired"): "passed",
    (K8S + "secrets.yaml:2:Secret/payments/web-tls", "key-strength"): "passed",
    (K8S + "secrets.yaml:16:Secret/payments/old-tls", "not-expired"): "failed",
}


@pytest.mark.parametrize(("uid", "check"), sorted(EXPECTED))
def test_outcome_per_resource_and_check(iac_audit, uid, check):
    assert iac_audit.outcome(check, uid) == EXPECTED[(uid, check)], iac_audit.message(check, uid)


def test_unknown_values_name_the_expression(iac_audit):
    pipeline = iac_audit.message("kms-rotation-enabled", TF + "kms.tf:65:aws_kms_key.pipeline")
    assert "variable 'pipeline_rotation' has no value" in pipeline
    regional = iac_audit.message("discovery-complete", TF + "kms.tf:78:aws_kms_key.regional")
    assert "data.aws_regions.enabled.names" in regional
    assert "a data source" in regional
    vendor = iac_audit.message("discovery-complete", TF + "kms.tf:89:module.vendor")
    assert "example-corp/kms/aws" in vendor
    partner = iac_audit.message("kms-policy-principals", CFN + "keys.yaml:40:PartnerKey")
    assert "PartnerAccount" in partner


#: Facts code never states, so their checks have no subject in the code: they judge the live
#: key, certificate or endpoint. (check, a subject of the code) -> why, in the reason.
UNSTATED_IN_CODE = {
    ("key-age", TF + "kms.tf:7:aws_kms_key.ledger"): "does not say when the key was created",
    ("not-expired", TF + "tls.tf:12:aws_acm_certificate.api"): "renewed) by ACM",
    ("tls-key-exchange-strength", TF + "tls.tf:26:aws_lb_listener.api"): "scan the live endpoint",
    ("pq-key-exchange", TF + "tls.tf:26:aws_lb_listener.api"): "a scan of the live endpoint",
    ("tls-mozilla-profile", TF + "tls.tf:26:aws_lb_listener.api"): "a scan of the live endpoint",
    ("tls-mozilla-profile", TF + "tls.tf:69:aws_cloudfront_distribution.site"):
        "a scan of the live endpoint",
    ("tls-mozilla-profile", CFN + "keys.yaml:80:ApiListener"): "a scan of the live endpoint",
}


@pytest.mark.parametrize(("check", "uid"), sorted(UNSTATED_IN_CODE))
def test_what_code_never_states_is_not_applicable_not_an_error(iac_audit, check, uid):
    """A key's age, an ACM certificate's dates or a listener's groups are not in the code:
    no error on every pull request, and the evidence's record says why."""
    assert iac_audit.results(check, uid) == []
    records = {r["uid"]: r for r in [*iac_audit.evidence["inventory"],
                                     *iac_audit.evidence["endpoints"]]}
    reasons = records[uid]["attributes"]["unstated"]
    assert any(UNSTATED_IN_CODE[(check, uid)] in reason for reason in reasons.values())


def test_a_plan_answers_what_the_code_cannot(iac_audit):
    plan_errors = [r for r in iac_audit.results("discovery-complete")
                   if r["system"] == "iac-terraform-plan"]
    assert plan_errors == []
    orders = iac_audit.message("kms-policy-not-public", PLAN + "main.tf:2:aws_kms_key.orders")
    assert "the plan marks it unknown" in orders


def test_records_are_located_at_their_file_and_line(iac_audit):
    keys = {k["uid"]: k for k in iac_audit.evidence["inventory"]}
    ledger = keys[TF + "kms.tf:7:aws_kms_key.ledger"]["location"]
    assert ledger == {"path": "iac/terraform/kms.tf", "line": 7, "end_line": 23,
                      "address": "aws_kms_key.ledger"}
    refunds = keys[APPS.format("refunds")]["location"]
    assert refunds["path"] == "iac/terraform/modules/kms-key/main.tf"
    assert refunds["address"] == 'module.apps.module.key["refunds"].aws_kms_key.this'
    assert keys[CFN + "keys.yaml:16:LedgerKey"]["location"]["address"] == "LedgerKey"
    legacy = keys[CERTS + "21:Certificate/payments/legacy"]["location"]
    assert legacy["address"] == "Certificate/payments/legacy"
    vendor = keys[PLAN + "plan.json:module.vendor.aws_kms_key.this[0]"]["location"]
    assert vendor == {"path": "iac/terraform-plan/plan.json", "line": None, "end_line": None,
                      "address": "module.vendor.aws_kms_key.this[0]"}


def test_no_key_material_reaches_the_evidence(iac_audit, iac_lab):
    folder, _ = iac_lab
    encryption = (folder / "iac/kubernetes/apiserver/encryption.yaml").read_text()
    secret = encryption.split("secret: ")[1].split()[0]
    text = str(iac_audit.evidence) + iac_audit.output
    assert secret not in text
    assert "PRIVATE KEY" not in text
    assert "LS0tLS1CRUdJTi" not in text  # base64 of a PEM header


def test_evidence_matches_its_schema(iac_audit):
    jsonschema.validate(iac_audit.evidence, evidence_schema())
    systems = {s["name"]: s for s in iac_audit.evidence["systems"]}
    assert {systems[name]["component"] for name in systems if name.startswith("iac-")} == {"iac"}
    assert systems["iac-terraform"]["keys_found"] == 17  # 10 KMS, 2 tls, 2 ACM, 2 GCP, 1 Azure
    assert systems["iac-terraform"]["endpoints_found"] == 3
