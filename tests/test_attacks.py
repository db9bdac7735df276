"""Observation attacks: the ball, FGSM/PGD/random strength, victims, eps = 0, and eval labels."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.attacks import ATTACKS, AttackContext, attack_label, attack_settings
from benchmark.attacks.ball import Ball, VictimSelector
from benchmark.attacks.gradient import GradientAttack, step_objective
from benchmark.attacks.objectives import available_policy, greedy_preference_loss
from benchmark.streams import RunGenerators
from benchmark.config import QMixConfig, RunConfig
from benchmark.envs.maps import env_info
from benchmark.errors import UserError
from benchmark.qmix.controller import AgentController, greedy_actions

INFO = env_info("3m")  # the simulator's sizes, so that learned attacks can build their environments
CPU = torch.device("cpu")


def step_inputs(seed: int, rows: int = 16, scale: float = 1.0):
    gen = torch.Generator().manual_seed(seed)
    obs = (torch.rand(rows, INFO.n_agents, INFO.obs_shape, generator=gen) * 2 - 1) * scale
    prev = torch.randint(-1, INFO.n_actions, (rows, INFO.n_agents), generator=gen)
    avail = torch.rand(rows, INFO.n_agents, INFO.n_actions, generator=gen) < 0.6
    avail[..., 1] = True  # at least one action is always available, as in SMAC
    hidden = torch.randn(1, rows * INFO.n_agents, QMixConfig().rnn_hidden_dim, generator=gen) * 0.1
    return obs, prev, hidden, avail


def random_mac(seed: int = 0) -> AgentController:
    torch.manual_seed(seed)
    return AgentController(INFO, QMixConfig(), CPU)


@pytest.fixture(scope="module")
def trained_mac() -> AgentController:
    """An agent network fitted to a smooth synthetic task (Q = obs @ W), so that its greedy choices depend on
    the observation the way a trained policy's do; a random network's barely do."""
    mac = random_mac(1)
    gen = torch.Generator().manual_seed(1)
    weights = torch.randn(INFO.obs_shape, INFO.n_actions, generator=gen)
    obs, prev, hidden, _ = step_inputs(2, rows=256)
    hidden = torch.zeros_like(hidden)
    opt = torch.optim.Adam(mac.agent.parameters(), lr=3e-3)
    for _ in range(300):
        q, _ = mac.step_q(obs, prev, hidden)
        loss = (q - obs @ weights).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5
    return mac


def perturb_with(name: str, mac: AgentController, eps: float, options: dict | None = None, seed: int = 0):
    ctx = AttackContext(mac, eps, RunGenerators.single(seed, "cpu"), RunConfig(), None, attack_settings(name, options or {}))
    return ATTACKS.get(name).make(ctx)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["random", "fgsm", "pgd", "atla", "paad"]),
    eps=st.floats(0.0, 0.5),
    victims=st.integers(0, INFO.n_agents),
    clip=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_every_attack_stays_inside_the_ball(name, eps, victims, clip, seed):
    # adversary_steps=0: learned attacks act with their untrained networks, which must obey the ball too.
    options = {"steps": 3, "victims": victims, "clip": clip, "adversary_steps": 0}
    obs, prev, hidden, avail = step_inputs(seed, rows=8, scale=1.3)  # some features out of [-1, 1]
    perturb = perturb_with(name, random_mac(), eps, options, seed)
    if perturb is None:
        assert eps == 0
        return
    out = perturb(obs, prev, hidden, avail)
    delta = out - obs
    assert out.shape == obs.shape and torch.isfinite(out).all()
    assert delta.abs().max() <= eps + 1e-6
    touched = (delta != 0).any(dim=-1).sum(dim=-1)
    assert (touched <= (victims or INFO.n_agents)).all()
    if clip:
        assert (out >= torch.clamp(obs, max=-1.0) - 1e-6).all() and (out <= torch.clamp(obs, min=1.0) + 1e-6).all()


@pytest.mark.parametrize("name", ATTACKS.names())
def test_eps_zero_changes_nothing(name):
    assert perturb_with(name, random_mac(), 0.0, {"adversary_steps": 0}) is None  # the runner sees clean obs
    obs, prev, hidden, avail = step_inputs(0)
    ball = Ball(obs, 0.0, clip=True)
    assert torch.equal(ball.project(obs + 1.0), obs) and torch.equal(ball.sample(RunGenerators.single(0, "cpu")), obs)
    objective = step_objective(random_mac(), obs, prev, hidden, avail)
    assert torch.equal(GradientAttack.pgd(5).run(objective, ball, RunGenerators.single(0, "cpu")), obs)


def greedy_probability(mac, obs, seen, prev, hidden, avail) -> torch.Tensor:
    """Each agent's softmax probability of the action it takes on its clean observation, after the attack."""
    with torch.no_grad():
        greedy = greedy_actions(mac.step_q(obs, prev, hidden)[0], avail)
        policy = available_policy(mac.step_q(seen, prev, hidden)[0], avail)
    return policy.gather(-1, greedy.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.2])
def test_gradient_attacks_lower_the_greedy_preference_more_than_random_noise(trained_mac, eps):
    obs, prev, hidden, avail = step_inputs(3, rows=128)
    hidden = torch.zeros_like(hidden)
    clean = greedy_probability(trained_mac, obs, obs, prev, hidden, avail).mean()
    after = {}
    for name in ("random", "fgsm", "pgd"):
        seen = perturb_with(name, trained_mac, eps)(obs, prev, hidden, avail)
        after[name] = greedy_probability(trained_mac, obs, seen, prev, hidden, avail).mean()
    assert after["fgsm"] < after["random"] - 0.01 and after["pgd"] < after["random"] - 0.01
    assert after["random"] < clean + 0.01


def test_pgd_is_at_least_as_strong_as_fgsm_on_average(trained_mac):
    obs, prev, hidden, avail = step_inputs(4, rows=128)
    hidden = torch.zeros_like(hidden)
    greedy = greedy_actions(trained_mac.step_q(obs, prev, hidden)[0], avail)
    for eps in (0.05, 0.1, 0.2):
        loss = {}
        for name in ("fgsm", "pgd"):
            seen = perturb_with(name, trained_mac, eps)(obs, prev, hidden, avail)
            with torch.no_grad():
                loss[name] = greedy_preference_loss(trained_mac.step_q(seen, prev, hidden)[0], avail, greedy).mean()
        assert loss["pgd"] >= loss["fgsm"] - 1e-4


def test_fgsm_is_one_signed_step_of_size_eps():
    assert GradientAttack.fgsm() == GradientAttack(steps=1, random_start=False)
    assert GradientAttack.fgsm().step_size(0.1) == pytest.approx(0.1)
    assert GradientAttack.pgd(10).step_size(0.1) == pytest.approx(0.025)  # Madry et al.'s 2.5 eps / K
    mac = random_mac()
    obs, prev, hidden, avail = step_inputs(5)
    objective = step_objective(mac, obs, prev, hidden, avail)
    x = obs.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(objective(x).sum(), x)
    got = perturb_with("fgsm", mac, 0.1)(obs, prev, hidden, avail)
    assert torch.allclose(got, obs + 0.1 * grad.sign())


def test_attacks_leave_the_recurrent_state_and_inputs_alone():
    mac = random_mac()
    obs, prev, hidden, avail = step_inputs(6)
    copies = [t.clone() for t in (obs, prev, hidden, avail)]
    perturb_with("pgd", mac, 0.1)(obs, prev, hidden, avail)
    assert all(torch.equal(a, b) for a, b in zip((obs, prev, hidden, avail), copies))
    assert all(p.grad is None for p in mac.agent.parameters())  # the victim is not trained by attacking it


def test_victims_are_k_random_agents_drawn_at_each_episode_start():
    selector = VictimSelector(1, 3, RunGenerators.single(0, "cpu"))
    first = selector(torch.full((64, 3), -1))
    assert (first.sum(-1) == 1).all() and len(set(first.float().argmax(-1).tolist())) == 3
    assert torch.equal(selector(torch.zeros(64, 3, dtype=torch.long)), first)  # mid-episode: kept
    prev = torch.zeros(64, 3, dtype=torch.long)
    prev[:32] = -1  # the first half starts new episodes
    again = selector(prev)
    assert torch.equal(again[32:], first[32:]) and not torch.equal(again[:32], first[:32])
    assert VictimSelector(0, 3, RunGenerators.single(0, "cpu"))(prev) is None and VictimSelector(3, 3, RunGenerators.single(0, "cpu"))(prev) is None
    with pytest.raises(UserError, match="victims must be at most"):
        VictimSelector(4, 3, RunGenerators.single(0, "cpu"))


def label(name: str, **options) -> str:
    return attack_label(name, attack_settings(name, options))


def test_eval_labels_name_only_options_that_matter():
    assert label("pgd") == "pgd"
    assert label("fgsm", steps=30) == "fgsm"
    assert label("pgd", steps=30, victims=1, clip=True) == "pgd[steps=30,victims=1,clip=true]"
    assert label("atla", adversary_steps=5) == "atla[adversary_steps=5]"
    assert label("none", victims=1) == "none"
    # the order labels had when one table listed each attack's options, so old eval.csv cells still match
    assert label("paad", model="best", clip=True, victims=2, adversary_steps=7, steps=3) == (
        "paad[steps=3,adversary_steps=7,victims=2,clip=true,model=best]"
    )
    assert label("atla", ppo={"lr": 0.001}) == "atla[ppo.lr=0.001]"
