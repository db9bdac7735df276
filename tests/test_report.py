"""`robust-qmix report` on generated run directories whose win rates are known exactly."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from click.testing import CliRunner

from benchmark.errors import UserError
from benchmark.report.aggregate import summarise
from benchmark.report.build import build_report
from benchmark.report.command import report
from benchmark.report.compare import compare, read_baseline
from benchmark.report.figures import _score_matrices
from benchmark.report.runs import collect_runs
from benchmark.report.tables import paper_tables, to_latex, to_markdown
from runs_factory import CELLS, CONFIGS, EPISODES, MAPS, REPS, SEEDS, known_wins, write_run, write_sweep


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def summary(sweep) -> pd.DataFrame:
    return summarise(collect_runs([sweep]).runs, REPS)


# ---- the summary's numbers


def exact_bootstrap_interval(values: list[float]) -> tuple[float, float]:
    """The 95% percentile interval of the mean over *all* n^n equally likely resamples of the seeds."""
    means = [np.mean(c) for c in itertools.product(values, repeat=len(values))]
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def test_summary_matches_a_hand_computed_small_case(tmp_path):
    wins = [4, 10, 15, 20]  # of 20 episodes, one seed each: win rates 0.2, 0.5, 0.75, 1.0
    for seed, w in enumerate(wins):
        write_run(tmp_path, seed=seed, wins={("fgsm", 0.1): w})
    table = summarise(collect_runs([tmp_path]).runs, reps=4000)
    assert len(table) == 1
    row = table.iloc[0]
    assert row[["backend", "map", "method", "train_eps", "attack", "test_eps"]].tolist() == ["sim", "3m", "vanilla", 0.0, "fgsm", 0.1]
    assert (row.seeds, row.episodes, row.wins) == (4, 80, 49)
    assert row["mean"] == pytest.approx((0.2 + 0.5 + 0.75 + 1.0) / 4)
    assert row.iqm == pytest.approx((0.5 + 0.75) / 2)  # the middle half of four seeds
    assert row["std"] == pytest.approx(np.std([0.2, 0.5, 0.75, 1.0], ddof=1))
    low, high = exact_bootstrap_interval([0.2, 0.5, 0.75, 1.0])
    assert row.mean_ci_low == pytest.approx(low, abs=0.03)
    assert row.mean_ci_high == pytest.approx(high, abs=0.03)
    assert row.iqm_ci_low <= row.iqm <= row.iqm_ci_high


def test_summary_has_one_row_per_cell_with_the_generated_rates(summary):
    assert len(summary) == len(MAPS) * len(CONFIGS) * len(CELLS)
    for row in summary.itertuples():
        rates = [known_wins(row.map, row.method, row.train_eps, row.attack, row.test_eps, s) / EPISODES for s in SEEDS]
        assert row.seeds == len(SEEDS) and row.episodes == EPISODES * len(SEEDS)
        assert row.mean == pytest.approx(np.mean(rates))
        assert row.iqm == pytest.approx(scipy.stats.trim_mean(rates, 0.25))
        tiny = 1e-9  # bootstrap percentiles interpolate, so bounds may miss the extremes in the last bit
        assert min(rates) - tiny <= row.mean_ci_low <= row.mean <= row.mean_ci_high <= max(rates) + tiny


def test_a_single_seed_cell_has_a_degenerate_interval_and_no_spread(tmp_path):
    write_run(tmp_path, wins={("none", 0.0): 7})
    row = summarise(collect_runs([tmp_path]).runs, REPS).iloc[0]
    assert row.seeds == 1
    assert row["mean"] == row.mean_ci_low == row.mean_ci_high == pytest.approx(0.35)
    assert math.isnan(row["std"])


def test_the_summary_is_reproducible(sweep, summary):
    again = summarise(collect_runs([sweep]).runs, REPS)
    pd.testing.assert_frame_equal(summary, again)


# ---- tables


def test_the_bold_cell_of_every_column_is_the_true_maximum(summary):
    for table in paper_tables(summary, REPS):
        attack = table.name.removeprefix("win_rate_")
        for column, (map_name, eps) in enumerate(table.columns):
            expected = {}
            for method, train_eps in CONFIGS:
                rates = [known_wins(map_name, method, train_eps, attack, eps or 0.0, s) for s in SEEDS]
                expected[(method, train_eps)] = np.mean(rates) / EPISODES
            best = max(expected.values())
            bold = {label for label, row in zip(table.rows, table.cells) if row[column].bold}
            winners = {label for label, (config, rate) in zip(table.rows, expected.items()) if math.isclose(rate, best)}
            assert winners != set(table.rows) and bold == winners, (table.name, map_name, eps)


def _table_of(tmp_path: Path, wins: dict, attack: str):
    """The paper table of `attack` from one seed per (method, train eps): wins maps config -> {(attack, eps): wins}."""
    for (method, train_eps), cells in wins.items():
        write_run(tmp_path, method=method, train_eps=train_eps, wins=cells)
    summary = summarise(collect_runs([tmp_path]).runs, REPS)
    return next(t for t in paper_tables(summary, REPS) if t.name == f"win_rate_{attack}")


def test_only_a_best_that_beats_another_row_is_bold(tmp_path):
    wins = {  # fgsm at 0.1: all tied at zero; at 0.2: two tied for the best, one below
        ("vanilla", 0.0): {("fgsm", 0.1): 0, ("fgsm", 0.2): 3},
        ("adv_train", 0.1): {("fgsm", 0.1): 0, ("fgsm", 0.2): 7},
        ("policy_reg", 0.1): {("fgsm", 0.1): 0, ("fgsm", 0.2): 7},
    }
    table = _table_of(tmp_path, wins, "fgsm")
    assert table.columns == (("3m", 0.1), ("3m", 0.2))
    assert [[cell.bold for cell in row] for row in table.cells] == [[False, False], [False, True], [False, True]]
    markdown = to_markdown(table)
    assert "**0**" not in markdown and markdown.count("**35**") == 2


def test_a_single_row_has_no_bold_cell(tmp_path):
    table = _table_of(tmp_path, {("vanilla", 0.0): {("fgsm", 0.1): 12}}, "fgsm")
    assert not any(cell.bold for row in table.cells for cell in row) and "**" not in to_markdown(table)


def test_the_table_without_attack_has_one_column_per_map(tmp_path):
    wins = {config: {("none", eps): count for eps in (0.0, 0.05, 0.1)} for config, count in ((("vanilla", 0.0), 14), (("adv_train", 0.1), 9))}
    for map_name in ("3m", "2s3z"):
        for (method, train_eps), cells in wins.items():
            write_run(tmp_path, map_name=map_name, method=method, train_eps=train_eps, wins=cells)
    summary = summarise(collect_runs([tmp_path]).runs, REPS)
    assert len(summary) == 12  # the summary keeps every eps; only the table folds them
    table = next(t for t in paper_tables(summary, REPS) if t.name == "win_rate_none")
    assert table.columns == (("3m", None), ("2s3z", None))
    assert [[cell.mean for cell in row] for row in table.cells] == [[0.7, 0.7], [0.45, 0.45]]
    markdown = to_markdown(table)
    assert "| Method | 3m | 2s3z |" in markdown and "ε=0" not in markdown.split("\n")[2]
    assert "columns are maps (the same at every test ε)" in table.caption
    assert "& any & any" in to_latex(table)


def test_tables_render_in_three_formats(summary):
    table = next(t for t in paper_tables(summary, REPS) if t.name == "win_rate_fgsm")
    assert table.rows == ("Vanilla", "Adv. train (ε=0.1)", "Adv. train (ε=0.25)", "Policy reg. (ε=0.1)")
    assert [m for m, _ in table.map_groups()] == ["3m", "2s3z"]  # the README's map order, not alphabetical
    latex = to_latex(table)
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\cmidrule(lr){2-4}", r"\multicolumn{3}{c}{2s3z}", r"\textbf{"):
        assert token in latex
    assert "Adv. train ($\\epsilon$=0.1)" in latex and "$\\pm$" in latex and "_" not in latex.replace("\\_", "")
    markdown = to_markdown(table)
    assert markdown.count("\n| ") == 2 + len(table.rows)  # header, separator, body
    assert "**" in markdown


# ---- run validation


def test_malformed_and_partial_runs_are_named_and_left_out(tmp_path):
    good = write_run(tmp_path, seed=0)
    bad = {
        "no_manifest": write_run(tmp_path / "a", seed=1),
        "text_rate": write_run(tmp_path / "b", seed=2),
        "rate_above_one": write_run(tmp_path / "c", seed=3),
        "not_evaluated": write_run(tmp_path / "d", seed=4),
        "unfinished": write_run(tmp_path / "e", seed=5, finished=False),
        "no_method": write_run(tmp_path / "f", seed=6),
        "duplicate": write_run(tmp_path / "g", seed=0),
    }
    (bad["no_manifest"] / "manifest.json").unlink()
    (bad["text_rate"] / "eval.csv").write_text("attack,test_eps,episodes,win_rate,mean_return,dead_allies,dead_enemies\nnone,0,20,high,1,1,1\n")
    (bad["rate_above_one"] / "eval.csv").write_text("attack,test_eps,episodes,win_rate,mean_return,dead_allies,dead_enemies\nnone,0,20,1.5,1,1,1\n")
    (bad["not_evaluated"] / "eval.csv").unlink()
    config = bad["no_method"] / "config.yaml"
    config.write_text(config.read_text().replace("name: vanilla", "label: vanilla"))
    warnings: list[str] = []
    result = build_report([tmp_path], tmp_path / "out", reps=REPS, warn=warnings.append)
    assert (result.runs, result.skipped) == (1, len(bad))
    text = "\n".join(warnings)
    for run in bad.values():
        assert str(run) in text
    for reason in ("missing manifest.json", "non-numeric", "win_rate outside [0, 1]", "not evaluated", "has not finished", "no method.name", str(good)):
        assert reason in text
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary[["seeds", "episodes"]].values.tolist() == [[1, EPISODES]]
    assert "left out" in (tmp_path / "out" / "report.html").read_text()


def test_empty_input_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no run directories"):
        build_report([tmp_path / "empty"], tmp_path / "out")
    with pytest.raises(UserError, match="no such file or directory"):
        build_report([tmp_path / "missing"], tmp_path / "out")
    broken = write_run(tmp_path / "broken")
    (broken / "manifest.json").write_text("{")
    with pytest.raises(UserError, match="none of the 1 run directories"):
        build_report([tmp_path / "broken"], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(report, ["--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Missing argument 'RUNS...'" in result.output


# ---- comparison mode


def test_comparison_flags_only_real_changes(sweep, summary, tmp_path):
    baseline = summary.copy()
    cell = (baseline["map"] == "3m") & (baseline["method"] == "vanilla") & (baseline["attack"] == "fgsm") & (baseline["test_eps"] == 0.2)
    up = (baseline["map"] == "3m") & (baseline["method"] == "adv_train") & (baseline["attack"] == "none")
    baseline.loc[cell, "wins"] = baseline.loc[cell, "episodes"]  # the baseline won every episode: now a drop
    baseline.loc[up, "wins"] = 0  # the baseline lost every episode: now a rise
    nudged = (baseline["map"] == "2s3z") & (baseline["method"] == "vanilla") & (baseline["attack"] == "none")
    baseline.loc[nudged, "wins"] += 1  # one episode more: noise, not a change
    path = tmp_path / "baseline.csv"
    baseline.to_csv(path, index=False)
    merged, gone = compare(summary, read_baseline(path))
    assert gone.empty
    assert set(merged.loc[cell.to_numpy(), "change"]) == {"drop"}
    assert set(merged.loc[up.to_numpy(), "change"]) == {"rise"}
    assert set(merged.loc[~(cell | up).to_numpy(), "change"]) == {"not significant"}
    row = merged.loc[cell.to_numpy()].iloc[0]
    raw = scipy.stats.fisher_exact([[row.wins, row.episodes - row.wins], [row.episodes, 0]]).pvalue
    assert row.p_value == pytest.approx(raw) and row.p_holm >= row.p_value
    assert row["diff"] == pytest.approx(row.wins / row.episodes - 1.0)


def test_comparison_against_itself_changes_nothing_and_lists_lost_cells(summary, tmp_path):
    extra = summary.iloc[[0]].assign(map="8m")
    path = tmp_path / "baseline.csv"
    pd.concat([summary, extra]).to_csv(path, index=False)
    merged, gone = compare(summary, read_baseline(path))
    assert set(merged["change"]) == {"not significant"} and (merged["diff"] == 0).all()
    assert gone["map"].tolist() == ["8m"]


def test_a_baseline_that_is_not_a_summary_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="missing column"):
        read_baseline(path)
    with pytest.raises(UserError, match="no such file"):
        read_baseline(tmp_path / "absent.csv")


# ---- the report folder


def test_the_command_writes_every_output(sweep, tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(report, [str(sweep), "--out", str(out), "--reps", str(REPS)])
    assert result.exit_code == 0, result.output
    tables = sorted(p.name for p in (out / "tables").iterdir())
    assert tables == [f"win_rate_{a}.{s}" for a in ("fgsm", "none") for s in ("html", "md", "tex")]
    figures = {p.stem for p in (out / "figures").iterdir()}
    assert figures == {"win_rate_vs_eps_fgsm", "training_curves", "heatmap_fgsm", "profiles", "training_cost"}
    assert all((out / "figures" / f"{name}.{s}").stat().st_size > 1000 for name in figures for s in ("png", "pdf"))
    page = (out / "report.html").read_text()
    assert page.count('<img src="data:image/png;base64,') == len(figures)
    assert "<script" not in page and "http://" not in page and "https://" not in page and "<link" not in page
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "report" in result.output


def test_a_second_report_in_the_same_folder_drops_stale_files(sweep, tmp_path):
    out = tmp_path / "report"
    first = build_report([sweep / "sim"], out, reps=REPS)
    (out / "figures" / "my_plot.png").write_bytes(b"mine")  # not the report's: never removed
    (out / "notes.txt").write_text("mine")
    second = build_report([write_run(tmp_path / "clean")], out, reps=REPS)  # no fgsm cells any more
    stale = set(first.files) - set(second.files)
    assert out / "tables" / "win_rate_fgsm.md" in stale and not any(p.exists() for p in stale)
    assert (out / "notes.txt").read_text() == "mine" and (out / "figures" / "my_plot.png").read_bytes() == b"mine"


def test_profiles_use_the_cells_every_seed_has_when_an_attack_reached_only_some_seeds():
    # a study evaluated part-way: one learned attack on seed 0 only, a transfer on seed 1 only
    rows = [("fgsm", 0, 0.5), ("fgsm", 1, 0.25), ("atla", 0, 0.75), ("transfer[source=x]", 1, 0.0)]
    scores = pd.DataFrame(
        [{"map": "3m", "attack": a, "test_eps": 0.1, "method": "vanilla", "train_eps": 0.0, "seed": seed, "win_rate": w} for a, seed, w in rows]
        + [{"map": "3m", "attack": a, "test_eps": 0.1, "method": "adv_train", "train_eps": 0.1, "seed": 0, "win_rate": 1.0} for a, _, _ in rows]
    )
    matrices, tasks, attacked = _score_matrices(scores)
    assert tasks == 1 and attacked
    assert matrices[("vanilla", 0.0)].tolist() == [[0.5], [0.25]] and matrices[("adv_train", 0.1)].tolist() == [[1.0]]
