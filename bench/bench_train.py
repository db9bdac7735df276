"""End-to-end training throughput (collect + learn) at pymarl2's settings.

    .venv/bin/python -m bench.bench_train [--maps 3m,2s3z] [--batch-envs 8,32] [--threads 1] [--device cpu]

Fills the replay buffer to one batch first, then times the trainer's own iterations (collect `batch_envs`
episodes with epsilon-greedy acting, one learner update on `batch_size` episodes, as pymarl2 does with 8
parallel environments) and prints env-steps/s and the share of the time spent in the learner.
"""

from __future__ import annotations

import argparse
import tempfile

import torch
from rich.console import Console
from rich.table import Table

from bench.trainer_timing import fill_buffer, time_learning
from benchmark.config import RunConfig
from benchmark.train import Trainer


def measure(map_name: str, batch_envs: int, iterations: int, device: str, threads: int) -> dict:
    settings = {"env.map": map_name, "env.batch_envs": batch_envs, "train.device": device, "train.threads": threads}
    cfg = RunConfig().with_overrides(settings)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, tmp)
        fill_buffer(trainer)
        steps, elapsed, learn = time_learning(trainer, iterations)
    return {"steps_per_s": steps / elapsed, "learn_share": learn / elapsed, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", default="3m,2s3z")
    parser.add_argument("--batch-envs", default="8,32")
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--device", default="cpu")
    # 1 (train.threads' default) suits parallel runs; a single run on an otherwise idle machine gains from more.
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads per run")
    args = parser.parse_args()
    table = Table("map", "batch_envs", "env steps", "env-steps/s", "learning share", title="training throughput")
    for map_name in args.maps.split(","):
        for batch_envs in map(int, args.batch_envs.split(",")):
            r = measure(map_name, batch_envs, args.iterations, args.device, args.threads)
            table.add_row(map_name, str(batch_envs), str(r["steps"]), f"{r['steps_per_s']:,.0f}", f"{r['learn_share']:.0%}")
    Console().print(table)
    Console().print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")


if __name__ == "__main__":
    main()
