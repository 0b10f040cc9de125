"""Mutation testing of the audit's own logic: does the suite notice when a check is broken?

    python scripts/mutation.py                          # every module, a sample of each
    python scripts/mutation.py ledger-chain cadence     # named modules only
    python scripts/mutation.py --sample 0               # every mutant (hours)
    python scripts/mutation.py --report                 # scores of what has run so far
    python scripts/mutation.py --retry-survivors ledger-chain   # after adding tests

Uses cosmic-ray (the ``test`` extra). Each module is mutated in its own scratch copy of the
source tree (``.mutation/<module>/``), never in the checkout, and tested by a selection of
fast-lane tests that exercises it (``MODULES`` below) with the copy first on ``PYTHONPATH``.
A session database per module makes a run resumable: run the command again and it goes on
where it stopped. ``--sample N`` (default 60) keeps a random, seeded sample of N mutants per
module and marks the rest skipped (run again with a larger N, or 0, to widen the sample of an
existing session); ``--minutes`` bounds each module's run (default 60).

Prints, per module, the mutants killed, survived and not run, and the score (killed / run);
mutants inside type annotations (never evaluated here) are equivalent and counted apart;
the surviving mutants (line, operator and diff) are written to
``.mutation/<module>/survivors.txt``. Too slow for every CI run: not part of ``.ci/run``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / ".mutation"
#: What the scratch copy holds: the package, the controls and the tests (not docs, not data).
COPIED = ("pytest_cryptoaudit", "controls", "tests", "pyproject.toml")


@dataclasses.dataclass(frozen=True)
class Module:
    """One module under mutation and the tests that must notice its mutants."""

    path: str
    tests: tuple[str, ...]
    #: Extra pytest options: the one-control-at-a-time selections under ``tests/controls``
    #: need neither the suite's conftest nor hypothesis, and start in half the time.
    options: tuple[str, ...] = ()


#: Options of the selections that judge controls in-process (``tests/controls``).
ALONE = ("--noconftest", "-p", "no:hypothesispytest")


def alone(path: str, *tests: str) -> Module:
    """A control module measured by its in-process selection under ``tests/controls``."""
    return Module(path, tests, ALONE)


MODULES = {
    "controls-managed-keys": Module("controls/managed_keys.py",
                                    ("tests/core/test_managed_controls.py",)),
    "controls-managed-access": Module("controls/managed_access.py",
                                      ("tests/core/test_managed_controls.py",)),
    "controls-algorithms": Module("controls/algorithms.py", (
        "tests/core/test_algorithm_controls.py", "tests/core/test_audit_files.py")),
    "controls-lifecycle": Module("controls/lifecycle.py", (
        "tests/core/test_lifecycle_controls.py", "tests/core/test_audit_files.py")),
    "controls-cek09": alone("controls/cek09.py", "tests/controls/test_cek09_logic.py"),
    "controls-aws-kms": alone("controls/aws_kms.py", "tests/controls/test_aws_kms_logic.py"),
    "controls-aws-kms-access": alone("controls/aws_kms_access.py",
                                     "tests/controls/test_aws_kms_logic.py"),
    "controls-storage": alone("controls/storage.py",
                              "tests/controls/test_files_purpose_inventory_logic.py"),
    "controls-purpose": alone("controls/purpose.py",
                              "tests/controls/test_files_purpose_inventory_logic.py"),
    "controls-inventory": alone("controls/inventory.py",
                                "tests/controls/test_files_purpose_inventory_logic.py"),
    "controls-pq": alone("controls/pq.py", "tests/controls/test_pq_logic.py"),
    "controls-vault-pki": alone("controls/vault_pki.py", "tests/controls/test_vault_pki_logic.py"),
    "controls-vault": alone("controls/vault.py", "tests/controls/test_vault_logic.py"),
    "controls-tls": alone("controls/tls.py", "tests/controls/test_tls_logic.py"),
    "controls-azure-keyvault": alone("controls/azure_keyvault.py",
                                     "tests/controls/test_azure_keyvault_logic.py"),
    "controls-iac": alone("controls/iac.py", "tests/controls/test_iac_logic.py"),
    "controls-pkcs11": alone("controls/pkcs11.py", "tests/controls/test_pkcs11_logic.py"),
    "controls-tenancy": alone("controls/tenancy.py", "tests/controls/test_tenancy_logic.py"),
    "controls-libraries": alone("controls/libraries.py",
                                "tests/controls/test_libraries_logic.py"),
    "ledger-chain": Module("pytest_cryptoaudit/ledger/chain.py", (
        "tests/ledger/test_chain_unit.py", "tests/ledger/test_chain.py")),
    "cadence": Module("pytest_cryptoaudit/cadence.py", (
        "tests/ledger/test_cadence_unit.py", "tests/ledger/test_cadence.py")),
    "policy": Module("pytest_cryptoaudit/policy.py", (
        "tests/core/test_policy_defaults.py", "tests/core/test_config.py",
        "tests/core/test_managed_controls.py")),
    "waivers": Module("pytest_cryptoaudit/waivers.py", (
        "tests/core/test_waiver_file.py", "tests/ledger/test_retired_checks.py",
        "tests/reporting/test_waivers.py")),
}


def test_command(module: Module) -> str:
    return " ".join([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                     "-m", "'not service'", *module.options, *module.tests])


def prepare(name: str, module: Module, timeout: float) -> Path:
    """The module's scratch copy (of the checkout as it is now) and its cosmic-ray
    configuration; the session database beside them keeps the results."""
    work = SCRATCH / name
    tree = work / "tree"
    shutil.rmtree(tree, ignore_errors=True)  # fresh: the tests may have grown since
    tree.mkdir(parents=True)
    for item in COPIED:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, tree / item, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, tree / item)
    (work / "config.toml").write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module.path}"\n'
        f"timeout = {timeout:.0f}\n"
        "excluded-modules = []\n"
        f'test-command = "{test_command(module)}"\n\n'
        "[cosmic-ray.distributor]\n"
        'name = "local"\n', encoding="utf-8")
    return work


def environment(tree: Path) -> dict[str, str]:
    """The copy first on the path, so the mutated package is the one imported."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def baseline(module: Module, tree: Path) -> float:
    """Seconds the unmutated selection takes; it must pass, or no mutant says anything."""
    begun = time.monotonic()
    done = subprocess.run(test_command(module), shell=True, cwd=tree, env=environment(tree),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the tests of {module.path} fail before any mutation:\n{done.stdout[-3000:]}")
    return time.monotonic() - begun


def initialise(work: Path, sample: int, seed: int) -> None:
    """Create the session (once) and keep a seeded sample of its mutants; on an existing
    session, a larger ``sample`` (or 0, all) widens the sample with more of the skipped."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    session = work / "session.sqlite"
    if session.exists():
        widen(session, sample, seed)
        return
    subprocess.run(["cosmic-ray", "init", str(work / "config.toml"), str(session)],
                   cwd=work / "tree", env=environment(work / "tree"), check=True)
    with use_db(str(session), WorkDB.Mode.open) as db:
        # Job ids are random: order the mutants by what they change, so that a seed draws
        # the same sample in every fresh session of the same source.
        jobs = [item.job_id for item in sorted(db.work_items, key=_identity)]
        if 0 < sample < len(jobs):
            kept = set(random.Random(seed).sample(jobs, sample))
            db.set_multiple_results([j for j in jobs if j not in kept],
                                    WorkResult(worker_outcome=WorkerOutcome.SKIPPED))


def widen(session: Path, sample: int, seed: int) -> None:
    """Un-skip seeded mutants until ``sample`` of them are kept (0: all of them)."""
    import sqlite3

    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome

    with use_db(str(session), WorkDB.Mode.open) as db:
        order = {item.job_id: _identity(item) for item in db.work_items}
        skipped = sorted((job for job, result in db.results
                          if result.worker_outcome == WorkerOutcome.SKIPPED),
                         key=order.__getitem__)
    wanted = len(skipped) if sample == 0 else sample - (len(order) - len(skipped))
    if wanted <= 0:
        return
    chosen = random.Random(seed).sample(skipped, min(wanted, len(skipped)))
    with sqlite3.connect(session) as connection:
        connection.executemany("DELETE FROM work_results WHERE job_id = ?",
                               [(job,) for job in chosen])


def _identity(item: Any) -> tuple[Any, ...]:
    mutation = item.mutations[0]
    return (tuple(mutation.start_pos), mutation.operator_name, mutation.occurrence)


def retry_survivors(work: Path) -> None:
    """Forget the survivors' results, so that they run again (after new tests were added)."""
    import sqlite3

    with sqlite3.connect(work / "session.sqlite") as db:
        db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")


def execute(work: Path, module: Module, minutes: float) -> None:
    """Run the pending mutants, for at most ``minutes``; what is left stays pending."""
    tree = work / "tree"
    try:
        subprocess.run(["cosmic-ray", "exec", str(work / "config.toml"),
                        str(work / "session.sqlite")], cwd=tree, env=environment(tree),
                       timeout=minutes * 60, check=False)
    except subprocess.TimeoutExpired:
        print(f"  time budget of {minutes:g} min spent; run again to go on")
    finally:  # a mutant interrupted mid-run must not stay in the copy
        shutil.copy2(ROOT / module.path, tree / module.path)


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the module's annotations are: under ``from __future__ import annotations`` they
    are never evaluated, so a mutant inside one (``Entry | None`` -> ``Entry ^ None``) is
    equivalent by construction and counted apart."""
    import ast

    spans = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            found += [a.annotation for a in (*arguments.posonlyargs, *arguments.args,
                                             *arguments.kwonlyargs, arguments.vararg,
                                             arguments.kwarg) if a is not None]
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        spans += [((e.lineno, e.col_offset), (e.end_lineno or e.lineno, e.end_col_offset or 0))
                  for e in found if e is not None]
    return spans


def in_annotation(position: tuple[int, int],
                  spans: list[tuple[tuple[int, int], tuple[int, int]]]) -> bool:
    return any(start <= tuple(position) < end for start, end in spans)


def report(name: str, module: Module) -> tuple[int, int] | None:
    """Print the module's score and write its survivors; (killed, run) or None."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    session = SCRATCH / name / "session.sqlite"
    if not session.exists():
        print(f"{name:26} not run")
        return None
    with use_db(str(session), WorkDB.Mode.open) as db:
        total = db.num_work_items
        done = [(item, result) for item, result in db.completed_work_items
                if result.worker_outcome != WorkerOutcome.SKIPPED]
    spans = annotation_spans(ROOT / module.path)
    annotations = [(item, result) for item, result in done
                   if in_annotation(item.mutations[0].start_pos, spans)]
    done = [pair for pair in done if pair not in annotations]
    survivors = [(item, result) for item, result in done
                 if result.test_outcome == TestOutcome.SURVIVED]
    killed = len(done) - len(survivors)
    score = f"{100 * killed / len(done):5.1f}%" if done else "    -"
    print(f"{name:26} {score}  killed {killed:4}  survived {len(survivors):4}  "
          f"run {len(done):4} of {total:4} mutants, {len(annotations)} in annotations "
          f"not counted  ({module.path})")
    lines = []
    for item, result in sorted(survivors, key=lambda s: s[0].mutations[0].start_pos):
        mutation = item.mutations[0]
        lines.append(f"{mutation.module_path}:{mutation.start_pos[0]} "
                     f"{mutation.operator_name} #{mutation.occurrence}\n{result.diff or ''}\n")
    (SCRATCH / name / "survivors.txt").write_text("\n".join(lines), encoding="utf-8")
    return killed, len(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", choices=[[], *MODULES], metavar="MODULE",
                        help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--sample", type=int, default=60,
                        help="mutants per module, a seeded random sample (0: all)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=60, help="time budget per module")
    parser.add_argument("--report", action="store_true", help="only print the scores")
    parser.add_argument("--retry-survivors", action="store_true",
                        help="run the surviving mutants again (after adding tests)")
    args = parser.parse_args()
    names = args.modules or list(MODULES)
    if not args.report:
        for name in names:
            module = MODULES[name]
            print(f"{name}: mutating {module.path}")
            work = prepare(name, module, timeout=60)
            seconds = baseline(module, work / "tree")
            prepare(name, module, timeout=max(60, 4 * seconds))
            initialise(work, args.sample, args.seed)
            if args.retry_survivors:
                retry_survivors(work)
            execute(work, module, args.minutes)
    print("\nmutation score (killed / run)")
    for name in names:
        report(name, MODULES[name])


if __name__ == "__main__":
    main()
