"""The README's commands for a new user work as written."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from tests.factories import ec_key, private_pem, rsa_key, write
from tests.shipping.conftest import ROOT, pyproject, run

README = (ROOT / "README.md").read_text()

CONFIG = """
[[systems]]
name = "laptop"
provider = "files"
risk_tier = "medium"
owner = "CSC"
paths = ["keys"]
"""

WAIVERS = """
[[waivers]]
control = "CEK-12"
key = "files:keys/weak.pem"
justification = "Replaced next quarter."
approver = "J. Doe (CISO)"
expires = 2099-12-31
"""


def bash_block_after(heading: str) -> str:
    section = README.split(heading, 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def as_argv(block: str) -> list[str]:
    argv = shlex.split(block.replace("\\\n", " "))
    assert argv[0] == "pytest", argv
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv[1:]]


def test_evidence_command_runs_as_written(tmp_path):
    write(tmp_path / "keys/weak.pem", private_pem(rsa_key(1024)))
    write(tmp_path / "keys/strong.pem", private_pem(ec_key()))
    (tmp_path / "cryptoaudit.toml").write_text(CONFIG)
    (tmp_path / "waivers.toml").write_text(WAIVERS)
    result = run(as_argv(bash_block_after("## Evidence for auditors")), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert "unrecognized arguments" not in output, output
    assert result.returncode == 1, output  # the weak key's unwaived findings
    written = {path.relative_to(tmp_path / "out").as_posix()
               for path in (tmp_path / "out").iterdir()}
    assert written == {"evidence.json", "report.html", "junit.xml", "allure", "oscal.json",
                       "cbom.json", "summary.md", "pq-inventory.csv", "results.sarif"}
    assert any((tmp_path / "out/allure").iterdir())


def test_install_section_names_every_extra_and_no_index_install():
    install = README.split("## Installing", 1)[1].split("\n## ", 1)[0]
    extras = set(pyproject()["project"]["optional-dependencies"]) - {"test"}
    named = set(re.findall(r"`([a-z0-9]+)`", install))
    assert extras <= named, extras - named
    # Nothing installs the package from an index until a release exists.
    assert not re.search(r"pip install '?pytest-cryptoaudit\[", README)
    assert "--html" in install and "--alluredir" in install


def test_readme_links_point_at_files_that_exist():
    targets = re.findall(r"\]\(((?!https?://|#)[^)]+)\)", README)
    missing = [t for t in targets if not (ROOT / Path(t.split("#")[0])).exists()]
    assert not missing, missing
