"""The black-box transfer attack: another run's model crafts the perturbation, inside the same ball as PGD's,
the victim is never differentiated, the source's hidden state keeps in lock-step with the victim team's, and
a source that cannot be a transfer is refused before any episode is played."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from benchmark.attacks import ATTACKS, AttackContext, attack_label, attack_settings
from benchmark.attacks import gradient
from benchmark.envs import make_env
from benchmark.errors import UserError
from benchmark.evaluate import evaluate, evaluate_cell, load_policy
from benchmark.runner import EpisodeRunner
from benchmark.streams import RunGenerators
from benchmark.sweep import missing_evaluations, plan, preset_from_dict
from cli_helpers import run_cli, tiny_preset

REFERENCE = Path(__file__).resolve().parent.parent / "checkpoints/sim/3m"
CPU = torch.device("cpu")
VICTIM = "vanilla/eps0/seed0"
OTHER = "adv_train/eps0.1/seed0"  # another method's model on the same map
FROM_VICTIM_TO_OTHER = "../../../" + OTHER


@pytest.fixture
def root(tmp_path) -> Path:
    """The shipped 3m runs, unevaluated, plus `vanilla/eps0/copy`: an exact copy of the victim elsewhere."""
    root = tmp_path / "3m"
    shutil.copytree(REFERENCE, root)
    for done in root.rglob("eval.csv"):
        done.unlink()
    shutil.copytree(root / VICTIM, root / "vanilla/eps0/copy")
    return root


def make_transfer(run_dir: Path, spec: str, eps: float, seed: int = 0, **options):
    cfg, mac = load_policy(run_dir, CPU)
    ctx = AttackContext(mac, eps, RunGenerators.single(seed, "cpu"), cfg, run_dir, attack_settings(spec, options))
    return cfg, mac, ATTACKS.get("transfer").make(ctx)


def test_the_label_names_the_source_and_reads_back_as_the_same_settings():
    spec = "transfer[source=../../../vanilla/eps0/seed0,base=fgsm]"
    settings = attack_settings(spec, {"victims": 1})
    label = attack_label("transfer", settings)
    assert label == "transfer[source=../../../vanilla/eps0/seed0,base=fgsm,victims=1]"
    assert attack_settings(label, {}) == settings
    assert attack_label("transfer", attack_settings("transfer", {"source": "/abs/run", "steps": 3})) == "transfer[source=/abs/run,steps=3]"
    with pytest.raises(UserError, match="transfer base must be pgd or fgsm"):
        attack_settings("transfer[base=cw]", {})


@pytest.mark.parametrize("victims, clip, base", [(0, False, "pgd"), (1, True, "pgd"), (2, False, "fgsm"), (0, True, "fgsm")])
def test_perturbations_stay_inside_the_ball(root, victims, clip, base):
    eps = 0.1
    _, mac, perturb = make_transfer(root / VICTIM, "transfer", eps, source=FROM_VICTIM_TO_OTHER, victims=victims, clip=clip, base=base, steps=3)
    gen = torch.Generator().manual_seed(victims)
    prev = torch.full((8, 3), -1)
    hidden = mac.initial_hidden(8)
    for _ in range(4):  # a few steps, so that the source's own state moves
        obs = (torch.rand(8, 3, mac.info.obs_shape, generator=gen) * 2 - 1) * 1.3  # some features out of [-1, 1]
        avail = torch.rand(8, 3, mac.info.n_actions, generator=gen) < 0.6
        avail[..., 1] = True
        out = perturb(obs, prev, hidden, avail)
        delta = out - obs
        assert delta.abs().max() <= eps + 1e-6 and (delta != 0).any()
        assert ((delta != 0).any(dim=-1).sum(dim=-1) <= (victims or 3)).all()
        if clip:
            assert (out >= obs.clamp(max=-1.0) - 1e-6).all() and (out <= obs.clamp(min=1.0) + 1e-6).all()
        prev = torch.randint(0, mac.info.n_actions, (8, 3), generator=gen)


def test_the_victims_network_is_never_differentiated(root):
    run = root / VICTIM
    cfg, mac = load_policy(run, CPU)
    calls = []
    step_q = mac.step_q

    def guarded(obs, prev, hidden):  # the victim's forward pass, refusing any autograd use
        if torch.is_grad_enabled() or obs.requires_grad or hidden.requires_grad:
            raise AssertionError("the victim was differentiated")
        calls.append(1)
        return step_q(obs, prev, hidden)

    mac.step_q = guarded
    with pytest.raises(AssertionError, match="differentiated"):  # the guard catches white-box PGD
        evaluate_cell(cfg, mac, "pgd", 0.1, 2, CPU, run, attack_settings("pgd[steps=2]", {}))
    calls.clear()
    row = evaluate_cell(cfg, mac, "transfer", 0.1, 2, CPU, run, attack_settings(f"transfer[source={FROM_VICTIM_TO_OTHER},steps=2]", {}))
    assert row["attack"] == f"transfer[source={FROM_VICTIM_TO_OTHER},steps=2]" and calls  # the victim acted
    assert all(p.grad is None for p in mac.agent.parameters())


def test_a_copy_of_the_victim_as_source_is_exactly_white_box(root):
    """Lock-step: a source identical to the victim crafts against the same hidden state the victim holds at
    every step, from the same random stream, so each transfer cell is its white-box cell to the bit."""
    pairs = {"pgd": "transfer[source=../copy]", "pgd[victims=1]": "transfer[source=../copy,victims=1]", "fgsm": "transfer[source=../copy,base=fgsm]"}
    rows = {r["attack"]: r for r in evaluate(root / VICTIM, episodes=4, attacks=[*pairs, *pairs.values()], eps_values=[0.2])}
    for white, black in pairs.items():
        assert {**rows[black], "attack": white} == rows[white]
    clean = evaluate(root / VICTIM, episodes=4, attacks=["none"], eps_values=[0.2])[0]
    assert rows["pgd"]["mean_return"] != clean["mean_return"]  # the attack changes the battles: the equality says something


def test_the_sources_hidden_state_advances_on_what_the_victim_acts_on(root, monkeypatch):
    """Against a different source: at each step the source crafts against the hidden state it reaches by
    stepping its own network on the observations the victim acted on and the team's previous actions, from
    the initial state at each episode batch's start (as the runner's victim)."""
    run = root / VICTIM
    cfg, victim, perturb = make_transfer(run, f"transfer[source={FROM_VICTIM_TO_OTHER},steps=2]", 0.1)
    _, source = load_policy(root / OTHER, CPU)
    crafted_against, steps = [], []
    objective = gradient.step_objective

    def spy_objective(mac, obs, prev, hidden, avail):
        crafted_against.append(hidden.clone())
        return objective(mac, obs, prev, hidden, avail)

    def recording(obs, prev, hidden, avail):
        seen = perturb(obs, prev, hidden, avail)
        steps.append((seen, prev.clone()))
        return seen

    monkeypatch.setattr(gradient, "step_objective", spy_objective)
    for batch, size in enumerate((3, 3, 2)):  # a new batch of the same size, then one of another size
        env = make_env(cfg.env.backend, cfg.env.map, size, batch, CPU)
        EpisodeRunner(env, victim, RunGenerators.single(batch, "cpu")).run(epsilon=0.0, perturb=recording)
        env.close()
    assert len(crafted_against) == len(steps) > 3
    expected = None
    with torch.no_grad():
        for got, (seen, prev) in zip(crafted_against, steps):
            if expected is None or expected.shape != got.shape or bool((prev < 0).all()):
                assert (prev < 0).all()  # only at a batch's first step
                expected = source.initial_hidden(prev.shape[0])
            assert torch.equal(got, expected)
            _, expected = source.step_q(seen, prev, expected)


def copy_on_map(root: Path, name: str, map_name: str) -> None:
    """A copy of the victim whose config says it was trained on another map."""
    shutil.copytree(root / VICTIM, root / "vanilla/eps0" / name)
    path = root / "vanilla/eps0" / name / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["env"]["map"] = map_name
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize("spec, message", [
    ("transfer", "transfer needs source=RUN_DIR"),
    ("transfer[source=]", "source must be a str"),
    ("transfer[source=../nowhere]", "is not a run directory"),
    ("transfer[source=..]", "is not a run directory"),
    ("transfer[source=.]", "is the evaluated run itself"),
    ("transfer[source=../seed0/]", "is the evaluated run itself"),
    ("transfer[source=../copy,source_model=best]", "best.pt not found"),
    ("transfer[source=../8m]", r"was trained on 8m \(\d+ observation features\), the evaluated run on 3m"),
])  # fmt: skip
def test_a_source_that_cannot_be_a_transfer_is_refused_before_any_episode(root, spec, message):
    copy_on_map(root, "8m", "8m")
    for best in (root / "vanilla/eps0/copy/checkpoints").glob("best.*"):  # a source without a best model
        best.unlink()
    run = root / VICTIM
    with pytest.raises(UserError, match=message):
        evaluate(run, episodes=2, attacks=["none", spec], eps_values=[0, 0.1])
    assert not (run / "eval.csv").exists()  # not even the clean cell was played


def test_an_absolute_source_is_the_same_transfer_as_a_relative_one(root):
    run = root / VICTIM
    relative = evaluate(run, episodes=2, attacks=["transfer[source=../copy,steps=2]"], eps_values=[0.1])[0]
    absolute = evaluate(run, episodes=2, attacks=[f"transfer[source={root / 'vanilla/eps0/copy'},steps=2]"], eps_values=[0.1])[0]
    assert {**absolute, "attack": relative["attack"]} == relative
    with pytest.raises(UserError, match="the evaluated run itself"):
        evaluate(run, episodes=2, attacks=[f"transfer[source={run}]"], eps_values=[0.1])


def test_a_preset_grid_may_hold_a_transfer_from_the_vanilla_run(tmp_path):
    spec = "transfer[source=../../../vanilla/eps0/seed0]"
    preset = preset_from_dict("t", tiny_preset(eval={"attacks": ["none", spec], "eps": [0.1]}))
    cell = next(c for c in plan(preset, tmp_path) if c.config.method.name != "vanilla")
    assert (spec, 0.1) in missing_evaluations(cell)


def test_the_command_line_evaluates_a_transfer_and_refuses_a_bad_source_in_one_line(root):
    run = root / VICTIM
    shutil.copytree(root / OTHER, root / "vanilla/eps0/other")
    ok = run_cli("evaluate", str(run), "--attacks", "transfer[source=../other]", "--eps", "0.05", "--episodes", "4")
    assert ok.returncode == 0, ok.stderr
    assert list(pd.read_csv(run / "eval.csv")["attack"]) == ["transfer[source=../other]"]
    bad = run_cli("evaluate", str(run), "--attacks", "none,transfer", "--source", "../missing", "--eps", "0.05", "--episodes", "2")
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0 and "is not a run directory" in bad.stderr
