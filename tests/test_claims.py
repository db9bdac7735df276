"""The report's criteria and claims (benchmark/report/claims.py) on summary frames made to sit on each side of
every rule, and `robust-qmix report` writing them out."""

from __future__ import annotations

import html

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from benchmark.report.aggregate import SUMMARY_COLUMNS
from benchmark.errors import UserError
from benchmark.report.build import build_report
from benchmark.report.claims import (
    CLEAN_TOLERANCE,
    DOES_NOT_HOLD,
    EPISODE_INTERVALS,
    FAIL,
    HOLDS,
    INCONCLUSIVE,
    MEASURED,
    MISSING,
    NOT_APPLICABLE,
    NOT_RUN,
    PASS,
    ROBUST_MARGIN,
    SEED_INTERVALS,
    VANILLA_BROKEN,
    claims,
    criteria,
)
from runs_factory import REPS, write_run, write_sweep

ROBUST = ("adv_train", "policy_reg", "atla", "paad")
VERDICTS = {HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, NOT_RUN, MEASURED}


def cell(
    method: str,
    mean: float,
    *,
    attack: str = "none",
    test_eps: float = 0.0,
    train_eps: float | None = None,
    map_name: str = "3m",
    half: float = 0.05,
    seeds: int = 3,
    episodes: int = 300,
    wins: int | None = None,
    std: float = 0.05,
) -> dict:
    """One summary.csv row: robust methods train at 0.1 unless told, the interval is mean ± half, and the
    pooled wins match the mean unless given."""
    if train_eps is None:
        train_eps = 0.0 if method == "vanilla" else 0.1
    low, high = (mean, mean) if seeds == 1 else (mean - half, mean + half)
    row = {
        "backend": "sim",
        "map": map_name,
        "method": method,
        "train_eps": train_eps,
        "attack": attack,
        "test_eps": test_eps,
        "seeds": seeds,
        "episodes": episodes,
        "wins": round(mean * episodes) if wins is None else wins,
        "mean": mean,
        "mean_ci_low": low,
        "mean_ci_high": high,
        "iqm": mean,
        "iqm_ci_low": low,
        "iqm_ci_high": high,
        "std": std if seeds > 1 else float("nan"),
        "return_mean": 10 * mean,
    }
    return row


def summary(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(SUMMARY_COLUMNS))


def fgsm(method: str, mean: float, **options) -> dict:
    """A cell under FGSM at test ε 0.1, where the robust methods trained."""
    return cell(method, mean, attack="fgsm", test_eps=0.1, **options)


def check(frame: pd.DataFrame, method: str, name: str, map_name: str = "3m") -> pd.Series:
    rows = criteria(frame)
    found = rows[(rows["method"] == method) & (rows["check"] == name) & (rows["map"] == map_name)]
    assert len(found) == 1, rows
    return found.iloc[0]


def verdicts(frame: pd.DataFrame, cost: pd.DataFrame | None = None) -> dict[str, str]:
    return {c.key: c.verdict for c in claims(frame, cost if cost is not None else no_cost())}


def evidence(frame: pd.DataFrame) -> dict[str, str]:
    return {c.key: c.evidence for c in claims(frame, no_cost())}


def no_cost() -> pd.DataFrame:
    return pd.DataFrame(columns=["backend", "map", "method", "train_eps", "seed", "device", "seconds_per_million_steps"])


def cost(seconds: dict[tuple[str, str], float]) -> pd.DataFrame:
    """A training_cost frame: (map, method) -> seconds per million steps, one run each."""
    rows = [
        {"backend": "sim", "map": m, "method": method, "train_eps": 0.1, "seed": 0, "device": "cpu", "seconds_per_million_steps": s}
        for (m, method), s in seconds.items()
    ]
    return pd.DataFrame(rows)


# ---- attack criteria


def test_a_method_well_above_vanilla_with_apart_intervals_passes():
    row = check(summary(fgsm("vanilla", 0.2), fgsm("adv_train", 0.5)), "adv_train", "fgsm")
    assert row.status == PASS and row.interval == SEED_INTERVALS and row.test_eps == 0.1
    assert (row["mean"], row.vanilla_mean, row.margin) == (0.5, 0.2, ROBUST_MARGIN)
    assert (row.low, row.high, row.vanilla_low, row.vanilla_high) == pytest.approx((0.45, 0.55, 0.15, 0.25))


def test_the_same_gain_with_overlapping_intervals_fails():
    row = check(summary(fgsm("vanilla", 0.2, half=0.15), fgsm("adv_train", 0.5, half=0.2)), "adv_train", "fgsm")
    assert row.status == FAIL and "overlap" in row.reason
    touching = summary(fgsm("vanilla", 0.25, half=0.125), fgsm("adv_train", 0.625, half=0.25))  # 0.375 both: exact in binary
    row = check(touching, "adv_train", "fgsm")
    assert row.low == row.vanilla_high and row.status == FAIL


def test_the_margin_is_inclusive_and_required():
    tight = {"half": 0.01}
    at = check(summary(fgsm("vanilla", 0.2, **tight), fgsm("adv_train", 0.4, **tight)), "adv_train", "fgsm")
    below = check(summary(fgsm("vanilla", 0.2, **tight), fgsm("adv_train", 0.39, **tight)), "adv_train", "fgsm")
    assert (at.status, below.status) == (PASS, FAIL)  # intervals apart in both: only the 20 points decide
    worse = check(summary(fgsm("vanilla", 0.4, **tight), fgsm("adv_train", 0.1, **tight)), "adv_train", "fgsm")
    assert worse.status == FAIL and "interval below" in worse.reason


def test_a_cell_vanilla_still_wins_is_not_applicable():
    for vanilla in (VANILLA_BROKEN, 0.8):
        row = check(summary(fgsm("vanilla", vanilla), fgsm("adv_train", 1.0, half=0.0)), "adv_train", "fgsm")
        assert row.status == NOT_APPLICABLE and "not broken" in row.reason
    row = check(summary(fgsm("vanilla", 0.49, half=0.01), fgsm("adv_train", 0.9, half=0.01)), "adv_train", "fgsm")
    assert row.status == PASS


def test_the_check_is_at_test_eps_equal_to_train_eps_and_each_pgd_variant_is_its_own():
    frame = summary(
        fgsm("vanilla", 0.2),
        fgsm("adv_train", 0.9, train_eps=0.25),  # at test ε 0.1: not the radius adv_train trained at
        cell("vanilla", 0.1, attack="pgd", test_eps=0.25),
        cell("adv_train", 0.6, attack="pgd", test_eps=0.25, train_eps=0.25),
        cell("vanilla", 0.1, attack="pgd[steps=30]", test_eps=0.25),
        cell("adv_train", 0.2, attack="pgd[steps=30]", test_eps=0.25, train_eps=0.25),
        cell("vanilla", 0.9, attack="random", test_eps=0.25),  # not a gradient attack: no check
    )
    rows = criteria(frame).set_index("check")
    assert list(rows.index) == ["clean", "fgsm", "pgd", "pgd[steps=30]"]
    assert rows.loc["fgsm", "status"] == MISSING and "method has no cell at test ε 0.25" in rows.loc["fgsm", "reason"]
    assert (rows.loc["pgd", "status"], rows.loc["pgd[steps=30]", "status"]) == (PASS, FAIL)
    assert rows.loc["clean", "status"] == MISSING  # neither side has a clean cell


def test_one_seed_on_either_side_uses_wilson_intervals_on_pooled_episodes():
    # With the bootstrap's point intervals (low = high = mean) both of these would pass.
    few = summary(fgsm("vanilla", 0.2, seeds=1, episodes=10), fgsm("adv_train", 0.5, seeds=1, episodes=10))
    row = check(few, "adv_train", "fgsm")
    assert row.interval == EPISODE_INTERVALS and row.status == FAIL and "overlap" in row.reason
    assert (row.low, row.high) == pytest.approx(proportion_confint(5, 10, 0.05, method="wilson"))
    assert (row.vanilla_low, row.vanilla_high) == pytest.approx(proportion_confint(2, 10, 0.05, method="wilson"))
    many = summary(fgsm("vanilla", 0.2, seeds=1, episodes=200), fgsm("adv_train", 0.5, seeds=3, episodes=300, half=0.3))
    row = check(many, "adv_train", "fgsm")  # the 3-seed side's wide bootstrap interval is replaced too
    assert row.interval == EPISODE_INTERVALS and row.status == PASS
    assert (row.low, row.high) == pytest.approx(proportion_confint(150, 300, 0.05, method="wilson"))


# ---- clean criterion


def test_the_clean_check_allows_fifteen_points_and_no_more():
    vanilla = cell("vanilla", 0.8, episodes=100)
    at = check(summary(vanilla, cell("adv_train", 0.8 - CLEAN_TOLERANCE, episodes=100)), "adv_train", "clean")
    below = check(summary(vanilla, cell("adv_train", 0.64, episodes=100)), "adv_train", "clean")
    assert (at.status, below.status, at.margin) == (PASS, FAIL, -CLEAN_TOLERANCE)
    better = check(summary(vanilla, cell("adv_train", 0.95)), "adv_train", "clean")
    assert better.status == PASS


def test_the_clean_check_falls_back_to_any_clean_row_and_says_when_vanilla_lacks_one():
    frame = summary(cell("vanilla", 0.8, test_eps=0.1), cell("vanilla", 0.2, test_eps=0.2), cell("adv_train", 0.7, test_eps=0.1))
    row = check(frame, "adv_train", "clean")
    assert row.status == PASS and row.vanilla_mean == 0.8  # the smallest ε stands for all
    row = check(summary(cell("adv_train", 0.7), fgsm("vanilla", 0.2)), "adv_train", "clean")
    assert row.status == MISSING and "vanilla" in row.reason


# ---- (a) robust methods beat vanilla


def attacked_grid(means: dict[str, float], maps=("3m",)) -> pd.DataFrame:
    """Vanilla at 20% under FGSM, each given method at its mean, tight intervals, on each map."""
    rows = [fgsm("vanilla", 0.2, half=0.02, map_name=m) for m in maps]
    rows += [fgsm(method, mean, half=0.02, map_name=m) for m in maps for method, mean in means.items()]
    return summary(*rows)


def test_claim_a_holds_when_every_robust_method_beats_vanilla():
    assert verdicts(attacked_grid(dict.fromkeys(ROBUST, 0.6), maps=("3m", "2s3z")))["a"] == HOLDS


def test_claim_a_does_not_hold_when_a_method_loses_everywhere():
    frame = attacked_grid({**dict.fromkeys(ROBUST, 0.6), "policy_reg": 0.25}, maps=("3m", "2s3z"))
    assert verdicts(frame)["a"] == DOES_NOT_HOLD


def test_claim_a_is_inconclusive_with_a_method_absent_or_a_split_result():
    assert verdicts(attacked_grid(dict.fromkeys(ROBUST[:3], 0.6)))["a"] == INCONCLUSIVE
    split = pd.concat([attacked_grid(dict.fromkeys(ROBUST, 0.6)), attacked_grid({**dict.fromkeys(ROBUST, 0.6), "atla": 0.25}, maps=("2s3z",))])
    assert verdicts(split)["a"] == INCONCLUSIVE
    assert "ATLA on 2s3z loses to vanilla" in evidence(split)["a"]
    unbroken = summary(fgsm("vanilla", 0.9), *(fgsm(m, 0.95) for m in ROBUST))
    assert verdicts(unbroken)["a"] == INCONCLUSIVE  # no check applies


def test_claim_a_is_not_run_without_robust_methods():
    assert verdicts(summary(fgsm("vanilla", 0.2)))["a"] == NOT_RUN


# ---- (b) PA-AD best overall


def ranked(means: dict[str, float], half: float = 0.02) -> pd.DataFrame:
    """Each method under FGSM and PGD at two radii, at the given mean in every cell."""
    return summary(
        *(
            cell(method, mean, attack=attack, test_eps=eps, half=half)
            for method, mean in means.items()
            for attack in ("fgsm", "pgd")
            for eps in (0.1, 0.2)
        ),
        *(cell(method, 0.9) for method in means),  # clean cells take no part
    )


def test_claim_b_holds_when_paad_leads_every_method():
    assert verdicts(ranked({"vanilla": 0.2, "adv_train": 0.5, "atla": 0.6, "paad": 0.7}))["b"] == HOLDS


def test_claim_b_does_not_hold_when_another_method_leads_paad():
    assert verdicts(ranked({"vanilla": 0.2, "adv_train": 0.5, "atla": 0.8, "paad": 0.7}))["b"] == DOES_NOT_HOLD


def test_claim_b_is_inconclusive_when_the_intervals_overlap():
    assert verdicts(ranked({"vanilla": 0.2, "atla": 0.65, "paad": 0.7}, half=0.1))["b"] == INCONCLUSIVE
    assert verdicts(ranked({"vanilla": 0.2, "atla": 0.75, "paad": 0.7}, half=0.1))["b"] == INCONCLUSIVE


def test_claim_b_is_not_run_without_paad():
    assert verdicts(ranked({"vanilla": 0.2, "atla": 0.6}))["b"] == NOT_RUN


# ---- (c) adv_train clean


def test_claim_c_holds_when_adv_train_keeps_its_clean_win_rate_on_every_map():
    frame = summary(*(cell(m, r, map_name=name) for name in ("3m", "2s3z") for m, r in (("vanilla", 0.9), ("adv_train", 0.8))))
    assert verdicts(frame)["c"] == HOLDS


def test_claim_c_does_not_hold_on_a_clear_clean_loss():
    assert verdicts(summary(cell("vanilla", 0.9), cell("adv_train", 0.5)))["c"] == DOES_NOT_HOLD


def test_claim_c_is_inconclusive_when_the_loss_is_within_the_intervals():
    frame = summary(cell("vanilla", 0.9, half=0.1), cell("adv_train", 0.7, half=0.15))
    assert check(frame, "adv_train", "clean").status == FAIL and verdicts(frame)["c"] == INCONCLUSIVE


def test_claim_c_is_not_run_without_adv_train():
    assert verdicts(summary(cell("vanilla", 0.9), cell("atla", 0.8)))["c"] == NOT_RUN


# ---- (d) policy_reg unstable and weak


def learned(policy_reg: float, other: float, policy_std: float, other_std: float, seeds: int = 3) -> pd.DataFrame:
    """Policy reg. and Adv. train under the PA-AD and ATLA adversaries, with the given means and seed spread."""
    return summary(
        *(
            cell(method, mean, attack=attack, test_eps=0.1, std=std, seeds=seeds)
            for method, mean, std in (("policy_reg", policy_reg, policy_std), ("adv_train", other, other_std))
            for attack in ("paad", "atla[model=best]")
        )
    )


def test_claim_d_holds_when_policy_reg_is_both_unstable_and_weak():
    assert verdicts(learned(0.2, 0.5, policy_std=0.2, other_std=0.05))["d"] == HOLDS


def test_claim_d_does_not_hold_when_policy_reg_is_neither():
    assert verdicts(learned(0.6, 0.5, policy_std=0.02, other_std=0.05))["d"] == DOES_NOT_HOLD


def test_claim_d_is_inconclusive_with_exactly_one_or_missing_seeds():
    assert verdicts(learned(0.6, 0.5, policy_std=0.2, other_std=0.05))["d"] == INCONCLUSIVE  # unstable, not weak
    assert verdicts(learned(0.2, 0.5, policy_std=0.02, other_std=0.05))["d"] == INCONCLUSIVE  # weak, not unstable
    claim = next(c for c in claims(learned(0.2, 0.5, 0.2, 0.05, seeds=1), no_cost()) if c.key == "d")
    assert claim.verdict == INCONCLUSIVE and ">= 2-seed" in claim.evidence


def test_claim_d_is_not_run_without_the_data_it_needs():
    assert verdicts(summary(fgsm("policy_reg", 0.3)))["d"] == NOT_RUN  # no other robust method
    one_seed = summary(fgsm("policy_reg", 0.3, seeds=1), fgsm("adv_train", 0.4, seeds=1))
    assert verdicts(one_seed)["d"] == NOT_RUN  # no spread and no learned attacks


# ---- (e) and (h) cost


def test_claim_e_follows_atla_s_place_in_the_cost_per_map():
    frame = summary(cell("vanilla", 0.9))
    maps = ("3m", "2s3z")
    costliest = cost({(m, method): s for m in maps for method, s in (("vanilla", 10), ("adv_train", 20), ("atla", 50))})
    cheapest = cost({(m, method): s for m in maps for method, s in (("vanilla", 10), ("adv_train", 20), ("atla", 5))})
    mixed = cost({("3m", "atla"): 50, ("3m", "paad"): 20, ("2s3z", "atla"): 5, ("2s3z", "paad"): 20})
    assert verdicts(frame, costliest)["e"] == HOLDS
    assert verdicts(frame, cheapest)["e"] == DOES_NOT_HOLD
    assert verdicts(frame, mixed)["e"] == INCONCLUSIVE
    assert verdicts(frame, cost({("3m", "atla"): 50}))["e"] == INCONCLUSIVE  # nothing to compare with
    assert verdicts(frame, cost({("3m", "paad"): 50}))["e"] == NOT_RUN


def test_claim_h_measures_cost_per_map_by_map_size():
    claim = next(c for c in claims(summary(cell("vanilla", 0.9)), cost({("2s3z", "atla"): 50, ("3m", "atla"): 40})) if c.key == "h")
    assert claim.verdict == MEASURED
    assert claim.table[["map", "units", "ATLA (s/M steps)"]].values.tolist() == [["3m", "3 v 3", "40"], ["2s3z", "5 v 5", "50"]]
    assert verdicts(summary(cell("vanilla", 0.9)))["h"] == NOT_RUN


# ---- (f) and (g) open questions


def test_claim_f_measures_transfer_attacks_only_when_run():
    assert verdicts(summary(fgsm("vanilla", 0.2)))["f"] == NOT_RUN
    crafted = cell("adv_train", 0.4, attack="transfer[source=vanilla]", test_eps=0.1)
    claim = next(c for c in claims(summary(crafted, cell("adv_train", 0.3, attack="pgd", test_eps=0.1)), no_cost()) if c.key == "f")
    assert claim.verdict == MEASURED
    assert claim.table[["transfer (%)", "white-box PGD (%)", "random (%)"]].values.tolist() == [["40", "30", "–"]]


def test_claim_f_sets_each_transfer_cell_beside_white_box_pgd_of_its_own_map_and_radius():
    rows = [
        cell("vanilla", mean, attack=attack, test_eps=eps, map_name=m)
        for m, eps, attack, mean in [
            ("2s3z", 0.1, "transfer[source=x]", 0.9), ("3m", 0.05, "transfer[source=x]", 0.6), ("3m", 0.1, "transfer[source=x]", 0.1),
            ("3m", 0.05, "pgd", 0.2), ("3m", 0.1, "pgd", 0.0), ("2s3z", 0.1, "pgd", 0.05), ("3m", 0.1, "random", 0.95),
        ]
    ]  # fmt: skip
    table = next(c for c in claims(summary(*rows), no_cost()) if c.key == "f").table
    got = table[["map", "ε", "transfer (%)", "white-box PGD (%)", "random (%)"]].values.tolist()
    assert got == [["3m", "0.05", "60", "20", "–"], ["3m", "0.1", "10", "0", "95"], ["2s3z", "0.1", "90", "5", "–"]]


def test_claim_g_needs_paad_at_three_radii_from_005_to_05():
    def paad_at(*radii: float) -> pd.DataFrame:
        return summary(*(fgsm("paad", 0.3 + e, train_eps=e) for e in radii))

    assert verdicts(paad_at(0.05, 0.5))["g"] == NOT_RUN
    assert verdicts(paad_at(0.1, 0.2, 0.5))["g"] == NOT_RUN
    claim = next(c for c in claims(paad_at(0.05, 0.2, 0.5), no_cost()) if c.key == "g")
    assert claim.verdict == MEASURED and claim.table["mean win rate (%)"].tolist() == ["35", "50", "80"]


def test_every_claim_has_a_verdict_and_its_rule_on_thin_data():
    for frame in (summary(cell("vanilla", 0.9, seeds=1)), summary(*(cell(m, 0.5, seeds=1) for m in ("vanilla", *ROBUST)))):
        found = claims(frame, no_cost())
        assert [c.key for c in found] == list("abcdefgh")
        assert all(c.verdict in VERDICTS and c.rule and c.evidence for c in found)


# ---- the report folder


def test_the_report_writes_criteria_and_claims(tmp_path):
    out = tmp_path / "report"
    result = build_report([write_sweep(tmp_path / "runs")], out, reps=REPS)
    assert {out / "criteria.csv", out / "claims.md"} <= set(result.files)
    assert {"criteria.csv", "claims.md"} <= set((out / ".report-files").read_text().split())
    table = pd.read_csv(out / "criteria.csv")
    assert set(table["check"]) == {"clean", "fgsm"} and set(table["method"]) == {"adv_train", "policy_reg"}
    markdown = (out / "claims.md").read_text()
    assert "# The study's claims" in markdown and "# Criteria" in markdown and markdown.count("**Verdict: ") == 8
    page = html.unescape((out / "report.html").read_text())
    assert "<h2>Criteria</h2>" in page and "<h2>The study's claims</h2>" in page


def test_a_report_of_one_clean_vanilla_run_still_has_its_claims(tmp_path):
    out = tmp_path / "report"
    build_report([write_run(tmp_path / "runs")], out, reps=REPS)
    assert pd.read_csv(out / "criteria.csv").empty
    markdown = (out / "claims.md").read_text()
    assert markdown.count("**Verdict: not run.**") == 7 and "**Verdict: measured.**" in markdown  # (h): its cost


def test_cost_runs_alone_decide_the_cost_claims_and_their_win_rates_stay_out(tmp_path):
    out = tmp_path / "report"
    cost_root = tmp_path / "cost"
    for method in ("vanilla", "atla"):  # write_run records a robust method's wall time as twice vanilla's
        write_run(cost_root, map_name="8m", method=method, train_eps=0.0 if method == "vanilla" else 0.1)
    build_report([write_sweep(tmp_path / "runs")], out, reps=REPS, cost_runs=cost_root)
    markdown = (out / "claims.md").read_text()
    assert "## (e) ATLA costs the most\n\n**Verdict: holds.**" in markdown  # the study's runs have no ATLA run
    summary = pd.read_csv(out / "summary.csv")
    assert "8m" not in set(summary["map"]) and "atla" not in set(summary["method"])
    cost_section = markdown.split("## (h)")[1].split("# Criteria")[0]
    assert "| 8m |" in cost_section and "| 3m |" not in cost_section
    assert "2 run(s) of" in html.unescape((out / "report.html").read_text())


def test_a_cost_root_that_does_not_exist_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(UserError, match="no such file or directory"):
        build_report([write_sweep(tmp_path / "runs")], tmp_path / "report", reps=REPS, cost_runs=tmp_path / "missing")
    assert not (tmp_path / "report").exists()


def test_a_gain_just_short_of_the_margin_is_not_printed_as_the_margin():
    # 128 battles: 26 wins against 1 is +19.5 points, short of the 20 needed
    frame = summary(*(fgsm(m, wins / 128, seeds=1, episodes=128) for m, wins in (("vanilla", 1), ("paad", 26))))
    reasons = criteria(frame)["reason"].tolist()
    assert any(r.startswith("+19.5 points over vanilla (< 20)") for r in reasons), reasons
