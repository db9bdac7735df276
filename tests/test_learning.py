"""Real learning on the built-in simulator, at pymarl2's QMIX settings with a fixed seed.

The budget (env steps) is the CI-sized version of the learning curve in the README; the bar is a greedy
win rate over fresh evaluation battles, not the training log.
"""

import pytest

from benchmark.config import RunConfig
from benchmark.evaluate import evaluate
from benchmark.train import train

pytestmark = pytest.mark.slow

BUDGET_3M = 300_000  # the quick start's budget (README: 0.96 greedy on 128 battles with this seed)


def test_vanilla_qmix_learns_3m(tmp_path):
    cfg = RunConfig().with_overrides(
        {"env.map": "3m", "train.steps": BUDGET_3M, "train.test_interval": 50_000, "train.seed": 0}
    )
    trainer = train(cfg, tmp_path / "run")
    assert trainer.run_progress.env_steps >= BUDGET_3M
    (row,) = evaluate(tmp_path / "run", episodes=256)
    assert row["win_rate"] >= 0.8, f"greedy win rate {row['win_rate']:.3f} after {BUDGET_3M} env steps"
