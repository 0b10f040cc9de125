"""Shared test configuration: services the tests need must be present in CI.

Locally, a test whose service (say the softhsm2 Debian package) is not installed is skipped
with the command that installs it. With ``CRYPTOAUDIT_REQUIRE_SERVICES=1`` (set by
``.ci/run``) the same situation fails, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_executable(name: str, install_hint: str) -> str:
    """The path of ``name``, or skip (locally) / fail (in CI) with how to install it."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed: {install_hint}"
    if os.environ.get("CRYPTOAUDIT_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _no_ci_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Audits inside the tests must not write to the CI run's own step summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
