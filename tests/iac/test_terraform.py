"""The Terraform reader: expressions, variables, modules, instances, plans and bad input."""

from __future__ import annotations

import json

import pytest

from pytest_cryptoaudit.config import ConfigError
from pytest_cryptoaudit.facts import KeyState
from tests.iac.conftest import discover, write

KEY = '''
resource "aws_kms_key" "main" {
  description             = "main"
  enable_key_rotation     = %s
  rotation_period_in_days = %s
}
'''


def keys(attempt):
    return {k.attributes["address"]: k for k in attempt.keys}


@pytest.mark.parametrize(("rotation", "period", "days"), [
    ("true", "local.days * 2", 180),
    ("var.on", "var.periods[\"prod\"]", 90),
    ("!false", "max(30, 45)", 45),
    ("var.env == \"prod\" ? true : false", "tonumber(\"120\")", 120),
    ("lookup(var.flags, \"rotate\", false)", "length(var.periods) * 100", 100),
])
def test_expressions_are_evaluated(tmp_path, rotation, period, days):
    write(tmp_path / "main.tf", KEY % (rotation, period) + '''
locals { days = 90 }
variable "on" { default = true }
variable "env" { default = "prod" }
variable "periods" { default = { prod = 90 } }
variable "flags" { default = { rotate = true } }
''')
    key = keys(discover("terraform", tmp_path, paths=["."]))["aws_kms_key.main"]
    assert key.managed.rotation.automatic is True
    assert key.managed.rotation.period_days == days


def test_variables_come_from_tfvars_var_files_and_options_in_that_order(tmp_path):
    write(tmp_path / "infra/main.tf", KEY % ("var.rotate", "var.period") + '''
variable "rotate" { default = false }
variable "period" { default = 400 }
''')
    write(tmp_path / "infra/terraform.tfvars", "rotate = true\nperiod = 300\n")
    write(tmp_path / "prod.tfvars", "period = 200\n")
    attempt = discover("terraform", tmp_path, paths=["infra"], var_files=["prod.tfvars"])
    assert keys(attempt)["aws_kms_key.main"].managed.rotation.period_days == 200
    attempt = discover("terraform", tmp_path, paths=["infra"], var_files=["prod.tfvars"],
                       variables={"period": 100})
    key = keys(attempt)["aws_kms_key.main"]
    assert key.managed.rotation.period_days == 100
    assert key.uid == "terraform:infra/main.tf:2:aws_kms_key.main"


def test_an_unresolvable_value_is_unreadable_with_the_expression(tmp_path):
    write(tmp_path / "main.tf", KEY % ("aws_kms_key.other.enable_key_rotation",
                                       "[for d in var.days : d][0]") + '''
variable "days" { default = [90] }
''')
    key = keys(discover("terraform", tmp_path, paths=["."]))["aws_kms_key.main"]
    assert key.managed.rotation is None
    reason = key.unreadable["managed.rotation"]
    assert "aws_kms_key.other.enable_key_rotation" in reason
    assert "known only after apply" in reason


def test_unknown_function_names_itself(tmp_path):
    write(tmp_path / "main.tf", KEY % ("true", "timeadd(\"x\", \"1h\")"))
    key = keys(discover("terraform", tmp_path, paths=["."]))["aws_kms_key.main"]
    assert "timeadd" in key.unreadable["managed.rotation.period_days"]


def test_count_and_for_each_expand_and_unresolvable_ones_are_errors(tmp_path):
    write(tmp_path / "main.tf", '''
resource "aws_kms_key" "counted" {
  count               = 2
  enable_key_rotation = count.index == 0
}
resource "aws_kms_key" "each" {
  for_each            = { a = true, b = false }
  enable_key_rotation = each.value
}
resource "aws_kms_key" "unknown" {
  count = length(data.aws_availability_zones.all.names)
}
''')
    attempt = discover("terraform", tmp_path, paths=["."])
    found = {a: k.managed.rotation.automatic for a, k in keys(attempt).items()}
    assert found == {"aws_kms_key.counted[0]": True, "aws_kms_key.counted[1]": False,
                     'aws_kms_key.each["a"]': True, 'aws_kms_key.each["b"]': False}
    (error,) = attempt.errors
    assert "count = length(data.aws_availability_zones.all.names)" in error.reason
    assert error.key_uid == "terraform:main.tf:10:aws_kms_key.unknown"
    assert error.location.line == 10
    assert error.location.address == "aws_kms_key.unknown"


def test_a_file_that_does_not_parse_is_one_located_error(tmp_path):
    write(tmp_path / "good.tf", KEY % ("true", "90"))
    write(tmp_path / "bad.tf", 'resource "aws_kms_key" "x" {\n  = broken\n')
    attempt = discover("terraform", tmp_path, paths=["."])
    (error,) = attempt.errors
    assert error.reason.startswith(".: bad.tf: cannot parse")
    assert error.location.path == "bad.tf"
    assert attempt.keys == []


def test_a_local_that_refers_to_itself_is_unreadable(tmp_path):
    write(tmp_path / "main.tf", KEY % ("local.a", "90") + "locals {\n  a = local.a\n}\n")
    key = keys(discover("terraform", tmp_path, paths=["."]))["aws_kms_key.main"]
    assert "refers to itself" in key.unreadable["managed.rotation"]


def test_the_plan_replaces_code_values_and_marks_actions(tmp_path):
    write(tmp_path / "main.tf", KEY % ("true", "90"))
    change = {"address": "aws_kms_key.main", "mode": "managed", "type": "aws_kms_key",
              "name": "main", "change": {
                  "actions": ["update"], "before": {}, "after": {
                      "enable_key_rotation": False, "key_spec": "SYMMETRIC_DEFAULT"},
                  "after_unknown": {"arn": True}}}
    write(tmp_path / "plan.json", json.dumps({"format_version": "1.2",
                                              "resource_changes": [change]}))
    attempt = discover("terraform", tmp_path, paths=["."], plan_json="plan.json")
    key = keys(attempt)["aws_kms_key.main"]
    assert key.managed.rotation.automatic is False
    assert key.attributes["plan_actions"] == ["update"]
    assert key.location.line == 2
    # Code never states a key's age: no error, the live key's audit judges it.
    assert "created" not in key.unreadable
    assert "created" in key.attributes["unstated"]


def test_a_planned_destroy_is_a_pending_deletion(tmp_path):
    write(tmp_path / "main.tf", "")
    change = {"address": "aws_kms_key.gone", "mode": "managed", "type": "aws_kms_key",
              "name": "gone", "change": {"actions": ["delete"], "before": {
                  "enable_key_rotation": True}, "after": None}}
    write(tmp_path / "plan.json", json.dumps({"format_version": "1.2",
                                              "resource_changes": [change]}))
    attempt = discover("terraform", tmp_path, paths=["."], plan_json="plan.json")
    assert keys(attempt)["aws_kms_key.gone"].managed.state is KeyState.PENDING_DELETION


def test_a_plan_that_is_not_plan_json_is_an_error(tmp_path):
    write(tmp_path / "main.tf", KEY % ("true", "90"))
    write(tmp_path / "plan.json", json.dumps({"resources": []}))
    attempt = discover("terraform", tmp_path, paths=["."], plan_json="plan.json")
    (error,) = attempt.errors
    assert "no format_version" in error.reason


def test_unknown_options_are_usage_errors(tmp_path):
    with pytest.raises(ConfigError, match="plan_file"):
        discover("terraform", tmp_path, paths=["."], plan_file="plan.json")


def test_key_material_in_code_is_never_recorded(tmp_path):
    write(tmp_path / "main.tf", '''
resource "aws_kms_external_key" "byok" {
  key_material_base64 = "c2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcyEhISE="
  valid_to            = "2027-01-01T00:00:00Z"
}
''')
    (key,) = discover("terraform", tmp_path, paths=["."]).keys
    assert key.managed.state is KeyState.ENABLED
    assert key.managed.material_expires is True
    assert "c2VjcmV0" not in repr(key)


@pytest.mark.parametrize(("name", "why"), [
    ("main.tf.json", "Terraform JSON syntax is not read"),
    ("kms_override.tf", "override files are not merged"),
])
def test_files_a_plain_reading_would_misread_are_errors(tmp_path, name, why):
    write(tmp_path / "main.tf", KEY % ("true", "90"))
    write(tmp_path / name, "{}")
    attempt = discover("terraform", tmp_path, paths=["."])
    (error,) = attempt.errors
    assert why in error.reason
    assert error.location.path == name


def test_deeply_nested_expressions_are_an_error_for_that_block(tmp_path):
    nested = "(" * 400 + "1" + ")" * 400
    write(tmp_path / "fine.tf", KEY % ("true", "90"))
    write(tmp_path / "deep.tf", KEY.replace("main", "deep") % ("true", nested))
    attempt = discover("terraform", tmp_path, paths=["."])
    (error,) = attempt.errors
    assert "aws_kms_key.deep" in error.reason
    assert "too deeply" in error.reason
    assert [k.attributes["address"] for k in attempt.keys] == ["aws_kms_key.main"]


def test_a_policy_document_data_source_is_read_as_terraform_renders_it(tmp_path):
    write(tmp_path / "main.tf", '''
variable "account" { default = "111122223333" }
data "aws_iam_policy_document" "key" {
  statement {
    sid     = "Admins"
    actions = ["kms:*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${var.account}:role/admin"]
    }
  }
  statement {
    sid     = "Anyone"
    actions = ["kms:Decrypt"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = ["o-abc123"]
    }
  }
}
data "aws_iam_policy_document" "merged" {
  source_policy_documents = [data.aws_iam_policy_document.key.json]
}
resource "aws_kms_key" "main" {
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
}
resource "aws_kms_key" "merged" {
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.merged.json
}
''')
    found = keys(discover("terraform", tmp_path, paths=["."], account_id="111122223333"))
    grants = {g.ref: g for g in found["aws_kms_key.main"].managed.access}
    assert grants["statement Admins"].principal == "arn:aws:iam::111122223333:role/admin"
    assert not grants["statement Admins"].outside
    assert grants["statement Anyone"].restricted  # pinned to an organisation
    assert not grants["statement Anyone"].is_public
    merged = found["aws_kms_key.merged"]
    assert "source_policy_documents merges other documents" in merged.unreadable["managed.access"]


def test_grants_and_iam_members_outside_the_trusted_accounts(tmp_path):
    write(tmp_path / "main.tf", '''
variable "grantee" {}
resource "aws_kms_key" "main" { enable_key_rotation = true }
resource "aws_kms_grant" "unknown" {
  key_id            = aws_kms_key.main.key_id
  grantee_principal = var.grantee
  operations        = ["Decrypt"]
}
resource "google_kms_crypto_key" "gcp" {
  name            = "k"
  key_ring        = "ring"
  rotation_period = "7776000s"
}
resource "google_kms_crypto_key_iam_member" "partner" {
  crypto_key_id = google_kms_crypto_key.gcp.id
  role          = "roles/cloudkms.admin"
  member        = "user:someone@partner.example"
}
''')
    found = keys(discover("terraform", tmp_path, paths=["."], trusted_accounts=["corp.example"]))
    reason = found["aws_kms_key.main"].unreadable["managed.access"]
    assert reason.startswith("aws_kms_grant.unknown: variable 'grantee' has no value")
    (member,) = found["google_kms_crypto_key.gcp"].managed.access
    assert member.outside
    assert member.ref == "google_kms_crypto_key_iam_member.partner roles/cloudkms.admin"
