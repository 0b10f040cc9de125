"""The progress line in a real run: plain lines when the output is not a terminal (CI),
with keys found, rate and ETA, and the systems reported in configuration order."""

from __future__ import annotations

import textwrap

import pytest

PROVIDER = """
    import time

    from pytest_cryptoaudit import Provider, ProviderOptions
    from pytest_cryptoaudit.budget import DeadlineOptions


    class SlowOptions(ProviderOptions, DeadlineOptions):
        keys: int
        seconds: float


    class Slow(Provider):
        name = "slow"

        Options = SlowOptions

        def discover(self, system, context):
            attempt = self.new_discovery(system)
            total = system.options.keys
            for done in range(1, total + 1):
                time.sleep(system.options.seconds / total)
                attempt.add_key(f"{system.name}-{done}", "secret-key")
                context.progress(system.name, done, 0, expected=total)
            return attempt


    def pytest_cryptoaudit_add_providers(registry):
        registry.register(Slow)
"""

SYSTEM = """
[[systems]]
name = "{name}"
provider = "slow"
risk_tier = "low"
owner = "CSC"
keys = {keys}
seconds = {seconds}
"""


def test_a_long_discovery_prints_keys_rate_and_eta_and_keeps_the_order(
        pytester: pytest.Pytester) -> None:
    pytester.makeconftest(textwrap.dedent(PROVIDER))
    pytester.makefile(".toml", cryptoaudit=SYSTEM.format(name="slow-first", keys=50,
                                                         seconds=4.5)
                      + SYSTEM.format(name="fast-second", keys=10, seconds=0.1))
    result = pytester.runpytest_subprocess("--cryptoaudit", "--cryptoaudit-no-builtin",
                                           "--cryptoaudit-no-ledger", "-p", "no:cacheprovider")
    lines = result.stdout.lines
    progress = [line for line in lines if line.startswith("cryptoaudit: discovery: ")]
    assert progress, result.stdout.str()
    assert any("of 2 systems done" in line and " keys/s, ETA " in line for line in progress)
    assert any(" ETA 0:0" in line for line in progress)  # both systems listed: an estimate
    done = [line for line in lines if line.startswith("cryptoaudit: discovered ")]
    assert [line.split()[2] for line in done] == ["slow-first", "fast-second"]
    assert "\r" not in result.stdout.str()  # not a terminal: no line rewritten in place
