"""``--cryptoaudit-incremental`` over moto's KMS API: a run after a complete audit re-checks
exactly the (check, key) pairs whose inputs changed and carries the others, marked."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.lab.estate_kms import session
from pytest_cryptoaudit.ledger.store import open_ledger
from pytest_cryptoaudit.testing import AuditRun, audit_pytester

from .kms_helpers import system_toml

pytestmark = pytest.mark.usefixtures("aws_env")

INCREMENTAL = "--cryptoaudit-incremental"
CUSTOM_CONTROL = '''
import pytest

@pytest.mark.control("CEK-21", "Key inventory", check="custom-described",
                     applies_to={"provider": "aws-kms"})
@pytest.mark.ssrm("CSC")
def test_custom(crypto_key):
    """Every key has a key spec."""
    assert crypto_key.attributes["key_spec"]{suffix}
'''


class Estate:
    """Three keys of our own in a region no other test uses, with one rotation finding."""

    def __init__(self, url: str, region: str) -> None:
        self.kms = session(url).client("kms", region_name=region, endpoint_url=url)
        self.arns: list[str] = []
        self.ids: list[str] = []
        for rotate in (True, False, True):
            created = self.kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT",
                                          Tags=[{"TagKey": "owner", "TagValue": "app-team"}])
            key_id = created["KeyMetadata"]["KeyId"]
            if rotate:
                self.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
            self.arns.append(created["KeyMetadata"]["Arn"])
            self.ids.append(key_id)


def config(url: str, region: str, policy: str = "") -> str:
    return system_toml(url, regions=[region]) + policy


def run(pytester: pytest.Pytester, text: str, *args: str) -> AuditRun:
    return audit_pytester(pytester, *args, config=text)


def key_results(audit: AuditRun, arns: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["check"], r["key_uid"]): r for r in audit.evidence["results"]
            if r["key_uid"] in arns}


def carried(audit: AuditRun) -> set[tuple[str, str]]:
    return {(r["check"], r["key_uid"]) for r in audit.evidence["results"] if r["carried"]}


def hashed(audit: AuditRun, arns: list[str]) -> set[tuple[str, str]]:
    """The pairs of these keys whose inputs the run could hash (so may be carried)."""
    return {pair for pair, r in key_results(audit, arns).items() if r["inputs_sha256"]}


@pytest.mark.parametrize(("region", "workers"), [
    ("ap-southeast-2", ()), ("ap-south-1", ("-p", "xdist", "-n", "2"))], ids=["serial", "xdist"])
def test_nothing_changed_carries_every_hashed_pair_with_its_origin(
        pytester: pytest.Pytester, moto_server: Any, region: str, workers: tuple[str, ...]
) -> None:
    keys = Estate(moto_server.url, region)
    text = config(moto_server.url, region)
    full = run(pytester, text, INCREMENTAL)
    again = run(pytester, text, INCREMENTAL, *workers, "--cryptoaudit-markdown", "summary.md",
                "--junitxml", "junit.xml")
    assert again.evidence["run"]["selection"]["incremental"] is True
    # the first incremental run has nothing to carry from: it audits in full
    assert carried(full) == set()
    assert "kms audited in full: no complete audit in the ledger to carry from" in full.output
    movable = hashed(full, keys.arns)
    origin = {"run": full.evidence["run"]["id"], "at": full.evidence["run"]["started"]}
    # the checks that compare the clock with thresholds (key age, post-quantum dates) are
    # carried too, each with the instant its outcome could change
    assert {check for check, _uid in movable} >= {"key-age", "pq-readiness"}
    young = key_results(full, keys.arns)[("key-age", keys.arns[0])]
    assert young["outcome"] == "passed" and young["valid_until"] > full.evidence["run"]["started"]
    assert carried(again) == movable and len(movable) >= 3 * 5
    before, after = key_results(full, keys.arns), key_results(again, keys.arns)
    assert {p: r["outcome"] for p, r in after.items()} == \
        {p: r["outcome"] for p, r in before.items()}
    assert {tuple(after[p]["carried"].items()) for p in movable} == {tuple(origin.items())}
    # a carried finding is still a finding, with its message, in every report
    finding = after[("kms-rotation-enabled", keys.arns[1])]
    assert finding["outcome"] == "failed" and finding["carried"] == origin
    assert finding["message"] == before[("kms-rotation-enabled", keys.arns[1])]["message"]
    assert again.ret == 1
    assert f"incremental: {len(carried(again))} results carried" in again.output
    # every report tells carried results from fresh ones
    markdown = pytester.path.joinpath("summary.md").read_text()
    assert f"Incremental audit: {len(carried(again))} of " in markdown
    # a carried pair costs no test: JUnit XML lists the tests that ran
    junit = pytester.path.joinpath("junit.xml").read_text()
    assert junit.count("<testcase ") == len(again.evidence["results"]) - len(movable)
    assert again.evidence["not_applicable"] == full.evidence["not_applicable"]
    # the ledger counts the audit from when its oldest result was established
    with open_ledger(None, pytester.path) as store:
        latest = store.latest_audits(["kms"])["kms"]
    assert latest.run_id == again.evidence["run"]["id"]
    assert latest.data["audited_since"] == full.evidence["run"]["started"]
    assert latest.data["carried"] == len(carried(again))


def test_a_changed_key_re_runs_only_that_key(pytester: pytest.Pytester,
                                             moto_server: Any) -> None:
    keys = Estate(moto_server.url, "ap-northeast-1")
    text = config(moto_server.url, "ap-northeast-1")
    full = run(pytester, text, INCREMENTAL)
    keys.kms.tag_resource(KeyId=keys.ids[2], Tags=[{"TagKey": "team", "TagValue": "payments"}])
    again = run(pytester, text, INCREMENTAL)
    movable = hashed(full, keys.arns)
    changed = {pair for pair in movable if pair[1] == keys.arns[2]}
    assert changed and carried(again) == movable - changed
    # the next incremental run carries the re-checked pairs from the run that checked them
    third = run(pytester, text, INCREMENTAL)
    assert carried(third) == movable
    established = {key_results(third, keys.arns)[p]["carried"]["run"] for p in changed}
    assert established == {again.evidence["run"]["id"]}


def test_a_waiver_re_runs_only_the_finding_it_matches(pytester: pytest.Pytester,
                                                      moto_server: Any) -> None:
    keys = Estate(moto_server.url, "sa-east-1")
    text = config(moto_server.url, "sa-east-1")
    full = run(pytester, text, INCREMENTAL)
    pytester.path.joinpath("waivers.toml").write_text(
        '[[waivers]]\nid = "W-1"\ncontrol = "CEK-12"\ncheck = "kms-rotation-enabled"\n'
        f'key = "{keys.arns[1]}"\njustification = "Batch key, replaced yearly."\n'
        'approver = "J. Doe"\nexpires = 2099-12-31\n')
    again = run(pytester, text, INCREMENTAL, "--cryptoaudit-waivers", "waivers.toml")
    pair = ("kms-rotation-enabled", keys.arns[1])
    assert carried(again) == hashed(full, keys.arns) - {pair}
    assert again.outcome(*pair) == "waived"
    # the waived result is carried next time, still waived
    third = run(pytester, text, INCREMENTAL, "--cryptoaudit-waivers", "waivers.toml")
    assert pair in carried(third) and third.outcome(*pair) == "waived"
    assert third.result(*pair)["waiver"]["id"] == "W-1"


def test_a_policy_change_audits_in_full(pytester: pytest.Pytester, moto_server: Any) -> None:
    keys = Estate(moto_server.url, "ca-central-1")
    full = run(pytester, config(moto_server.url, "ca-central-1"), INCREMENTAL)
    assert hashed(full, keys.arns)
    stricter = config(moto_server.url, "ca-central-1",
                      "\n[policy]\npost_2030_min_rsa_bits = 4096\n")
    again = run(pytester, stricter, INCREMENTAL)
    assert carried(again) == set()
    output = again.run_result.stdout.str() if again.run_result else ""
    assert "incremental: kms audited in full: the policy changed" in output


def test_a_control_whose_code_changed_re_runs_alone(pytester: pytest.Pytester,
                                                    moto_server: Any) -> None:
    keys = Estate(moto_server.url, "eu-north-1")
    text = config(moto_server.url, "eu-north-1")
    pytester.makepyfile(test_custom=CUSTOM_CONTROL.replace("{suffix}", ""))
    full = run(pytester, text, INCREMENTAL)
    movable = hashed(full, keys.arns)
    custom = {p for p in movable if p[0] == "custom-described"}
    assert len(custom) == 3
    pytester.makepyfile(test_custom=CUSTOM_CONTROL.replace("{suffix}", '.startswith("S")'))
    again = run(pytester, text, INCREMENTAL)
    assert carried(again) == movable - custom
    assert {again.outcome(*p) for p in custom} == {"passed"}


def test_an_event_since_the_last_audit_audits_in_full(pytester: pytest.Pytester,
                                                      moto_server: Any) -> None:
    keys = Estate(moto_server.url, "eu-west-3")
    text = config(moto_server.url, "eu-west-3")
    full = run(pytester, text, INCREMENTAL)
    assert hashed(full, keys.arns)
    assert main(["event", "add", "--system", "kms", "--kind", "security-incident",
                 "--note", "credentials leaked", "--config",
                 str(pytester.path / "cryptoaudit.toml")]) == 0
    again = run(pytester, text, INCREMENTAL)
    assert carried(again) == set()
    output = again.run_result.stdout.str() if again.run_result else ""
    assert "kms audited in full: security-incident recorded at" in output
    third = run(pytester, text, INCREMENTAL)  # the full audit followed the event up
    assert carried(third) == hashed(full, keys.arns)


def test_incremental_needs_the_ledger(pytester: pytest.Pytester, moto_server: Any) -> None:
    with pytest.raises(AssertionError, match=r"wrote no evidence \(exit 4\):\nERROR: "
                       r"--cryptoaudit-incremental carries results from the ledger"):
        run(pytester, config(moto_server.url, "us-west-1"), INCREMENTAL,
            "--cryptoaudit-no-ledger")


def test_a_run_without_the_option_leaves_nothing_to_carry(pytester: pytest.Pytester,
                                                           moto_server: Any) -> None:
    keys = Estate(moto_server.url, "eu-south-1")
    text = config(moto_server.url, "eu-south-1")
    plain = run(pytester, text)
    assert hashed(plain, keys.arns)
    again = run(pytester, text, INCREMENTAL)
    assert carried(again) == set()
    assert "kms audited in full: its last complete audit recorded no results to carry" \
        in again.output
