"""What robustness costs: training time per method and acting time per attack, measured in one run.

    .venv/bin/python -m bench.bench_methods [--map 3m] [--iterations 20] [--eps 0.1] [--device cpu]

Methods: wall seconds per million env steps of training (collect `batch_envs` episodes + one update, at
pymarl2's settings) with each method at full strength (past its eps ramp, train eps --eps), as a ratio to
vanilla. atla/paad's adversary phases are included (whole N/M cycles are timed), as they are in a real
run's wall clock. --iterations should be a multiple of method.agent_iters (10) for that reason.

Attacks: wall time of greedy acting per env step under each test attack at eps --eps (B = --envs
environments stepping together, as evaluation does), as a ratio to clean acting; learned attacks act with
an untrained adversary (acting costs the same) and their one-off training cost per adversary env step is
shown too. The default run takes about 3 minutes on one core; numbers depend on what else runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from rich.console import Console
from rich.table import Table

from bench.trainer_timing import fill_buffer, time_iterations
from benchmark.attacks import ATTACKS, AttackContext
from benchmark.attacks.adversary import new_adversary
from benchmark.attacks.adversary_training import AdversaryTrainer
from benchmark.config import PGD_STEPS, AdversaryConfig, RunConfig
from benchmark.device import configure_threads
from benchmark.envs import make_env
from benchmark.methods import METHODS
from benchmark.qmix.controller import AgentController, greedy_actions
from benchmark.streams import RunGenerators
from benchmark.train import Trainer

FULL_STRENGTH = 1_000_000  # train.steps of the timed runs; timing starts at its ramp end (eps at full value)


def time_method(map_name: str, method: str, eps: float, iterations: int, device: str) -> dict:
    cfg = RunConfig().with_overrides({
        "env.map": map_name, "method.name": method, "method.train_eps": 0.0 if method == "vanilla" else eps,
        "train.steps": FULL_STRENGTH, "train.device": device,
    })  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, tmp)
        trainer.run_progress.env_steps = int(getattr(cfg.method, "ramp_end", 0.0) * FULL_STRENGTH)  # vanilla has no ramp
        fill_buffer(trainer)
        for run in getattr(trainer.method, "adversaries", []):
            run.agent_iters_left = 0  # start the timed part with a full atla/paad cycle
        steps, seconds = time_iterations(trainer, iterations)
    return {"steps": steps, "s_per_m": seconds / steps * 1e6}


def acting_seconds_per_step(mac: AgentController, env, perturb, steps: int) -> float:
    """Greedy acting for `steps` batched steps (every env counts, finished ones reset themselves)."""
    b, n = env.batch_size, env.info.n_agents
    current = env.reset()
    hidden = mac.initial_hidden(b)
    prev = torch.full((b, n), -1, dtype=torch.long, device=env.device)
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(steps):
            seen = current.obs if perturb is None else perturb(current.obs, prev, hidden, current.avail)
            q, hidden = mac.step_q(seen, prev, hidden)
            actions = greedy_actions(q, current.avail)
            _, terminated, _ = env.step(actions)
            prev = torch.where(terminated.unsqueeze(-1), -1, actions)  # a new episode has no last action
            hidden = hidden * (~terminated).repeat_interleave(n).view(1, -1, 1).to(hidden.dtype)
            current = env.observe()
    if env.device.type == "cuda":
        torch.cuda.synchronize()  # kernels still queued belong to the timed steps
    return (time.perf_counter() - start) / (steps * b)


def time_attacks(map_name: str, eps: float, envs: int, steps: int, device: str) -> dict[str, dict]:
    dev = torch.device(device)
    cfg = RunConfig().with_overrides({"env.map": map_name})
    env = make_env("sim", map_name, envs, 0, dev)
    torch.manual_seed(0)
    mac = AgentController(env.info, cfg.qmix, dev)
    acting_seconds_per_step(mac, env, None, 10)  # warm-up, so that the first attack timed is not penalised
    out = {}
    for name in ATTACKS.names():
        attack = ATTACKS.get(name)
        options = attack.config(**({"adversary_steps": 0} if hasattr(attack.config, "adversary_steps") else {}))
        ctx = AttackContext(mac, eps, RunGenerators.single(0, dev), cfg, None, options)
        out[name] = {"s_per_step": acting_seconds_per_step(mac, env, attack.make(ctx), steps)}
    for kind in ("atla", "paad"):  # one-off cost: PPO iterations against the victim
        acfg = AdversaryConfig()
        trainer = AdversaryTrainer(
            new_adversary(kind, env.info, acfg, 0, dev), mac, make_env("sim", map_name, acfg.rollout_envs, 1, dev),
            acfg, 0, False, PGD_STEPS, 0,
        )  # fmt: skip
        start = time.perf_counter()
        for _ in range(5):
            trainer.iteration(eps)
        out[kind]["train_s_per_step"] = (time.perf_counter() - start) / trainer.env_steps
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="3m")
    parser.add_argument("--eps", type=float, default=0.1, help="train eps of the robust methods and test eps of the attacks")
    parser.add_argument("--iterations", type=int, default=20, help="timed training iterations per method")
    parser.add_argument("--envs", type=int, default=32, help="environments acting together when timing attacks")
    parser.add_argument("--steps", type=int, default=60, help="timed acting steps per attack")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    configure_threads(1)
    console = Console()

    methods = {}
    for name in METHODS.names():
        methods[name] = time_method(args.map, name, args.eps, args.iterations, args.device)
        console.print(f"timed {name}: {methods[name]['steps']} env steps", style="dim")
    table = Table("method", "env steps timed", "wall s / 1M env steps", "ratio to vanilla",
                  title=f"training cost on {args.map} (train eps {args.eps:g}, pymarl2 settings)")  # fmt: skip
    base = methods["vanilla"]["s_per_m"]
    for name, r in methods.items():
        table.add_row(name, f"{r['steps']:,}", f"{r['s_per_m']:,.0f}", f"{r['s_per_m'] / base:.1f}x")
    console.print(table)

    attacks = time_attacks(args.map, args.eps, args.envs, args.steps, args.device)
    table = Table("attack", "ms / env step", "ratio to clean", "training: ms / adversary env step",
                  title=f"attack overhead on {args.map} (eps {args.eps:g}, {args.envs} envs, greedy acting)")  # fmt: skip
    clean = attacks["none"]["s_per_step"]
    for name, r in attacks.items():
        train = f"{r['train_s_per_step'] * 1e3:.2f}" if "train_s_per_step" in r else ""
        table.add_row(name, f"{r['s_per_step'] * 1e3:.3f}", f"{r['s_per_step'] / clean:.1f}x", train)
    console.print(table)
    console.print(f"torch {torch.__version__}, 1 thread, device {args.device}")


if __name__ == "__main__":
    main()
