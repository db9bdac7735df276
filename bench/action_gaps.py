"""How far apart a trained policy's action values lie: the scale policy_reg's hinge margin is set on.

    .venv/bin/python -m bench.action_gaps RUN [RUN ...] [--episodes 128] [--model last|best]

Plays greedy clean episodes with each run's model (the evaluation's battles) and, over the decisions of
living agents with a choice (two or more available actions), prints quartiles of the gap between the
best and the second-best available action, of the range (best minus worst), of the gap in units of the
mean range (the unit of policy_reg's hinge), the share of decisions whose gap in those units is below
each candidate margin (where the hinge would still be active without any attack), and the mean of each
agent's best Q (a policy that inflates its Q-values shows up here).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from benchmark.evaluate import evaluation_seed, load_policy
from benchmark.streams import RunGenerators
from benchmark.envs import make_env
from benchmark.qmix.learner import previous_actions
from benchmark.runner import EpisodeRunner

MARGINS = (0.05, 0.1, 0.2, 0.5)


@torch.no_grad()
def action_gaps(run_dir: Path, episodes: int, model: str) -> dict[str, float]:
    cfg, mac = load_policy(run_dir, torch.device("cpu"), model)
    seed = evaluation_seed(cfg.train.seed)
    env = make_env(cfg.env.backend, cfg.env.map, episodes, seed, torch.device("cpu"))
    batch, stats = EpisodeRunner(env, mac, RunGenerators.single(seed, torch.device("cpu"))).run(epsilon=0.0)
    env.close()
    q = mac.sequence_q(batch.obs, previous_actions(batch.actions))[:, :-1]
    avail = batch.avail[:, :-1]
    choice = (avail.sum(dim=-1) > 1) & batch.filled.bool().unsqueeze(-1)
    top2 = q.masked_fill(~avail, float("-inf")).topk(2, dim=-1).values[choice]
    worst = q.masked_fill(~avail, float("inf")).amin(dim=-1)[choice]
    gap, spread = top2[:, 0] - top2[:, 1], top2[:, 0] - worst
    relative = gap / spread.mean()
    row = {"map": cfg.env.map, "method": cfg.method.name, "decisions": int(choice.sum()), "win rate": float(stats.won.mean())}
    for name, values in (("gap", gap), ("range", spread), ("gap / mean range", relative)):
        quartiles = torch.quantile(values, torch.tensor([0.25, 0.5, 0.75]))
        row[name] = " / ".join(f"{v:.3g}" for v in quartiles.tolist())
    for margin in MARGINS:
        row[f"< {margin:g}"] = f"{float((relative < margin).float().mean()):.2f}"
    row["mean best Q"] = f"{float(top2[:, 0].mean()):.3g}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--episodes", type=int, default=128)
    parser.add_argument("--model", choices=("last", "best"), default="last")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [action_gaps(run, args.episodes, args.model) for run in args.runs]
    table = Table(*rows[0], title="action-value gaps, quartiles 25 / 50 / 75%, clean greedy decisions with a choice")
    for row in rows:
        table.add_row(*map(str, row.values()))
    Console(width=250).print(table)


if __name__ == "__main__":
    main()
