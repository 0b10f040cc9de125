"""The progress line in a real run: plain lines when the output is not a terminal (CI),
with keys found, rate and ETA, and the systems reported in configuration order.

The run is in-process so that the session's interval between lines can be shortened: the
behaviour is the same as at the real 2 s, in a quarter of the time."""

from __future__ import annotations

import textwrap
import time

import pytest

from pytest_cryptoaudit import session

#: The interval between plain progress lines in this test (2 s in a real run): short, so the
#: discovery below outlasts several intervals in about a second and a half.
INTERVAL = 0.5

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
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "PROGRESS_INTERVAL_SECONDS", INTERVAL)
    pytester.makeconftest(textwrap.dedent(PROVIDER))
    pytester.makefile(".toml", cryptoaudit=SYSTEM.format(name="slow-first", keys=50,
                                                         seconds=3 * INTERVAL)
                      + SYSTEM.format(name="fast-second", keys=10, seconds=0.02))
    begun = time.monotonic()
    result = pytester.runpytest_inprocess("--cryptoaudit", "--cryptoaudit-no-builtin",
                                          "--cryptoaudit-no-ledger", "-p", "no:cacheprovider")
    elapsed = time.monotonic() - begun
    lines = result.stdout.lines
    progress = [line for line in lines if line.startswith("cryptoaudit: discovery: ")]
    assert progress, result.stdout.str()
    # plain lines no more often than the interval (discovery polls twice as often)
    assert len(progress) <= elapsed / INTERVAL + 1, progress
    assert any("of 2 systems done" in line and " keys/s, ETA " in line for line in progress)
    assert any(" ETA 0:0" in line for line in progress)  # both systems listed: an estimate
    done = [line for line in lines if line.startswith("cryptoaudit: discovered ")]
    assert [line.split()[2] for line in done] == ["slow-first", "fast-second"]
    assert "\r" not in result.stdout.str()  # not a terminal: no line rewritten in place
