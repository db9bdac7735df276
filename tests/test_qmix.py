"""QMIX building blocks: targets, mixer, action selection, replay buffer."""

import torch

from benchmark.config import QMixConfig
from benchmark.envs.base import EnvInfo
from benchmark.qmix.buffer import EpisodeBatch, ReplayBuffer
from benchmark.qmix.controller import AgentController, epsilon_greedy, linear_epsilon
from benchmark.qmix.learner import QLearner, previous_actions, td_lambda_targets
from benchmark.qmix.mixer import QMixer
from benchmark.streams import RunGenerators

INFO = EnvInfo(n_agents=3, n_enemies=3, n_actions=9, obs_shape=30, state_shape=48, episode_limit=5)


def test_one_step_targets_match_hand_computation():
    rewards = torch.tensor([[1.0, 2.0, 3.0]])
    terminated = torch.tensor([[0.0, 0.0, 1.0]])
    filled = torch.ones(1, 3)
    target_q = torch.tensor([[10.0, 20.0, 30.0, 40.0]])
    got = td_lambda_targets(rewards, terminated, filled, target_q, gamma=0.5, lam=0.0)
    assert torch.allclose(got, torch.tensor([[1 + 0.5 * 20, 2 + 0.5 * 30, 3.0]]))


def test_lambda_one_gives_discounted_monte_carlo_return():
    rewards = torch.tensor([[1.0, 2.0, 3.0]])
    terminated = torch.tensor([[0.0, 0.0, 1.0]])
    got = td_lambda_targets(rewards, terminated, torch.ones(1, 3), torch.full((1, 4), 99.0), 0.9, 1.0)
    assert torch.allclose(got[0, 0], torch.tensor(1 + 0.9 * 2 + 0.81 * 3))


def test_time_out_bootstraps_from_final_state_and_padding_is_zero():
    rewards = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    terminated = torch.tensor([[0.0, 0.0], [1.0, 0.0]])  # row 0 timed out; row 1 ended after one step
    filled = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    target_q = torch.tensor([[0.0, 5.0, 7.0], [0.0, 50.0, 70.0]])
    got = td_lambda_targets(rewards, terminated, filled, target_q, gamma=1.0, lam=0.5)
    assert torch.allclose(got[0, 1], torch.tensor(1 + 7.0))
    assert torch.allclose(got[0, 0], torch.tensor(1 + 0.5 * 5 + 0.5 * 8))
    assert torch.allclose(got[1], torch.tensor([1.0, 0.0]))


def test_mixer_is_monotonic_in_every_agent_q():
    torch.manual_seed(0)
    mixer = QMixer(n_agents=3, state_dim=48, embed_dim=32, hypernet_embed=64)
    qs = torch.randn(16, 3, requires_grad=True)
    mixer(qs, torch.randn(16, 48)).sum().backward()
    assert (qs.grad >= 0).all()


def test_epsilon_greedy_only_takes_available_actions():
    gen = RunGenerators.single(0, "cpu")
    avail = torch.zeros(500, 3, 9, dtype=torch.bool)
    avail[..., 1] = avail[..., 4] = True
    q = torch.randn(500, 3, 9)
    q[..., 0] = 100.0  # the best value is unavailable
    for epsilon in (0.0, 1.0):
        actions = epsilon_greedy(q, avail, epsilon, gen)
        assert set(actions.unique().tolist()) <= {1, 4}
    assert set(epsilon_greedy(q, avail, 1.0, gen).unique().tolist()) == {1, 4}


def test_epsilon_anneals_linearly_then_stays():
    cfg = QMixConfig(epsilon_anneal_time=100)
    assert linear_epsilon(cfg, 0) == 1.0
    assert abs(linear_epsilon(cfg, 50) - 0.525) < 1e-9
    assert linear_epsilon(cfg, 10_000) == cfg.epsilon_finish


def test_agent_step_and_sequence_paths_agree():
    torch.manual_seed(0)
    mac = AgentController(INFO, QMixConfig(), torch.device("cpu"))
    obs = torch.randn(2, 4, 3, 30)
    prev = torch.randint(-1, 9, (2, 4, 3))
    seq = mac.sequence_q(obs, prev)
    hidden = mac.initial_hidden(2)
    for t in range(4):
        q, hidden = mac.step_q(obs[:, t], prev[:, t], hidden)
        assert torch.allclose(q, seq[:, t], atol=1e-5)


def test_agent_inputs_append_last_action_and_id_after_observation():
    mac = AgentController(INFO, QMixConfig(), torch.device("cpu"))
    x = mac.inputs(torch.zeros(1, 3, 30), torch.tensor([[-1, 0, 8]]))
    assert x.shape == (1, 3, 30 + 9 + 3)
    assert x[0, 0, 30:39].sum() == 0 and x[0, 1, 30] == 1 and x[0, 2, 38] == 1
    assert torch.equal(x[0, :, 39:], torch.eye(3))


def _episodes(n: int, value: float) -> EpisodeBatch:
    batch = EpisodeBatch.empty(INFO, n, torch.device("cpu"))
    batch.reward.fill_(value)
    batch.filled[:, :3] = 1
    return batch


def test_buffer_is_a_ring_and_samples_without_replacement():
    buffer = ReplayBuffer(INFO, capacity=4, device=torch.device("cpu"), seeds=[0])
    buffer.insert(_episodes(3, 1.0))
    buffer.insert(_episodes(3, 2.0))
    assert buffer.size == [4]
    assert buffer.data.reward[:, 0].tolist() == [2.0, 2.0, 1.0, 2.0]
    sample = buffer.sample(4)
    assert sorted(sample.reward[:, 0].tolist()) == [1.0, 2.0, 2.0, 2.0]
    assert sample.filled.shape[1] == 3  # trailing unreached steps dropped
    assert sample.obs.shape[1] == 4


def test_buffer_state_round_trips():
    buffer = ReplayBuffer(INFO, capacity=4, device=torch.device("cpu"), seeds=[0])
    buffer.insert(_episodes(2, 3.0))
    clone = ReplayBuffer(INFO, capacity=4, device=torch.device("cpu"), seeds=[9])
    clone.load_run_state_dict(0, buffer.run_state_dict(0))
    assert torch.equal(clone.sample(2).reward, buffer.sample(2).reward)
    assert clone.next_index == [2]


def test_td_targets_come_from_the_recorded_observations_when_the_agents_see_perturbed_ones():
    torch.manual_seed(0)
    mac = AgentController(INFO, QMixConfig(), torch.device("cpu"))
    learner = QLearner(mac, INFO.state_shape, QMixConfig())
    batch = _episodes(4, 1.0)
    batch.obs.normal_()
    batch.state.normal_()
    batch.avail.fill_(True)
    batch.actions.random_(INFO.n_actions)
    perturbed = batch.obs + 5 * torch.randn_like(batch.obs)
    loss, q = learner.td_loss(batch, obs=perturbed)
    prev = previous_actions(batch.actions)
    with torch.no_grad():
        targets = learner._targets(batch, mac.sequence_q(batch.obs, prev), prev)  # double Q picks on clean obs
        chosen = mac.sequence_q(perturbed, prev)[:, :-1].gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
        q_tot = learner.mixer(chosen, batch.state[:, :-1]).squeeze(-1)
    expected = ((q_tot - targets) * batch.filled).pow(2).sum() / batch.filled.sum()
    assert torch.allclose(loss, expected)
    assert torch.allclose(q, mac.sequence_q(perturbed, prev))
