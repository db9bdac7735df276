"""Two reports' summaries side by side: win rate and mean return per cell, before and after, as Markdown.

    .venv/bin/python -m bench.before_after BEFORE/summary.csv AFTER/summary.csv [--cells none:0,pgd:0.05,pgd:0.1]

One row per (map, method, train eps), one column per ATTACK:EPS cell: `before -> after` win rate in
percent with the mean return in brackets, since a win rate that sits at 0 or 1 cannot rank methods or
attacks and the return still can. A cell missing on one side shows `-`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

KEYS = ["map", "method", "train_eps"]


def cell(row: pd.Series | None) -> str:
    return "-" if row is None else f"{100 * row['mean']:.0f} ({row['return_mean']:.1f})"


def side_by_side(before: pd.DataFrame, after: pd.DataFrame, columns: list[tuple[str, float]]) -> str:
    def lookup(frame: pd.DataFrame) -> dict:
        return {tuple(r[k] for k in [*KEYS, "attack", "test_eps"]): r for _, r in frame.iterrows()}

    old, new = lookup(before), lookup(after)
    lines = [
        "| map | method | train eps | " + " | ".join(f"{a} ε={e:g}" for a, e in columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for key in after[KEYS].drop_duplicates().itertuples(index=False):
        cells = [f"{cell(old.get((*key, a, e)))} → {cell(new.get((*key, a, e)))}" for a, e in columns]
        lines.append(f"| {key.map} | {key.method} | {key.train_eps:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--cells", default="none:0,pgd:0.05,pgd:0.1", help="comma-separated ATTACK:EPS columns")
    args = parser.parse_args()
    columns = [(attack, float(eps)) for attack, _, eps in (c.rpartition(":") for c in args.cells.split(","))]
    print(side_by_side(pd.read_csv(args.before), pd.read_csv(args.after), columns))


if __name__ == "__main__":
    main()
