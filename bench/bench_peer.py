"""Env-steps per second of the built-in simulator against JaxMARL's SMAX, on one CPU core, as a table.

Both step B battles of one map with uniformly random available actions, one batched step per Python call,
alternating in rounds so that both see the same load. SMAX is `HeuristicEnemySMAX` (SMAX's scripted enemy,
the closest it has to SMAC's built-in AI), jitted with `vmap` over B; its compile time is measured apart
and left out of its rate. The process is pinned to one core, torch to one thread and XLA to one thread.
Needs the `peer` extra (`pip install -e '.[peer]'`). Run with `.venv/bin/python -m bench.bench_peer`.

The two are not the same simulation (SMAX has its own unit model, observations and enemy AI), so the ratio
compares the cost of one SMAC-like step, not identical work.
"""

from __future__ import annotations

import argparse
import os
import time

# XLA reads its flags when it starts: one thread, no Eigen thread pool, CPU only.
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
os.environ["JAX_PLATFORMS"] = "cpu"

import torch  # noqa: E402

from bench.bench_sim import random_actions  # noqa: E402
from benchmark.envs.sim import SimEnv  # noqa: E402

MAPS = ("3m", "2s3z")  # SMAX has scenarios of these names
BATCH_SIZES = (1, 8, 64, 256, 1024)


class SmaxBatch:
    """B SMAX battles stepped by one jitted, vmapped call (random available actions, auto-reset)."""

    def __init__(self, map_name: str, batch_size: int, seed: int = 0) -> None:
        jax, jnp, env = _smax_env(map_name)
        self._jax = jax

        def one(key, state):
            key, act_key, step_key = jax.random.split(key, 3)
            avail = env.get_avail_actions(state)
            avail = jnp.stack([avail[a] for a in env.agents]).astype(bool)
            scores = jnp.where(avail, jax.random.uniform(act_key, avail.shape), -1.0)
            actions = scores.argmax(-1)
            obs, state, reward, done, _ = env.step(step_key, state, {a: actions[i] for i, a in enumerate(env.agents)})
            # returned so that XLA computes what sim computes each step: observations, state, reward, end
            return key, state, obs, reward[env.agents[0]], done["__all__"]

        keys = jax.random.split(jax.random.PRNGKey(seed), batch_size)
        start = time.perf_counter()
        _, self.state = jax.block_until_ready(jax.jit(jax.vmap(env.reset))(keys))
        self._step = jax.jit(jax.vmap(one))
        self.keys, self.state, *_ = jax.block_until_ready(self._step(keys, self.state))
        self.compile_seconds = time.perf_counter() - start

    def run(self, steps: int) -> None:
        out = None
        for _ in range(steps):
            self.keys, self.state, *out = self._step(self.keys, self.state)
        self._jax.block_until_ready(out)


def _smax_env(map_name: str):
    try:
        import jax
        import jax.numpy as jnp
        from jaxmarl import make
        from jaxmarl.environments.smax import map_name_to_scenario
    except ImportError as err:
        raise SystemExit(f"bench_peer needs the peer extra (pip install -e '.[peer]'): {err}") from None
    return jax, jnp, make("HeuristicEnemySMAX", scenario=map_name_to_scenario(map_name))


class SimBatch:
    def __init__(self, map_name: str, batch_size: int) -> None:
        self.env = SimEnv(map_name, batch_size, seed=0)
        self.generator = torch.Generator().manual_seed(0)
        self.run(5)  # warm-up

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.env.step(random_actions(self.env.observe().avail, self.generator))


def timed_rate(engine, batch_size: int, seconds: float) -> tuple[int, float]:
    """(env steps, seconds) of whole 10-step chunks run for about `seconds`."""
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        engine.run(10)
        steps += 10
    return steps * batch_size, time.perf_counter() - start


def compare(map_name: str, batch_size: int, seconds: float, rounds: int) -> tuple[float, float, float]:
    """(sim env-steps/s, SMAX env-steps/s, SMAX compile seconds), alternating the two `rounds` times."""
    sim, smax = SimBatch(map_name, batch_size), SmaxBatch(map_name, batch_size)
    smax.run(5)
    totals = {"sim": [0, 0.0], "smax": [0, 0.0]}
    for _ in range(rounds):
        for name, engine in (("sim", sim), ("smax", smax)):
            steps, spent = timed_rate(engine, batch_size, seconds / rounds)
            totals[name][0] += steps
            totals[name][1] += spent
    return totals["sim"][0] / totals["sim"][1], totals["smax"][0] / totals["smax"][1], smax.compile_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per engine and cell")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two engines per cell")
    parser.add_argument("--maps", default=",".join(MAPS))
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    torch.set_num_threads(1)
    print(f"one core (cpu {min(os.sched_getaffinity(0))}), torch threads {torch.get_num_threads()}, "
          "XLA one thread; env-steps/s, random valid actions")
    print(f"{'map':<6}{'B':>6}{'sim':>12}{'SMAX':>12}{'sim/SMAX':>10}{'SMAX compile s':>16}")
    for map_name in args.maps.split(","):
        for batch_size in map(int, args.batch_sizes.split(",")):
            sim_rate, smax_rate, compile_s = compare(map_name, batch_size, args.seconds, args.rounds)
            print(f"{map_name:<6}{batch_size:>6}{sim_rate:>12,.0f}{smax_rate:>12,.0f}"
                  f"{sim_rate / smax_rate:>9.2f}x{compile_s:>16.1f}", flush=True)


if __name__ == "__main__":
    main()
