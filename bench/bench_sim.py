"""Env-steps per second of the built-in simulator (random valid actions), as a table.

An env-step is one environment advancing one step, so a batched step of B environments counts B. Run with
`.venv/bin/python -m bench.bench_sim [--threads N] [--device cuda]`; numbers depend on what else the machine
is running.
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmark.envs.sim import SimEnv

MAPS = ("3m", "2s3z")
BATCH_SIZES = (1, 8, 64, 256, 1024)  # 8..300: what training steps (8 envs per run, run groups of K x 8)


def random_actions(avail: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One uniformly random available action per agent, without multinomial's per-row overhead."""
    scores = torch.rand(avail.shape, generator=generator, device=avail.device).masked_fill(~avail, -1.0)
    return scores.argmax(-1)


def env_steps_per_second(map_name: str, batch_size: int, device: torch.device, seconds: float) -> float:
    env = SimEnv(map_name, batch_size, seed=0, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    for _ in range(5):  # warm-up
        env.step(random_actions(env.observe().avail, generator))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            env.step(random_actions(env.observe().avail, generator))
        steps += 10
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # One thread is fastest here: each op touches a few thousand numbers, too few to pay for a thread pool.
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per cell")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device {device}, torch threads {torch.get_num_threads()}, env-steps/s (random valid actions)")
    print(f"{'map':<8}" + "".join(f"{f'B={b}':>14}" for b in BATCH_SIZES))
    for map_name in MAPS:
        rates = [env_steps_per_second(map_name, b, device, args.seconds) for b in BATCH_SIZES]
        print(f"{map_name:<8}" + "".join(f"{rate:>14,.0f}" for rate in rates))


if __name__ == "__main__":
    main()
