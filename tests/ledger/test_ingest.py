"""Event ingestion from a Vault/OpenBao file audit log and from CloudTrail log files."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest

from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.lab import openbao
from pytest_cryptoaudit.lab.processes import (
    ServiceError,
    free_port,
    http_ok,
    start_process,
    stop_pid,
    wait_until,
)
from pytest_cryptoaudit.ledger.ingest import IngestError, read_cloudtrail, read_vault_log
from pytest_cryptoaudit.ledger.store import open_ledger

from ..conftest import missing_service
from .conftest import make_project

DATA = Path(__file__).parent / "data"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADMIN = "arn:aws:sts::111122223333:assumed-role/KeyAdmin/alice"


def test_recorded_openbao_log_yields_key_and_policy_operations() -> None:
    events = read_vault_log(DATA / "openbao-audit.log", "vault-prod")
    assert [(e["kind"], e["note"]) for e in events] == [
        ("config-change", "mount secret written by token"),
        ("config-change", "mount transit written by token"),
        ("config-change", "transit key app written by token"),
        ("config-change", "transit key app reconfigured by token"),
        ("config-change", "transit key app rotated by token"),
        ("config-change", "transit key app reconfigured by token"),
        ("config-change", "transit key app deleted by token"),
        ("policy-change", "ACL policy ops written by token"),
        ("policy-change", "ACL policy ops removed by token"),
    ]  # encrypt, reads, requests and the failed audit-device call are left out
    assert events[2]["at"] == "2026-11-29T12:38:28.180210+00:00"
    assert len({e["source_id"] for e in events}) == len(events)


def test_bad_vault_log_line_is_named(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text('{"type": "response"}\nnot json\n')
    with pytest.raises(IngestError, match=r"audit.log:2: not a JSON audit entry"):
        read_vault_log(log, "vault-prod")


def _record(name: str, **extra: object) -> dict:
    return {"eventVersion": "1.08", "userIdentity": {"type": "AssumedRole", "arn": ADMIN},
            "eventTime": "2026-05-04T10:00:00Z", "eventSource": "kms.amazonaws.com",
            "eventName": name, "awsRegion": "eu-west-1", "readOnly": False,
            "eventID": f"id-{name}-{len(extra)}", "eventType": "AwsApiCall",
            "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": KEY}],
            **extra}


def write_trail(folder: Path) -> Path:
    """A trail's folder layout: one plain and one gzip log file, as CloudTrail delivers them."""
    day = folder / "AWSLogs" / "111122223333" / "CloudTrail" / "eu-west-1" / "2026" / "05" / "04"
    day.mkdir(parents=True)
    first = {"Records": [
        {**_record("CreateKey", responseElements={"keyMetadata": {"arn": KEY}}),
         "resources": []},
        _record("Decrypt", readOnly=True),
        _record("DescribeKey", readOnly=True),
        _record("ScheduleKeyDeletion", errorCode="AccessDeniedException"),
        {**_record("PutBucketPolicy"), "eventSource": "s3.amazonaws.com"},
    ]}
    second = {"Records": [_record("PutKeyPolicy"), _record("DisableKeyRotation"),
                          _record("CreateGrant")]}
    (day / "111122223333_CloudTrail_eu-west-1_20260504T1000Z_a.json").write_text(
        json.dumps(first))
    (day / "111122223333_CloudTrail_eu-west-1_20260504T1005Z_b.json.gz").write_bytes(
        gzip.compress(json.dumps(second).encode()))
    return folder


def test_cloudtrail_folder_yields_kms_lifecycle_and_policy_calls(tmp_path: Path) -> None:
    events = read_cloudtrail(str(write_trail(tmp_path)), "aws-prod")
    assert [(e["kind"], e["note"].split(" on ")[0]) for e in events] == [
        ("config-change", "CreateKey"), ("policy-change", "PutKeyPolicy"),
        ("config-change", "DisableKeyRotation"), ("policy-change", "CreateGrant")]
    assert all(e["key"] == KEY for e in events)
    assert events[1]["note"] == f"PutKeyPolicy on {KEY} by {ADMIN}"


def test_cloudtrail_s3_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name, value in {"AWS_ENDPOINT_URL": f"http://{host}:{port}",
                            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "eu-west-1"}.items():
            monkeypatch.setenv(name, value)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="trail",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for path in sorted(write_trail(tmp_path).rglob("*.json*")):
            s3.put_object(Bucket="trail", Key=f"logs/{path.name}", Body=path.read_bytes())
        events = read_cloudtrail("s3://trail/logs/", "aws-prod")
    finally:
        server.stop()
    assert [e["note"].split(" on ")[0] for e in events] == [
        "CreateKey", "PutKeyPolicy", "DisableKeyRotation", "CreateGrant"]


def test_ingest_command_records_each_log_event_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(tmp_path)
    config = ["--config", str(tmp_path / "cryptoaudit.toml")]
    trail = str(write_trail(tmp_path / "trail"))
    assert main(["event", "ingest", "--system", "app-keys", "--cloudtrail", trail, *config]) == 0
    assert "recorded 4 events for app-keys; 0 already in the ledger" in capsys.readouterr().out
    assert main(["event", "ingest", "--system", "app-keys", "--cloudtrail", trail, *config]) == 0
    assert "recorded 0 events for app-keys; 4 already in the ledger" in capsys.readouterr().out
    with open_ledger(None, tmp_path) as store:
        assert [e.data["source"] for e in store.entries()] == ["cloudtrail"] * 4
    assert main(["event", "ingest", "--system", "nope", "--cloudtrail", trail, *config]) == 2
    assert "no configured system named 'nope'" in capsys.readouterr().err


def test_live_openbao_audit_log(tmp_path: Path) -> None:
    """A fresh log from a real OpenBao dev server with a file audit device."""
    try:
        bao = openbao.bao_binary()
    except ServiceError as exc:
        missing_service(str(exc))
    log = tmp_path / "audit.log"
    (tmp_path / "audit.hcl").write_text(
        f'audit "file" "main" {{\n  options {{\n    file_path = "{log}"\n  }}\n}}\n')
    port = free_port(with_neighbour=True)
    server = start_process([str(bao), "server", "-dev", "-dev-root-token-id=ledger-test",
                            f"-dev-listen-address=127.0.0.1:{port}",
                            f"-config={tmp_path / 'audit.hcl'}"], tmp_path / "bao.log")
    env = {**os.environ, "BAO_ADDR": f"http://127.0.0.1:{port}", "BAO_TOKEN": "ledger-test"}
    try:
        wait_until(http_ok(f"http://127.0.0.1:{port}/v1/sys/health"), "OpenBao")
        for args in (["secrets", "enable", "-path=crypto", "transit"],
                     ["write", "-f", "crypto/keys/orders"],
                     ["write", "-f", "crypto/keys/orders/rotate"]):
            subprocess.run([str(bao), *args], env=env, check=True, capture_output=True)
    finally:
        stop_pid(server.pid)
    notes = [e["note"] for e in read_vault_log(log, "vault-dev")]
    assert notes[-3:] == ["mount crypto written by token", "transit key orders written by token",
                          "transit key orders rotated by token"]
