"""`sweep --maps/--methods` run part of a preset's grid: exactly the preset's own cells, so that the whole
preset swept later into the same root finds them done."""

from __future__ import annotations

import pytest

from benchmark.errors import UserError
from benchmark.sweep import load_preset, plan, subgrid
from cli_helpers import run_cli


@pytest.mark.parametrize("name", ["validation", "results", "paper"])
def test_a_subgrid_is_the_presets_own_cells(name, tmp_path):
    preset = load_preset(name)
    full = {c.run_dir: c for c in plan(preset, tmp_path)}
    part = plan(subgrid(preset, maps=[preset.maps[-1]], methods=["vanilla", "paad"]), tmp_path)
    assert part and {c.config.env.map for c in part} == {preset.maps[-1]}
    assert {c.config.method.name for c in part} == {"vanilla", "paad"}
    for cell in part:
        assert cell == full[cell.run_dir] and cell.config == full[cell.run_dir].config


def test_a_setting_only_dropped_methods_have_is_dropped_with_them(tmp_path):
    preset = load_preset("results")  # method.attack_steps: 3, which vanilla does not have
    vanilla = subgrid(preset, methods=["vanilla"])
    assert "method.attack_steps" not in vanilla.settings and "train.test_interval" in vanilla.settings
    assert subgrid(preset, methods=["paad"]).settings == preset.settings


def test_a_map_or_method_the_preset_lacks_is_refused():
    with pytest.raises(UserError, match="has no map 8m; it has 2m_vs_1z, 3m"):
        subgrid(load_preset("results"), maps=["8m"])
    with pytest.raises(UserError, match="has no method vanila"):
        subgrid(load_preset("results"), methods=["vanila"])


def test_the_sweep_command_plans_the_subgrid(tmp_path):
    out = run_cli("sweep", "--preset", "validation", "--out", str(tmp_path), "--maps", "3m", "--methods", "vanilla", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "total     │ 3 " in out.stdout and "2s3z" not in out.stdout
    bad = run_cli("sweep", "--preset", "validation", "--maps", "3n", "--dry-run")
    assert bad.returncode == 1 and "has no map 3n" in bad.stderr and bad.stderr.count("\n") == 1


@pytest.mark.parametrize(("trained", "learned"), [("validation", "validation_learned"), ("results", "results_learned"), ("faithful", "faithful_learned"), ("ci", "ci_learned"), ("validation", "validation_transfer")])
def test_an_attacks_only_preset_evaluates_its_partners_runs_and_trains_none_of_its_own(trained, learned, tmp_path):
    # The two presets repeat one grid (the `_learned` presets, the CI gate's, the transfer check); if they
    # drifted apart, the second would train new runs instead of attacking the trained ones.
    runs = {c.run_dir: c.config for c in plan(load_preset(trained), tmp_path)}
    attacked = {c.run_dir: c.config for c in plan(load_preset(learned), tmp_path)}
    assert attacked and all(runs.get(path) == cfg for path, cfg in attacked.items())
