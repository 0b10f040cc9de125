"""`cryptoaudit lab` seeds the infrastructure code beside its services, and removes it."""

from __future__ import annotations

from pytest_cryptoaudit.lab import lab


def test_the_lab_seeds_and_removes_its_code(tmp_path):
    state = lab.LabState(tmp_path)
    said: list[str] = []
    lab._start_iac(state, said.append)
    providers = sorted(s["provider"] for s in state.systems)
    assert providers == ["cloudformation", "kubernetes", "terraform", "terraform"]
    for system in state.systems:
        for path in system["paths"]:
            assert (tmp_path / path).is_dir(), path
    assert (tmp_path / "iac/terraform-plan/plan.json").is_file()
    assert "iac" in said[0]
    lab.down(tmp_path, say=said.append)
    assert not (tmp_path / "iac").exists()
