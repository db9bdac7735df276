"""Optional TensorBoard event files (train.tensorboard): one folder per run, RUN_DIR/tensorboard/, written
at each test round with the run's env steps as the global step. They are for watching runs; train.csv
stays the record that reports and resumes rely on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmark.errors import UserError

TB_DIR = "tensorboard"


def _summary_writer() -> type:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UserError("train.tensorboard needs the tensorboard package: pip install 'robust-qmix[tensorboard]'") from None
    return SummaryWriter


def round_scalars(row: dict, previous: dict | None, means: dict[str, float]) -> dict[str, float]:
    """A test round's tags: its train.csv row, the means of what was logged since the previous round, and
    the env steps per wall-clock second since that round."""
    out = {"test/win_rate": row["test_win_rate"], "test/return": row["test_return"], "train/epsilon": row["epsilon"], **means}
    if previous is not None and row["wall_seconds"] > previous["wall_seconds"]:
        seconds = row["wall_seconds"] - previous["wall_seconds"]
        out["speed/env_steps_per_s"] = (row["env_steps"] - previous["env_steps"]) / seconds
    return out


class TensorBoardSink:
    """One SummaryWriter per run of a group, opened at the run's first round of this process (so a run
    with nothing left to do writes nothing); does nothing when disabled."""

    def __init__(self, run_dirs: Sequence[Path], enabled: bool) -> None:
        self.run_dirs = list(run_dirs)
        self._writer_class = _summary_writer() if enabled else None
        self._writers: dict[int, object] = {}

    @property
    def enabled(self) -> bool:
        return self._writer_class is not None

    def log_round(self, run: int, step: int, scalars: dict[str, float]) -> None:
        if not self.enabled:
            return
        writer = self._writer(run, step)
        for tag, value in scalars.items():
            writer.add_scalar(tag, value, step)
        writer.flush()  # a round is minutes apart: let a live `tensorboard` see it now

    def _writer(self, run: int, step: int):
        if run not in self._writers:
            # A resumed run recomputes the rounds after its checkpoint at the same steps, the first of them
            # here: events an interrupted process wrote from this step on are dropped by TensorBoard's reader
            # rather than shown twice.
            self._writers[run] = self._writer_class(str(self.run_dirs[run] / TB_DIR), purge_step=step)
        return self._writers[run]

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
