"""Run records: atomic writes and schema validation."""

import json

import pytest

from benchmark.records import (
    EVAL_COLUMNS,
    TRAIN_COLUMNS,
    RecordError,
    append_csv,
    atomic_save,
    find_runs,
    load_run,
    read_csv_rows,
    write_csv,
    write_json,
    write_yaml,
)


def _row(steps: int) -> dict:
    return dict(env_steps=steps, test_win_rate=0.5, test_return=10.0, loss=0.1, epsilon=0.05, wall_seconds=1.0)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "train.csv"
    write_csv(path, [_row(1)], TRAIN_COLUMNS)
    before = path.read_text()

    def explode(handle):
        handle.write(b"half a file")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_save(path, explode)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["train.csv"]


def test_append_keeps_rows_in_order(tmp_path):
    path = tmp_path / "train.csv"
    append_csv(path, [_row(1)], TRAIN_COLUMNS)
    append_csv(path, [_row(2), _row(3)], TRAIN_COLUMNS)
    assert [r["env_steps"] for r in read_csv_rows(path, TRAIN_COLUMNS)] == [1, 2, 3]


def _run(tmp_path, name="run"):
    run = tmp_path / name
    write_yaml(run / "config.yaml", {"env": {"map": "3m"}})
    write_json(run / "manifest.json", {"seed": 0})
    write_csv(run / "train.csv", [_row(1)], TRAIN_COLUMNS)
    return run


def test_load_run_reads_a_valid_run(tmp_path):
    record = load_run(_run(tmp_path))
    assert record.config["env"]["map"] == "3m"
    assert list(record.train["env_steps"]) == [1]
    assert list(record.eval.columns) == list(EVAL_COLUMNS) and record.eval.empty


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda run: (run / "manifest.json").unlink(), "missing manifest.json"),
        (lambda run: (run / "manifest.json").write_text("{not json"), "unreadable"),
        (lambda run: (run / "train.csv").write_text("env_steps,loss\n1,2\n"), "missing column"),
        (lambda run: (run / "train.csv").write_text(",".join(TRAIN_COLUMNS) + "\nx,1,1,1,1,1\n"), "non-numeric"),
    ],
)
def test_load_run_names_what_is_wrong(tmp_path, damage, message):
    run = _run(tmp_path)
    damage(run)
    with pytest.raises(RecordError, match=message):
        load_run(run)


def test_find_runs_walks_a_sweep_root(tmp_path):
    a, b = _run(tmp_path, "x/a"), _run(tmp_path, "y/z/b")
    (tmp_path / "empty").mkdir()
    assert find_runs([tmp_path]) == sorted([a, b])
    assert find_runs([a]) == [a]
    assert json.loads((a / "manifest.json").read_text()) == {"seed": 0}
