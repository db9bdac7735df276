"""Training methods do what their definitions say: a few real updates each, adv_train's perturbed acting and
learning with its eps ramp, policy_reg's regulariser, atla/paad's alternation, and the learned adversaries'
zero-sum reward."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.attacks.adversary import AdversaryPerturb, new_adversary
from benchmark.attacks.adversary_training import AdversaryTrainer, build_rollout
from benchmark.attacks.ball import VictimSelector
from benchmark.config import AdversaryConfig, RunConfig
from benchmark.envs import make_env
from benchmark.methods import METHODS
from benchmark.methods.regularisers import REGULARISERS
from benchmark.qmix.controller import greedy_actions
from benchmark.records import ALTERNATION_COLUMNS, ALTERNATION_FILE
from benchmark.streams import RunGenerators
from benchmark.sweep import settings_for
from benchmark.train import Trainer

STEPS = 10_000  # train.steps: only sets where the eps ramp lies (ramp_start 0.1 -> step 1000, ramp_end 0.5 -> 5000)
TINY = {
    "env.map": "3m", "env.batch_envs": 4, "qmix.batch_size": 4, "qmix.buffer_size": 16, "train.steps": STEPS,
    "train.test_episodes": 1, "method.attack_steps": 3, "method.ramp_start": 0.1, "method.ramp_end": 0.5,
    "method.attack_fraction": 1.0,
}  # fmt: skip


def make_trainer(tmp_path, method: str, train_eps: float = 0.1, **extra) -> Trainer:
    # TINY's method settings apply where the method has them, as a preset's settings do
    cfg = RunConfig().with_overrides({"method.name": method, "method.train_eps": train_eps, **settings_for({**TINY, **extra}, method)})
    return Trainer(cfg, tmp_path)  # writes nothing until a test round or a checkpoint


ONE_RUN = torch.tensor([True])  # the single run of a Trainer learns


def collect_perturb(method, env_steps: int):
    return method.collect_perturb([env_steps], [True])


def update(method, batch, env_steps: int) -> dict[str, float]:
    """One update of the single run at `env_steps`; what it logs, as plain numbers (one value per run)."""
    out = method.update(batch, [env_steps], ONE_RUN)
    assert all(torch.as_tensor(v).shape == (1,) for v in out.values()), {k: torch.as_tensor(v).shape for k, v in out.items()}
    return {k: float(v[0]) for k, v in out.items()}


def eps_at(method, env_steps: int) -> float:
    return float(method.eps_at([env_steps])[0])


def fill(trainer: Trainer, env_steps: int):
    """One collected batch under the method's own perturbation at `env_steps`, then a sampled batch."""
    batch, _ = trainer.runner.run(epsilon=0.5, perturb=collect_perturb(trainer.method, env_steps))
    trainer.buffer.insert(batch)
    return trainer.buffer.sample(trainer.cfg.qmix.batch_size)


def agent_params(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.mac.agent.parameters()]


def adversary_params(run) -> list[torch.Tensor]:
    return [p.detach().clone() for p in run.adversary.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("method", METHODS.names())
def test_each_method_runs_a_few_updates(tmp_path, method):
    # Past the ramp (eps at its full value), one adversary/agent iteration per cycle for atla and paad.
    trainer = make_trainer(tmp_path, method, 0.0 if method == "vanilla" else 0.1, **{"method.adversary_iters": 1, "method.agent_iters": 1})
    before = agent_params(trainer)
    for _ in range(3):
        out = update(trainer.method, fill(trainer, STEPS), STEPS)
        assert torch.isfinite(torch.tensor(out["loss"])) and out["loss"] >= 0
    assert not same(before, agent_params(trainer))


# -- adv_train ---------------------------------------------------------------------------------------------
def test_adv_train_eps_ramps_from_zero(tmp_path):
    method = make_trainer(tmp_path, "adv_train", 0.2).method
    assert [eps_at(method, s) for s in (0, 1000, 3000, 5000, 9000)] == pytest.approx([0, 0, 0.1, 0.2, 0.2])
    assert collect_perturb(method, 500) is None  # clean acting before the ramp starts
    steps = range(0, STEPS, 250)
    assert all(eps_at(method, a) <= eps_at(method, b) for a, b in zip(steps, steps[1:]))


def test_adv_train_acts_on_perturbed_observations_inside_the_ball(tmp_path):
    trainer = make_trainer(tmp_path, "adv_train", 0.2)
    eps = eps_at(trainer.method, 3000)
    perturb = collect_perturb(trainer.method, 3000)
    seen = []

    def spy(obs, prev, hidden, avail):
        out = perturb(obs, prev, hidden, avail)
        seen.append((obs, out))
        return out

    trainer.runner.run(epsilon=0.0, perturb=spy)
    deltas = torch.stack([(out - obs).abs().amax() for obs, out in seen])
    assert (deltas <= eps + 1e-6).all() and (deltas > eps / 2).all()


def test_adv_train_learns_on_worst_case_observations_and_clean_before_the_ramp(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, "adv_train", 0.2)
    given = []
    td_loss = trainer.learner.td_loss

    def spy(batch, obs=None):
        given.append((batch.obs, obs))
        return td_loss(batch, obs=obs)

    monkeypatch.setattr(trainer.learner, "td_loss", spy)
    batch = fill(trainer, 0)
    update(trainer.method, batch, 500)
    clean, obs = given[-1]
    assert obs is None or torch.equal(obs, clean)
    update(trainer.method, batch, 3000)
    clean, obs = given[-1]
    delta = (obs - clean).abs()
    assert delta.amax() <= 0.1 + 1e-6 and delta.amax() > 0.05
    # The worst case lowers each agent's preference for its clean greedy action (the inner maximisation).
    prev = torch.cat([torch.full_like(batch.actions[:, :1], -1), batch.actions], dim=1)
    with torch.no_grad():
        q_clean = trainer.mac.sequence_q(clean, prev)
        q_adv = trainer.mac.sequence_q(obs, prev)
    greedy = greedy_actions(q_clean, batch.avail)
    margin_clean = q_clean.gather(-1, greedy.unsqueeze(-1)) - q_clean.masked_fill(~batch.avail, -1e9).logsumexp(-1, keepdim=True)
    margin_adv = q_adv.gather(-1, greedy.unsqueeze(-1)) - q_adv.masked_fill(~batch.avail, -1e9).logsumexp(-1, keepdim=True)
    filled = torch.cat([batch.filled, torch.zeros_like(batch.filled[:, :1])], dim=1).bool()
    assert margin_adv.squeeze(-1).mean(-1)[filled].mean() < margin_clean.squeeze(-1).mean(-1)[filled].mean()


# -- policy_reg ----------------------------------------------------------------------------------------------
q_values = st.lists(st.floats(-5, 5), min_size=9, max_size=9).map(lambda v: torch.tensor(v).view(1, 9))


@settings(max_examples=50, deadline=None)
@given(q=q_values, shift=q_values)
def test_distance_regularisers_are_zero_for_identical_outputs_and_positive_otherwise(q, shift):
    avail = torch.ones(1, 9, dtype=torch.bool)
    for name in ("kl", "tv"):
        assert REGULARISERS[name](q, q.clone(), avail, 10.0).item() == pytest.approx(0.0, abs=1e-6)
        moved = q + shift
        # Softmax policies differ unless the shift is the same in every action.
        if (shift - shift.mean()).abs().max() > 1e-2:
            assert REGULARISERS[name](q, moved, avail, 10.0).item() > 0


def test_hinge_is_sadqns_margin_on_the_perturbed_output_in_units_of_the_clean_range():
    # SA-DQN's form is not a distance: it is 0 exactly when the clean greedy action keeps a margin of at
    # least c over every other available action at the perturbed observation; c and the margin are in
    # units of the clean action-value range (here 5 - 1 = 4, so margin 0.1 means a lead of 0.4).
    avail = torch.tensor([[True, True, True, False]])
    clean = torch.tensor([[1.0, 5.0, 2.0, 99.0]])  # greedy among the available: action 1
    assert REGULARISERS["hinge"](clean, torch.tensor([[0.0, 20.0, 9.0, 99.0]]), avail, 0.1).item() == 0.0
    assert REGULARISERS["hinge"](clean, torch.tensor([[0.0, 5.0, 4.8, 99.0]]), avail, 0.1).item() == pytest.approx(0.05)
    assert REGULARISERS["hinge"](clean, torch.tensor([[0.0, 5.0, 9.0, 99.0]]), avail, 0.1).item() == pytest.approx(1.1)
    assert REGULARISERS["hinge"](clean, clean, avail, 0.0).item() == 0.0  # identical outputs, margin 0: zero


@pytest.mark.parametrize("form", ["kl", "tv", "hinge"])
def test_policy_reg_adds_kappa_times_the_regulariser(tmp_path, monkeypatch, form):
    overrides = {"method.regulariser": form, "method.hinge_margin": 0.0, "method.kappa": 0.1}
    trainer = make_trainer(tmp_path, "policy_reg", 0.1, **overrides)
    method = trainer.method
    batch = fill(trainer, 0)
    early = update(method, batch, 500)  # before the ramp: eps and kappa are 0
    assert early["regulariser"] == 0 and early["kappa"] == 0 and early["loss"] == pytest.approx(early["td_loss"])
    out = update(method, batch, STEPS)
    assert out["kappa"] == pytest.approx(0.1) and out["eps"] == pytest.approx(0.1)
    assert out["regulariser"] > 0 and out["loss"] == pytest.approx(out["td_loss"] + 0.1 * out["regulariser"], rel=1e-5)
    # An "attack" that changes nothing gives identical outputs, and so a zero regulariser.
    monkeypatch.setattr(method, "worst_case_obs", lambda batch, eps, runs, **_: batch.obs)
    assert update(method, batch, STEPS)["regulariser"] == pytest.approx(0.0, abs=1e-6)


# -- atla / paad ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["atla", "paad"])
def test_learned_adversary_methods_alternate_n_adversary_and_m_agent_iterations(tmp_path, method):
    n, m = 2, 3
    trainer = make_trainer(tmp_path, method, 0.1, **{"method.adversary_iters": n, "method.agent_iters": m})
    alt = trainer.method
    (run,) = alt.adversaries
    assert collect_perturb(alt, 500) is None and run._trainer is None  # eps still 0: no adversary at all
    phases = []
    for call in range(2 * m + 1):
        agent_before, adversary_before = agent_params(trainer), adversary_params(run)
        perturb = collect_perturb(alt, STEPS)
        adversary_trained = not same(adversary_before, [p.detach() for p in run.adversary.parameters()])
        assert same(agent_before, agent_params(trainer)), "QMIX must be frozen while the adversary trains"
        phases.append(run.trainer.iterations)
        batch, _ = trainer.runner.run(epsilon=0.0, perturb=perturb)
        trainer.buffer.insert(batch)
        adversary_before = adversary_params(run)
        update(alt, trainer.buffer.sample(trainer.cfg.qmix.batch_size), STEPS)
        assert same(adversary_before, [p.detach() for p in run.adversary.parameters()]), "the adversary is frozen in QMIX's phase"
        assert adversary_trained == (call % m == 0)
    assert phases == [n] * m + [2 * n] * m + [3 * n]


def test_the_in_training_adversary_curve_is_recorded_per_ppo_iteration_and_survives_a_resume(tmp_path):
    n = 2
    trainer = make_trainer(tmp_path, "atla", 0.1, **{"method.adversary_iters": n, "method.agent_iters": 1})
    for steps in (STEPS // 4, STEPS):  # two cycles: one mid-ramp, one at full eps
        trainer.runner.run(epsilon=0.0, perturb=collect_perturb(trainer.method, steps))
    trainer.save_checkpoint(0)
    curve = pd.read_csv(tmp_path / ALTERNATION_FILE)
    assert list(curve.columns) == list(ALTERNATION_COLUMNS) and len(curve) == 2 * n
    assert curve["cycle"].tolist() == [1] * n + [2] * n
    assert curve["agent_env_steps"].tolist() == [STEPS // 4] * n + [STEPS] * n
    assert curve["eps"].tolist() == pytest.approx([eps_at(trainer.method, STEPS // 4)] * n + [0.1] * n)
    assert curve["adversary_env_steps"].is_monotonic_increasing and curve["victim_win_rate"].between(0, 1).all()
    again = make_trainer(tmp_path, "atla", 0.1, **{"method.adversary_iters": n, "method.agent_iters": 1})
    assert again.restore(0)
    again.runner.run(epsilon=0.0, perturb=collect_perturb(again.method, STEPS))
    again.save_checkpoint(0)
    resumed = pd.read_csv(tmp_path / ALTERNATION_FILE)
    assert len(resumed) == 3 * n and resumed.iloc[: 2 * n].equals(curve)  # kept, then extended


@pytest.mark.parametrize("reset", [0, 2])
def test_the_in_training_adversary_restarts_fresh_every_adversary_reset_cycles(tmp_path, monkeypatch, reset):
    trainer = make_trainer(tmp_path, "atla", 0.1, **{"method.adversary_iters": 1, "method.agent_iters": 1, "method.adversary_reset": reset})
    (run,) = trainer.method.adversaries
    starts = []  # the adversary's weights and optimiser state as each cycle's first PPO iteration begins
    iteration = type(run.trainer).iteration

    def spy(self, eps):
        starts.append((adversary_params(run), len(self.optimizer.state)))
        return iteration(self, eps)

    monkeypatch.setattr(type(run.trainer), "iteration", spy)
    ends = []
    for _ in range(5):
        collect_perturb(trainer.method, STEPS)
        ends.append(adversary_params(run))
    for cycle in range(1, 5):
        restarted = reset and cycle % reset == 0
        assert same(starts[cycle][0], ends[cycle - 1]) != restarted
        assert (starts[cycle][1] == 0) == restarted  # a fresh optimiser has no moments yet
        assert not same(starts[cycle][0], ends[cycle])  # and the adversary that acts is the one it trains
    assert run.trainer.adversary is run.adversary
    assert run.trainer.optimizer.param_groups[0]["params"][0] is next(run.adversary.parameters())
    if reset:  # each restart draws weights of its own, unlike the first adversary's and the other restart's
        assert not same(starts[2][0], starts[0][0]) and not same(starts[2][0], starts[4][0])


def test_a_run_resumed_between_restarts_of_its_adversary_restarts_it_where_an_uninterrupted_one_does(tmp_path):
    settings = {"method.adversary_iters": 1, "method.agent_iters": 1, "method.adversary_reset": 2}

    def cycles(trainer, count):
        for _ in range(count):
            collect_perturb(trainer.method, STEPS)
        return adversary_params(trainer.method.adversaries[0])

    whole = cycles(make_trainer(tmp_path / "whole", "atla", 0.1, **settings), 5)
    first = make_trainer(tmp_path / "cut", "atla", 0.1, **settings)
    cycles(first, 3)
    first.save_checkpoint(0)
    again = make_trainer(tmp_path / "cut", "atla", 0.1, **settings)
    assert again.restore(0)
    assert same(cycles(again, 2), whole)  # cycle 5 restarts it in both (a resume that lost the count would not)


def test_learned_adversaries_are_rewarded_with_the_negated_team_reward():
    cfg = RunConfig()
    info_env = make_env("sim", "3m", 8, 5, torch.device("cpu"))
    from benchmark.qmix.controller import AgentController

    torch.manual_seed(0)
    mac = AgentController(info_env.info, cfg.qmix, torch.device("cpu"))
    acfg = AdversaryConfig(gamma=0.9, gae_lambda=0.8)
    for kind in ("atla", "paad"):
        adversary = new_adversary(kind, info_env.info, acfg, 0, torch.device("cpu"))
        torch.nn.init.zeros_(adversary.critic[-1].weight)
        torch.nn.init.zeros_(adversary.critic[-1].bias)  # values 0: returns are plain discounted reward sums
        gen = RunGenerators.single(1, "cpu")
        recorder = AdversaryPerturb(adversary, mac, 0.1, VictimSelector(0, 3, gen), False, 2, gen, sample=True, record=True)
        trainer = AdversaryTrainer(adversary, mac, info_env, acfg, 0, False, 2, 0)
        batch, stats = trainer.runner.run(epsilon=0.0, perturb=recorder)
        rollout = build_rollout(adversary, batch, recorder, acfg)
        steps = len(recorder.actions)
        expected = torch.zeros_like(batch.reward[:, :steps])
        running = torch.zeros(batch.reward.shape[0])
        for t in reversed(range(steps)):
            nxt = batch.filled[:, t + 1] if t + 1 < steps else torch.zeros_like(running)
            running = (-batch.reward[:, t] + 0.9 * 0.8 * nxt * (1 - batch.terminated[:, t]) * running) * batch.filled[:, t]
            expected[:, t] = running
        assert stats.returns.sum() > 0  # the team earned reward, so the adversary's returns are negative
        assert torch.allclose(rollout.returns, expected[batch.filled[:, :steps].bool()], atol=1e-5)
        assert (rollout.returns <= 1e-6).all()
        out = trainer.iteration(0.1)
        assert out["adversary_return"] <= 0


def test_a_recorded_rollout_holds_only_the_last_collected_batch():
    """The runner collects a batch again after a lost sc2 game; the adversary's record must restart with it."""
    info_env = make_env("sim", "3m", 4, 5, torch.device("cpu"))
    from benchmark.qmix.controller import AgentController

    mac = AgentController(info_env.info, RunConfig().qmix, torch.device("cpu"))
    adversary = new_adversary("atla", info_env.info, AdversaryConfig(), 0, torch.device("cpu"))
    gen = RunGenerators.single(1, "cpu")
    recorder = AdversaryPerturb(adversary, mac, 0.1, VictimSelector(0, 3, gen), False, 2, gen, sample=True, record=True)
    trainer = AdversaryTrainer(adversary, mac, info_env, AdversaryConfig(), 0, False, 2, 0)
    obs = info_env.reset()
    start = torch.full((4, 3), -1)
    hidden = mac.initial_hidden(4)
    # An interrupted attempt: its first step and four more, none of which may reach the rollout.
    for prev in [start] + [torch.zeros_like(start)] * 4:
        recorder(obs.obs, prev, hidden, obs.avail)
    assert len(recorder.actions) == 5
    batch, _ = trainer.runner.run(epsilon=0.0, perturb=recorder)
    assert len(recorder.actions) == int(batch.filled.sum(dim=1).max())  # the batch's steps, nothing before
    build_rollout(adversary, batch, recorder, AdversaryConfig())  # aligned: builds without shape errors


# -- faithful to the originals (issue 11) ------------------------------------------------------------------
@pytest.mark.parametrize("method", ["atla", "paad"])
def test_alternating_methods_learn_from_the_observations_their_adversary_perturbed(tmp_path, monkeypatch, method):
    trainer = make_trainer(tmp_path, method, 0.1, **{"method.adversary_iters": 1, "method.agent_iters": 1})
    batch = fill(trainer, STEPS)
    # The buffer kept what the agents saw: inside the ball, and really moved on the steps that happened.
    delta = (batch.seen_obs - batch.obs).abs()
    steps = torch.cat([batch.filled, torch.zeros_like(batch.filled[:, :1])], dim=1).bool()
    # (float16 storage rounds each observation by up to 2**-11 of its magnitude, features lie in [-1, 1])
    assert delta.amax() <= 0.1 + 2**-10 and delta[steps].amax() > 0.05
    given = []
    td_loss = trainer.learner.td_loss

    def spy(batch, obs=None):
        given.append(obs)
        return td_loss(batch, obs=obs)

    monkeypatch.setattr(trainer.learner, "td_loss", spy)
    out = update(trainer.method, batch, STEPS)
    assert given[-1] is not None and torch.equal(given[-1], batch.seen_obs)  # the update's input is the perturbed one
    # ... and its loss is the TD loss on those inputs with clean targets, not the clean-only loss.
    assert out["loss"] != pytest.approx(td_loss(batch)[0].item(), rel=1e-4)


def test_seen_observations_survive_a_checkpoint_of_the_buffer(tmp_path):
    trainer = make_trainer(tmp_path, "atla", 0.1, **{"method.adversary_iters": 1, "method.agent_iters": 1})
    fill(trainer, STEPS)
    again = make_trainer(tmp_path / "again", "atla", 0.1)
    again.buffer.load_run_state_dict(0, trainer.buffer.run_state_dict(0))
    (size,) = again.buffer.size
    assert size > 0 and torch.equal(again.buffer.data.seen_obs, trainer.buffer.data.seen_obs)
    assert not torch.equal(again.buffer.data.seen_obs[:size], again.buffer.data.obs[:size])


def test_adv_train_attacks_a_random_fraction_of_the_steps_in_acting_and_learning(tmp_path):
    trainer = make_trainer(tmp_path, "adv_train", 0.2, **{"method.attack_fraction": 0.5, "env.batch_envs": 16})
    perturb = collect_perturb(trainer.method, STEPS)
    moved = []

    def spy(obs, prev, hidden, avail):
        out = perturb(obs, prev, hidden, avail)
        moved.append((out - obs).abs().amax(dim=-1) > 0)  # [B, A]: which agents were perturbed at this step
        return out

    batch, _ = trainer.runner.run(epsilon=0.0, perturb=spy)
    moved = torch.stack(moved, dim=1)  # [B, T, A]
    live = batch.filled[:, : moved.shape[1]].bool()
    assert (moved.all(dim=-1) | ~moved.any(dim=-1)).all()  # a step is attacked for all its agents or none
    assert 0.3 < moved.any(dim=-1)[live].float().mean() < 0.7
    trainer.buffer.insert(batch)
    sample = trainer.buffer.sample(4)
    worst = trainer.method.worst_case_obs(sample, torch.tensor([0.2]), ONE_RUN, fraction=0.5)
    step_moved = (worst - sample.obs).abs().amax(dim=(-1, -2))[:, :-1] > 0
    assert 0.3 < step_moved[sample.filled.bool()].float().mean() < 0.7


def test_adv_train_follows_sadqns_schedule_by_default():
    # SA-DQN: half of the steps attacked; eps from 0 at 25% of training to full at ~92% (1.5M-5.5M of 6M).
    m = RunConfig().with_overrides({"method.name": "adv_train"}).method
    assert (m.attack_fraction, m.ramp_start, m.ramp_end) == (0.5, 0.25, 0.92)


def test_the_hinge_is_inactive_when_the_greedy_lead_survives_the_worst_perturbation(tmp_path):
    # A policy whose Q-values ignore the input and lead with one action by far more than the margin: no
    # perturbation can shrink the lead, so the penalty must be exactly zero at full eps.
    trainer = make_trainer(tmp_path, "policy_reg", 0.1, **{"method.kappa": 1.0})
    head = list(trainer.mac.agent.modules())[-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.arange(head.bias.numel(), dtype=torch.float32))  # action i is worth i
    out = update(trainer.method, fill(trainer, STEPS), STEPS)
    assert out["kappa"] == pytest.approx(1.0) and out["regulariser"] == 0.0


def test_the_hinge_cannot_be_satisfied_by_inflating_q():
    # The collapse measured on 2m_vs_1z: per-agent Q inflated ~14x (the mixer absorbs the scale) turned a
    # small lead into one above an absolute margin. In units of the clean range the penalty is unchanged.
    avail = torch.ones(2, 5, dtype=torch.bool)
    clean = torch.tensor([[0.0, 0.2, 0.1, 0.3, 0.25], [1.0, 0.4, 0.2, 0.3, 0.1]])
    perturbed = clean + torch.tensor([[0.0, 0.0, 0.0, -0.04, 0.0], [-0.58, 0.0, 0.0, 0.0, 0.0]])
    penalty = REGULARISERS["hinge"](clean, perturbed, avail, 0.05)
    assert (penalty > 0).all()
    for scale in (14.0, 1e3):
        assert torch.allclose(REGULARISERS["hinge"](scale * clean, scale * perturbed, avail, 0.05), penalty, rtol=1e-4)


def test_policy_regs_inner_attack_maximises_the_hinges_margin(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, "policy_reg", 0.1)
    used = []
    original = trainer.method.worst_case_obs

    def spy(batch, eps, runs, **kwargs):
        used.append(kwargs.get("loss"))
        return original(batch, eps, runs, **kwargs)

    monkeypatch.setattr(trainer.method, "worst_case_obs", spy)
    batch = fill(trainer, STEPS)
    update(trainer.method, batch, STEPS)
    from benchmark.attacks.objectives import greedy_margin

    assert used == [greedy_margin]


def test_adversary_settings_are_part_of_the_run_config_without_an_entropy_bonus(tmp_path):
    atla = RunConfig().with_overrides({"method.name": "atla"})
    assert atla.to_dict()["method"]["adversary"]["entropy_coef"] == 0.0  # as ATLA's adversary
    trainer = make_trainer(tmp_path, "atla", 0.1, **{"method.adversary.entropy_coef": 0.02, "method.adversary.rollout_envs": 2})
    (run,) = trainer.method.adversaries
    assert run.trainer.cfg.entropy_coef == 0.02 and run.trainer.env.batch_size == 2
