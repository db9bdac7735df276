"""Host memory of a run group with full replay buffers (pymarl2's 5,000 episodes per run).

    .venv/bin/python -m bench.bench_memory [--map 2s3z] [--runs 9] [--method vanilla] [--buffer-dtype float16]

Builds the group, writes every replay-buffer entry of every run (an untouched buffer costs nothing yet: its
pages are only mapped), marks every step as played so that updates run on full-length episodes, runs a
few iterations (collection plus one learner update each), and prints the buffers' size and the process's
peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import torch

from bench.trainer_timing import time_iterations
from benchmark.config import RunConfig
from benchmark.train import GroupTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="2s3z")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--method", default="vanilla")
    parser.add_argument("--buffer-dtype", default="float16")
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    base = RunConfig().with_overrides({
        "env.map": args.map, "method.name": args.method, "qmix.buffer_dtype": args.buffer_dtype,
        "method.train_eps": 0.0 if args.method == "vanilla" else 0.1,
    })  # fmt: skip
    cfgs = [base.with_overrides({"train.seed": s}) for s in range(args.runs)]
    with tempfile.TemporaryDirectory() as tmp:
        trainer = GroupTrainer(cfgs, [Path(tmp) / str(k) for k in range(args.runs)])
        buffer = trainer.buffer
        with torch.no_grad():
            for tensor in buffer.data.tensors().values():
                tensor.fill_(1)
        buffer.size = [buffer.capacity] * buffer.runs
        held = sum(t.numel() * t.element_size() for t in buffer.data.tensors().values())
        steps, seconds = time_iterations(trainer, args.iterations)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"{args.runs} runs of {args.method} on {args.map}, buffers {args.buffer_dtype}, {buffer.capacity} episodes each")
    print(f"replay buffers: {held / 2**30:.2f} GiB; peak resident memory: {peak / 2**30:.2f} GiB "
          f"({args.iterations} iterations, {steps} env steps in {seconds:.1f} s)")


if __name__ == "__main__":
    main()
