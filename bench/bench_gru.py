"""Forward + backward time of the learner's GRU for run groups of K networks, and bf16's error on Q-values.

Three implementations at the learner's shapes (128 episodes x the map's agents as rows, the map's episode
limit as steps, hidden 64), each computing every hidden state from the GRU's input and differentiating a
loss wrt that input and every weight:

- `nn.GRU`: K separate modules, one after the other (what a group would do without stacked weights);
- `reference`: the plain-op loop over `gru_step` on stacked weights, differentiated by autograd;
- `fused`: `gru_sequence`, whose backward through time is written by hand.

fp32, and bf16: the stacked versions under `torch.autocast("cpu", torch.bfloat16)` (bf16 matmuls, fp32
gate math), nn.GRU as an all-bf16 module (autocast leaves nn.GRU in fp32). Within each (map, K) all six
variants run alternately, round after round, so load from other processes hits them alike; the table
holds each variant's median and the speedups are medians of the per-round ratios.

The accuracy part runs a trained reference agent (fc_in -> GRU -> fc_out from checkpoints/) over 128
episodes of the simulator's observations under random valid actions, in fp32 and in bf16, and prints the
largest Q difference in units of the mean action-value range (best minus worst action, as
`method.hinge_margin` measures Q), and the share of greedy actions that change.

Run with `.venv/bin/python -m bench.bench_gru [--threads N] [--rounds R] [--maps 3m,2s3z] [--ks 1,3,9]`
(about 15 minutes on one core: the reference is slow); `--compare-threads 1,2` times only nn.GRU and
fused in fp32 at each thread count, alternately.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from benchmark import model_files
from benchmark.config import QMixConfig
from benchmark.envs.sim import SimEnv
from benchmark.qmix.controller import AgentController
from benchmark.qmix.gru import gru_sequence, gru_step

EPISODES, HIDDEN = 128, 64
MAPS = {"3m": 3, "2s3z": 5}  # agents per episode
STEPS = {"3m": 60, "2s3z": 120}  # episode limits
IMPLS = ("nn.GRU", "reference", "fused")
PRECISIONS = ("fp32", "bf16")
CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints" / "sim"


@dataclass
class Problem:
    """K GRUs' stacked weights, their input x [K, T, N, H] and the gradient arriving at their output."""

    x: torch.Tensor
    w_ih: torch.Tensor
    w_hh: torch.Tensor
    b_ih: torch.Tensor
    b_hh: torch.Tensor
    grad: torch.Tensor

    @classmethod
    def random(cls, k: int, steps: int, rows: int, seed: int) -> Problem:
        gen = torch.Generator().manual_seed(seed)
        bound = HIDDEN**-0.5  # nn.GRU's initialisation range

        def uniform(*shape: int) -> torch.Tensor:
            return ((torch.rand(*shape, generator=gen) * 2 - 1) * bound).requires_grad_()

        x = torch.rand(k, steps, rows, HIDDEN, generator=gen).requires_grad_()  # fc_in's ReLU output is >= 0
        grad = torch.randn(k, steps, rows, HIDDEN, generator=gen)
        w3 = (k, 3 * HIDDEN, HIDDEN)
        return cls(x, uniform(*w3), uniform(*w3), uniform(k, 3 * HIDDEN), uniform(k, 3 * HIDDEN), grad)

    def leaves(self) -> list[torch.Tensor]:
        return [self.x, self.w_ih, self.w_hh, self.b_ih, self.b_hh]

    def input_projection(self) -> torch.Tensor:
        k, steps, rows, _ = self.x.shape
        flat = torch.baddbmm(self.b_ih.unsqueeze(1), self.x.reshape(k, -1, HIDDEN), self.w_ih.transpose(1, 2))
        return flat.view(k, steps, rows, 3 * HIDDEN)

    def modules(self, dtype: torch.dtype) -> list[nn.GRU]:
        """One nn.GRU per network, holding the same weights."""
        grus = []
        for k in range(self.x.shape[0]):
            gru = nn.GRU(HIDDEN, HIDDEN)
            with torch.no_grad():
                for name, stacked in (("weight_ih_l0", self.w_ih), ("weight_hh_l0", self.w_hh),
                                      ("bias_ih_l0", self.b_ih), ("bias_hh_l0", self.b_hh)):
                    getattr(gru, name).copy_(stacked[k])
            grus.append(gru.to(dtype))
        return grus


def run_modules(problem: Problem, grus: list[nn.GRU], dtype: torch.dtype) -> None:
    x = problem.x.detach().to(dtype).requires_grad_()
    for k, gru in enumerate(grus):
        out, _ = gru(x[k], torch.zeros(1, x.shape[2], HIDDEN, dtype=dtype))
        (out * problem.grad[k].to(dtype)).sum().backward()


def reference_sequence(gi: torch.Tensor, h0: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    h, out = h0, []
    for t in range(gi.shape[1]):
        h = gru_step(gi[:, t], h, w_hh, b_hh)
        out.append(h)
    return torch.stack(out, dim=1)


def run_stacked(problem: Problem, sequence: Callable[..., torch.Tensor], precision: str) -> None:
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
    with autocast:
        h0 = problem.x.new_zeros(problem.x.shape[0], problem.x.shape[2], HIDDEN)
        out = sequence(problem.input_projection(), h0, problem.w_hh, problem.b_hh)
        loss = (out.float() * problem.grad).sum()
    loss.backward()


def variants(problem: Problem) -> tuple[dict[tuple[str, str], Callable[[], None]], list[torch.Tensor]]:
    """Each variant's forward + backward, and every tensor whose gradient they accumulate."""
    grus = {p: problem.modules(torch.bfloat16 if p == "bf16" else torch.float32) for p in PRECISIONS}
    runs = {}
    for precision in PRECISIONS:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        runs["nn.GRU", precision] = lambda p=precision, d=dtype: run_modules(problem, grus[p], d)
        runs["reference", precision] = lambda p=precision: run_stacked(problem, reference_sequence, p)
        runs["fused", precision] = lambda p=precision: run_stacked(problem, gru_sequence, p)
    params = [param for modules in grus.values() for gru in modules for param in gru.parameters()]
    return runs, problem.leaves() + params


def timed(run: Callable[[], None], params: list[torch.Tensor], clock: Callable[[], float]) -> float:
    for param in params:
        param.grad = None
    start = clock()
    run()
    return clock() - start


def alternate(runs: dict, params: list[torch.Tensor], rounds: int, clock: Callable[[], float]) -> dict:
    """Seconds per call, per run and round; the order of the runs rotates each round."""
    names = list(runs)
    times: dict = {name: [] for name in names}
    for round_ in range(rounds + 1):  # round 0 warms up
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = timed(runs[name], params, clock)
            if round_:
                times[name].append(seconds)
    return times


def measure_cell(map_name: str, k: int, impls: list[str], rounds: int, clock: Callable[[], float]) -> dict:
    problem = Problem.random(k, STEPS[map_name], EPISODES * MAPS[map_name], seed=k)
    runs, params = variants(problem)
    return alternate({name: run for name, run in runs.items() if name[0] in impls}, params, rounds, clock)


def thread_table(maps: list[str], ks: list[int], rounds: int, counts: list[int]) -> None:
    """nn.GRU and fused, fp32, at each torch thread count, alternated (wall time: threads share cores)."""
    print(f"fp32 forward + backward, ms, by torch threads (median of rounds): {counts}")
    for map_name in maps:
        for k in ks:
            problem = Problem.random(k, STEPS[map_name], EPISODES * MAPS[map_name], seed=k)
            runs, params = variants(problem)
            impls = ("nn.GRU", "fused")
            threaded = {(impl, n): _with_threads(runs[impl, "fp32"], n) for impl in impls for n in counts}
            times = alternate(threaded, params, rounds, time.perf_counter)
            cells = "  ".join(f"{impl} {n}t {statistics.median(times[impl, n]) * 1e3:.1f}" for impl, n in times)
            print(f"{map_name:<6}{k:>3}  {cells}", flush=True)


def _with_threads(run: Callable[[], None], threads: int) -> Callable[[], None]:
    def threaded() -> None:
        torch.set_num_threads(threads)
        run()

    return threaded


def ratio(times: dict[tuple[str, str], list[float]], slow: tuple[str, str], fast: tuple[str, str]) -> float:
    return statistics.median(s / f for s, f in zip(times[slow], times[fast]))


def speed_table(maps: list[str], ks: list[int], impls: list[str], rounds: int, clock: Callable[[], float]) -> list[str]:
    names = [(i, p) for p in PRECISIONS for i in impls]
    print("forward + backward, ms (median of rounds)")
    print(f"{'map':<6}{'K':>3}  " + "".join(f"{f'{i} {p}':>16}" for i, p in names))
    speedups = []
    for map_name in maps:
        for k in ks:
            times = measure_cell(map_name, k, impls, rounds, clock)
            print(f"{map_name:<6}{k:>3}  " + "".join(f"{statistics.median(times[n]) * 1e3:>16.1f}" for n in names))
            fused = ("fused", "fp32")
            versus = [f"vs {i} fp32 {ratio(times, (i, 'fp32'), fused):.2f}x" for i in impls if i != "fused"]
            bf16 = [f"{i} bf16 vs {i} fp32 {ratio(times, (i, 'fp32'), (i, 'bf16')):.2f}x" for i in impls]
            speedups.append(f"speedup ({map_name}, K={k}): fused fp32 {', '.join(versus)}; {', '.join(bf16)}")
    return speedups


def observed_inputs(mac: AgentController, map_name: str, seed: int) -> torch.Tensor:
    """[K=1, T, N, input_dim]: the agent's inputs over T simulator steps of 128 episodes, random valid actions."""
    env = SimEnv(map_name, EPISODES, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    prev = torch.full((EPISODES, env.info.n_agents), -1)
    inputs = []
    for _ in range(STEPS[map_name]):
        seen = env.observe()
        inputs.append(mac.inputs(seen.obs, prev).reshape(-1, mac.agent.fc_in.in_features))
        prev = torch.rand(seen.avail.shape, generator=gen).masked_fill(~seen.avail, -1.0).argmax(-1)
        env.step(prev)
    return torch.stack(inputs).unsqueeze(0)


def agent_q(mac: AgentController, inputs: torch.Tensor, bf16: bool) -> torch.Tensor:
    """fc_in -> GRU -> fc_out with the agent's weights, through gru_sequence; bf16: all matmuls under autocast."""
    agent, rnn = mac.agent, mac.agent.rnn
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        x = torch.relu(agent.fc_in(inputs))
        gi = nn.functional.linear(x, rnn.weight_ih_l0, rnn.bias_ih_l0)
        h0 = x.new_zeros(1, x.shape[2], agent.hidden_dim, dtype=torch.float32)
        h = gru_sequence(gi, h0, rnn.weight_hh_l0.unsqueeze(0), rnn.bias_hh_l0.unsqueeze(0))
        return agent.fc_out(h).float()


def bf16_accuracy(map_name: str) -> str:
    state = model_files.load(CHECKPOINTS / map_name / "vanilla/eps0/seed0/checkpoints/model.safetensors", torch.device("cpu"))
    info = SimEnv(map_name, 1).info
    mac = AgentController(info, QMixConfig(), torch.device("cpu"))
    mac.agent.load_state_dict(state["agent"])
    inputs = observed_inputs(mac, map_name, seed=0)
    q32, q16 = agent_q(mac, inputs, bf16=False), agent_q(mac, inputs, bf16=True)
    unit = (q32.amax(-1) - q32.amin(-1)).mean()
    changed = (q32.argmax(-1) != q16.argmax(-1)).float().mean()
    return (
        f"bf16 accuracy ({map_name}, trained vanilla reference agent, {inputs.shape[2]} rows x {inputs.shape[1]} "
        f"steps): max |q_bf16 - q_fp32| = {(q16 - q32).abs().max():.4f} = {(q16 - q32).abs().max() / unit:.3f} "
        f"mean action-value ranges ({unit:.3f}); mean |diff| {(q16 - q32).abs().mean() / unit:.4f} ranges; "
        f"greedy action changed in {changed:.2%} of (step, agent) decisions"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per (map, K), after one warm-up")
    parser.add_argument("--maps", default=",".join(MAPS), help="comma-separated, from " + ", ".join(MAPS))
    parser.add_argument("--ks", default="1,3,9", help="comma-separated group sizes")
    parser.add_argument("--impls", default=",".join(IMPLS), help="comma-separated, from " + ", ".join(IMPLS))
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="the main table's clock: this "
                        "thread's CPU time (steadier on a shared machine; needs --threads 1) or wall time")
    parser.add_argument("--compare-threads", metavar="COUNTS", help="e.g. 1,2: only time nn.GRU and fused "
                        "fp32 at these torch thread counts, alternately, in wall time")
    args = parser.parse_args()
    args.maps, args.impls, args.ks = args.maps.split(","), args.impls.split(","), [int(k) for k in args.ks.split(",")]
    unknown = sorted(set(args.maps) - set(MAPS)) + sorted(set(args.impls) - set(IMPLS))
    if unknown:
        parser.error(f"unknown map or implementation {unknown[0]}")
    if args.rounds < 1 or "fused" not in args.impls:
        parser.error("--rounds must be at least 1 and --impls must include fused")
    if args.clock == "cpu" and args.threads != 1 and not args.compare_threads:
        parser.error("--clock cpu counts only this thread: use it with --threads 1")
    return args


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = "wall" if args.compare_threads else args.clock
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, {EPISODES} episodes, hidden {HIDDEN}, {clock} time")
    if args.compare_threads:
        thread_table(args.maps, args.ks, args.rounds, [int(n) for n in args.compare_threads.split(",")])
        return
    timer = time.thread_time if clock == "cpu" else time.perf_counter
    lines = speed_table(args.maps, args.ks, args.impls, args.rounds, timer)
    lines += [bf16_accuracy(m) for m in args.maps]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
