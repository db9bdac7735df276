"""Env-steps per second of the simulator through SMAC's and PettingZoo's interfaces against the batched class.

Random legal actions drawn from each interface's own masks, one thread. Run with
`.venv/bin/python -m bench.bench_api [--map 3m] [--seconds 5]` (the PettingZoo row needs the `pettingzoo` extra).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from bench.bench_sim import env_steps_per_second
from benchmark.envs.smac_api import StarCraft2Env


def _rate(step: Callable[[], None], seconds: float) -> float:
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps / (time.perf_counter() - start)


def smac_rate(map_name: str, seconds: float) -> float:
    env, rng = StarCraft2Env(map_name=map_name, seed=0), np.random.default_rng(0)
    env.reset()

    def step() -> None:
        actions = [rng.choice(np.nonzero(env.get_avail_agent_actions(a))[0]) for a in range(env.n_agents)]
        if env.step(actions)[1]:
            env.reset()
    return _rate(step, seconds)


def pettingzoo_rate(map_name: str, seconds: float) -> float:
    from benchmark.envs.pettingzoo_env import SimParallelEnv

    env, rng = SimParallelEnv(map_name), np.random.default_rng(0)
    observations = env.reset(seed=0)[0]

    def step() -> None:
        nonlocal observations
        actions = {a: int(rng.choice(np.flatnonzero(observations[a]["action_mask"]))) for a in env.agents}
        observations = env.step(actions)[0]
        if not env.agents:
            observations = env.reset()[0]
    return _rate(step, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="3m")
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per row")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = {"StarCraft2Env (SMAC API)": smac_rate(args.map, args.seconds),
            "SimParallelEnv (PettingZoo)": pettingzoo_rate(args.map, args.seconds)}
    for batch_size in (1, 256):
        rows[f"SimEnv, B = {batch_size}"] = env_steps_per_second(args.map, batch_size, torch.device("cpu"),
                                                                 args.seconds)
    for name, rate in rows.items():
        print(f"{name:<30}{rate:>12,.0f} env-steps/s on {args.map}")


if __name__ == "__main__":
    main()
