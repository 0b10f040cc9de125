"""The CloudFormation reader: short forms, parameters, JSON templates and bad input."""

from __future__ import annotations

import json

from pytest_cryptoaudit.facts import KeyOrigin, KeyState
from tests.iac.conftest import discover, write

TEMPLATE = '''
Parameters:
  Days:
    Type: Number
    Default: 120
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
      RotationPeriodInDays: !Ref Days
      KeyPolicy:
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
            Action: !Join [":", [kms, "*"]]
            Resource: "*"
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      Protocol: !If [IsProd, HTTPS, HTTP]
      SslPolicy: ELBSecurityPolicy-TLS13-1-3-2021-06
'''


def by_address(attempt):
    return {**{k.location.address: k for k in attempt.keys},
            **{e.location.address: e for e in attempt.endpoints}}


def test_short_forms_and_parameters_resolve(tmp_path):
    write(tmp_path / "stack.yaml", TEMPLATE)
    found = by_address(discover("cloudformation", tmp_path, paths=["."],
                                account_id="111122223333"))
    key = found["Key"]
    assert key.uid == "cloudformation:stack.yaml:7:Key"
    assert key.managed.rotation.period_days == 120
    assert [g.principal for g in key.managed.access] == ["arn:aws:iam::111122223333:root"]
    assert not key.managed.access[0].outside
    assert found["Listener"].attributes["protocols"] == ["TLSv1.3"]


def test_parameters_option_and_unknown_account(tmp_path):
    write(tmp_path / "stack.yaml", TEMPLATE)
    found = by_address(discover("cloudformation", tmp_path, paths=["stack.yaml"],
                                parameters={"Days": 400}))
    key = found["Key"]
    assert key.managed.rotation.period_days == 400
    assert "AWS::AccountId" in key.unreadable["managed.access"]


def test_json_templates_and_external_origin(tmp_path):
    body = {"Resources": {"Imported": {"Type": "AWS::KMS::Key", "Properties": {
        "Origin": "EXTERNAL", "Enabled": False}}}}
    write(tmp_path / "t.json", json.dumps(body, indent=2))
    (key,) = discover("cloudformation", tmp_path, paths=["."]).keys
    assert key.managed.origin is KeyOrigin.IMPORTED
    assert key.managed.state is KeyState.PENDING_IMPORT
    assert key.location.line == 3


def test_a_broken_template_is_one_named_error_and_others_still_read(tmp_path):
    write(tmp_path / "a-bad.yaml", "Resources: [unclosed\n")
    write(tmp_path / "b-good.yaml", TEMPLATE)
    attempt = discover("cloudformation", tmp_path, paths=["."])
    (error,) = attempt.errors
    assert error.reason.startswith("a-bad.yaml: cannot read template")
    assert error.location.path == "a-bad.yaml"
    assert "Key" in by_address(attempt)


def test_a_path_with_no_template_is_an_error(tmp_path):
    attempt = discover("cloudformation", tmp_path, paths=["missing"])
    assert [e.reason for e in attempt.errors] == ["path 'missing' matched no template"]
