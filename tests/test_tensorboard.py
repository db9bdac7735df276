"""train.tensorboard: event files per run that TensorBoard's own reader reads back, at train.csv's test
rounds, with every method's scalars; a resumed run's rounds are neither duplicated nor lost."""

import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from benchmark.errors import UserError
from benchmark.methods.policy_reg import PolicyRegConfig
from benchmark.records import TRAIN_COLUMNS, TRAIN_FILE, read_csv_rows
from benchmark.tb_log import TB_DIR
from benchmark.train import train, train_group
from test_groups import tiny

COMMON = {"test/win_rate", "test/return", "train/epsilon", "train/loss", "train/grad_norm", "speed/env_steps_per_s"}
ADVERSARY = {f"adversary/{k}" for k in ("policy_loss", "value_loss", "entropy", "victim_win_rate", "adversary_return")}


def logged(cfg):
    return cfg.with_overrides({"train.tensorboard": True})


def events(run_dir) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir / TB_DIR))
    acc.Reload()
    return acc


def steps(acc: EventAccumulator, tag: str) -> list[int]:
    return [e.step for e in acc.Scalars(tag)]


def test_event_files_hold_the_test_rounds_of_train_csv(tmp_path):
    train(logged(tiny("vanilla", 0, 0.0, steps=1000)), tmp_path / "run")
    rows = read_csv_rows(tmp_path / "run" / TRAIN_FILE, TRAIN_COLUMNS)
    acc = events(tmp_path / "run")
    assert set(acc.Tags()["scalars"]) == COMMON
    assert steps(acc, "test/win_rate") == [r["env_steps"] for r in rows]
    assert [e.value for e in acc.Scalars("test/return")] == pytest.approx([r["test_return"] for r in rows], rel=1e-6)
    # No update before the buffer can sample: losses from the second round on, each round's mean as in train.csv.
    assert [e.value for e in acc.Scalars("train/loss")] == pytest.approx([r["loss"] for r in rows[1:]], rel=1e-5)
    assert all(e.value > 0 for e in acc.Scalars("train/grad_norm"))
    assert steps(acc, "speed/env_steps_per_s") == [r["env_steps"] for r in rows[1:]]


def test_each_run_of_a_group_writes_its_own_event_dir(tmp_path):
    cfgs = [logged(tiny("adv_train", 3, 0.1)), logged(tiny("adv_train", 8, 0.05, steps=1000))]
    dirs = [tmp_path / "g0", tmp_path / "g1"]
    train_group(cfgs, dirs)
    last_eps = []
    for run_dir in dirs:
        acc = events(run_dir)
        assert steps(acc, "test/win_rate") == [r["env_steps"] for r in read_csv_rows(run_dir / TRAIN_FILE, TRAIN_COLUMNS)]
        last_eps.append(acc.Scalars("train/eps")[-1].value)
    assert last_eps == pytest.approx([0.1, 0.05])  # past the ramp: each run logs its own train eps


@pytest.mark.parametrize(("method", "expected"), [
    ("policy_reg", {"train/td_loss", "train/regulariser", "train/eps", "train/kappa"}),
    ("atla", {"train/eps"} | ADVERSARY),
])  # fmt: skip
def test_methods_log_their_own_scalars(tmp_path, method, expected):
    train(logged(tiny(method, 0, 0.1, steps=1000)), tmp_path / "run")
    acc = events(tmp_path / "run")
    assert set(acc.Tags()["scalars"]) == COMMON | expected
    if method == "policy_reg":
        assert acc.Scalars("train/kappa")[-1].value == pytest.approx(PolicyRegConfig().kappa)  # kappa ramps with eps, both full here
        assert acc.Scalars("train/regulariser")[-1].value != 0
    else:
        assert all(0 <= e.value <= 1 for e in acc.Scalars("adversary/victim_win_rate"))


class Interrupted(Exception):
    pass


def test_a_resumed_run_logs_each_round_once(tmp_path):
    cfg = logged(tiny("vanilla", 0, 0.0)).with_overrides({"train.checkpoint_interval": 600})
    run_dir = tmp_path / "run"

    def stop_after_round_past_checkpoint(progress, row):
        if row is not None and progress.last_checkpoint and row["env_steps"] > progress.last_checkpoint:
            raise Interrupted

    with pytest.raises(Interrupted):
        train(cfg, run_dir, stop_after_round_past_checkpoint)
    written = steps(events(run_dir), "test/win_rate")
    train(cfg, run_dir)
    rows = read_csv_rows(run_dir / TRAIN_FILE, TRAIN_COLUMNS)
    acc = events(run_dir)
    assert set(written) < {r["env_steps"] for r in rows}  # the interrupted run had logged a round it redoes
    for tag in ("test/win_rate", "train/loss", "speed/env_steps_per_s"):
        assert steps(acc, tag) == sorted(set(steps(acc, tag))), tag
    assert steps(acc, "test/win_rate") == [r["env_steps"] for r in rows]
    assert [e.value for e in acc.Scalars("test/return")] == pytest.approx([r["test_return"] for r in rows], rel=1e-6)
    # The checkpoint holds the updates' scalars since its round: the redone round's mean loss is train.csv's.
    assert [e.value for e in acc.Scalars("train/loss")] == pytest.approx([r["loss"] for r in rows[1:]], rel=1e-5)


def test_off_by_default_writes_no_events(tmp_path):
    train(tiny("vanilla", 0, 0.0, steps=500), tmp_path / "run")
    assert (tmp_path / "run" / TRAIN_FILE).exists()
    assert not (tmp_path / "run" / TB_DIR).exists()


def test_enabled_without_tensorboard_installed_is_one_line_before_any_file(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # its import now fails as when not installed
    with pytest.raises(UserError, match=r"pip install 'robust-qmix\[tensorboard\]'"):
        train(logged(tiny("vanilla", 0, 0.0, steps=500)), tmp_path / "run")
    assert not (tmp_path / "run" / TRAIN_FILE).exists()


def test_logging_may_be_switched_on_when_a_run_is_extended(tmp_path):
    run = tmp_path / "run"
    train(tiny("vanilla", 0, 0.0, steps=600), run)
    assert not (run / TB_DIR).exists()
    done = read_csv_rows(run / TRAIN_FILE, TRAIN_COLUMNS)[-1]["env_steps"]
    train(logged(tiny("vanilla", 0, 0.0, steps=1200)), run)  # the same experiment, logged from here on
    rows = read_csv_rows(run / TRAIN_FILE, TRAIN_COLUMNS)
    assert steps(events(run), "test/win_rate") == [r["env_steps"] for r in rows if r["env_steps"] > done] != []
    with pytest.raises(UserError, match="different config.*qmix.lr"):
        train(logged(tiny("vanilla", 0, 0.0, steps=1800)).with_overrides({"qmix.lr": 1e-4}), run)
