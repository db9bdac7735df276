"""Run groups against separate processes: aggregate training env-steps/s at pymarl2's settings.

    .venv/bin/python -m bench.bench_group [--maps 3m,2s3z] [--methods vanilla,adv_train] [--sizes 1,3,9]
                                          [--seconds 20] [--device cpu] [--cpu-time --group-threads 1]

For each map, method and K it measures (1) one process training a group of K runs (K seeds), with torch's
default thread count (every core), and (2) K separate single-run processes of one thread each started
together, sharing the machine's cores as a sweep's workers would.
Both fill every replay buffer to one batch first (untimed), then count env steps of all K runs over the
same wall-clock window. Robust methods are timed at their full train eps (0.1, the ramp already done).
The last line is the headline figure: `group speedup (K=9, vanilla, 3m): X.XXx`. `--cpu-time` instead
counts each group's env steps per CPU-second of its process (steadier on a shared machine; groups only).
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.trainer_timing import fill_buffer, time_for
from benchmark.config import RunConfig
from benchmark.train import GroupTrainer

FULL_STRENGTH = 1_000_000  # train.steps of the timed runs; timing starts past the ramp (eps at full value)


def configs(map_name: str, method: str, runs: int, device: str, threads: int = 1) -> list[RunConfig]:
    base = RunConfig().with_overrides({
        "env.map": map_name, "method.name": method, "method.train_eps": 0.0 if method == "vanilla" else 0.1,
        "train.steps": FULL_STRENGTH, "train.device": device, "train.threads": threads,
    })  # fmt: skip
    return [base.with_overrides({"train.seed": seed}) for seed in range(runs)]


def measure_group(cfgs: list[RunConfig], seconds: float, start=None, clock=time.perf_counter) -> int:
    """Env steps a group of these runs takes in `seconds` (after an untimed warm-up); `start`: a barrier to
    wait at before timing, so that separate processes measure the same window."""
    with tempfile.TemporaryDirectory() as tmp:
        trainer = GroupTrainer(cfgs, [Path(tmp) / str(k) for k in range(len(cfgs))])
        for p in trainer.progress:
            p.env_steps = p.episodes = int(getattr(cfgs[0].method, "ramp_end", 0.0) * FULL_STRENGTH)
        fill_buffer(trainer)
        if start is not None:
            start.wait()
        steps, elapsed = time_for(trainer, seconds, clock)
    return round(steps * seconds / elapsed)


def _one_process(cfg: RunConfig, seconds: float, start, out) -> None:
    out.put(measure_group([cfg], seconds, start))


def measure_separate(cfgs: list[RunConfig], seconds: float) -> int:
    """Env steps K single-run processes take together in the same window of `seconds`."""
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(len(cfgs)), context.Queue()
    workers = [context.Process(target=_one_process, args=(cfg, seconds, start, out)) for cfg in cfgs]
    for w in workers:
        w.start()
    total = sum(out.get() for _ in workers)
    for w in workers:
        w.join()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", default="3m,2s3z")
    parser.add_argument("--methods", default="vanilla,adv_train")
    parser.add_argument("--sizes", default="1,3,9")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed window per measurement")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--group-threads", type=int, default=0, help="torch threads of the group process (0: every core)")
    parser.add_argument("--no-separate", action="store_true", help="time the groups only (e.g. K=39 on one GPU)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="groups only, env steps per CPU-second of the process (use with --group-threads 1)")
    args = parser.parse_args()
    sizes = [int(k) for k in args.sizes.split(",")]
    unit = "env-steps per CPU-s" if args.cpu_time else "env-steps/s"
    table = Table("map", "method", "K", f"group {unit}", f"separate {unit}", "speedup", title="run groups")
    speedups, rates = {}, {}
    for map_name in args.maps.split(","):
        for method in args.methods.split(","):
            for k in sizes:
                # The group owns the machine (torch's default threads: every core); the separate processes
                # take one thread each, as a sweep's workers do.
                cfgs = configs(map_name, method, k, args.device, threads=args.group_threads)
                clock = time.process_time if args.cpu_time else time.perf_counter
                group = measure_group(cfgs, args.seconds, clock=clock) / args.seconds
                rates[(k, method, map_name)] = group
                if args.no_separate or args.cpu_time:
                    table.add_row(map_name, method, str(k), f"{group:,.0f}", "-", "-")
                    continue
                separate = measure_separate(configs(map_name, method, k, args.device), args.seconds) / args.seconds
                speedups[(k, method, map_name)] = group / separate
                table.add_row(map_name, method, str(k), f"{group:,.0f}", f"{separate:,.0f}", f"{group / separate:.2f}x")
    Console().print(table)
    key = (max(sizes), "vanilla", "3m")
    if key in rates:
        print(f"aggregate (K={key[0]}, vanilla, 3m, {args.device}): {rates[key]:,.0f} {unit}")
    if key in speedups:
        print(f"group speedup (K={key[0]}, vanilla, 3m): {speedups[key]:.2f}x")


if __name__ == "__main__":
    main()
