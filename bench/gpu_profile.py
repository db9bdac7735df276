"""Where a run group's time goes on a GPU: acting against learning, kernels launched and host syncs.

    python -m bench.gpu_profile [--map 3m] [--method vanilla] [--runs 39] [--iterations 10]

A group of small networks leaves a GPU idle when the host cannot launch kernels fast enough or waits on
the device inside an iteration. This prints, per trainer iteration of a K-run group (buffers filled first,
untimed): the wall time of collecting and of learning (each closed by a device sync), the kernels launched,
the host-device syncs and copies, and the GPU's busy share (its kernels' summed time over the wall time).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from bench.bench_group import configs
from bench.trainer_timing import fill_buffer, time_iterations, time_learning
from benchmark.train import GroupTrainer

SYNC_CALLS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaMemcpyAsync", "cudaEventSynchronize")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="3m")
    parser.add_argument("--method", default="vanilla")
    parser.add_argument("--runs", type=int, default=39)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--device", default="cuda", help="cuda (cpu only to try the script)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfgs = configs(args.map, args.method, args.runs, args.device)
        trainer = GroupTrainer(cfgs, [Path(tmp) / str(k) for k in range(len(cfgs))])
        fill_buffer(trainer)
        _, elapsed, learned = time_learning(trainer, args.iterations)
        collect, learn = (elapsed - learned) / args.iterations, learned / args.iterations
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            _, wall = time_iterations(trainer, args.iterations)
    events = prof.key_averages()
    per_it = {e.key: e.count / args.iterations for e in events}
    on_gpu = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    kernels = len(on_gpu) / args.iterations
    busy = sum(e.time_range.elapsed_us() for e in on_gpu) / 1e6 / wall
    print(f"{args.map} {args.method} K={args.runs}: {collect * 1e3:.1f} ms collecting + {learn * 1e3:.1f} ms learning"
          f" per iteration; {kernels:,.0f} GPU kernels and copies per iteration; GPU busy {busy:.0%} (profiled)")
    ops = sum(e.count for e in events if e.key.startswith("aten::")) / args.iterations
    print(f"torch ops dispatched per iteration (nested ones included): {ops:,.0f}")
    print("host calls per iteration: " + ", ".join(f"{name} {per_it.get(name, 0):,.0f}" for name in SYNC_CALLS + ("cudaLaunchKernel",)))
    print(events.table(sort_by="self_cuda_time_total", row_limit=12, max_name_column_width=60))


if __name__ == "__main__":
    main()
