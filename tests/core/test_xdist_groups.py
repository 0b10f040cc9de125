"""``-n N --dist loadgroup`` keeps each system's tests on one xdist worker."""

from __future__ import annotations

import re

import pytest

from pytest_cryptoaudit.testing import audit_pytester
from tests.factories import ec_key, private_pem, rsa_key, write

SYSTEMS = "".join(f"""
[[systems]]
name = "{name}"
provider = "files"
risk_tier = "medium"
ssrm_owner = "CSC"
paths = ["{name}"]
""" for name in ("alpha", "beta", "gamma"))


def test_loadgroup_keeps_a_systems_tests_on_one_worker(pytester: pytest.Pytester) -> None:
    for name in ("alpha", "beta", "gamma"):
        write(pytester.path / name / "ec.pem", private_pem(ec_key()))
        write(pytester.path / name / "rsa.pem", private_pem(rsa_key(2048)))
    done = audit_pytester(pytester, "-p", "xdist", "-n", "2", "--dist", "loadgroup", "-v",
                          config=SYSTEMS)
    workers: dict[str, set[str]] = {}
    for worker, nodeid in re.findall(r"\[(gw\d)\] \[\s*\d+%\] \w+ (\S+)", done.output):
        system = next((n for n in ("alpha", "beta", "gamma") if f":{n}/" in nodeid
                       or nodeid.endswith(f":{n}]")), None)
        if system:
            workers.setdefault(system, set()).add(worker)
    assert sorted(workers) == ["alpha", "beta", "gamma"], done.output
    assert all(len(used) == 1 for used in workers.values()), workers
    assert len(done.evidence["results"]) == sum(1 for _ in re.finditer(
        r"\[gw\d\] \[\s*\d+%\] ", done.output))
