"""`robust-qmix export`: finished runs copied without their resume state, still evaluable and reportable."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
import safetensors
import torch

from benchmark import model_files
from benchmark.config import RunConfig
from benchmark.errors import UserError
from benchmark.evaluate import evaluate
from benchmark.records import ALTERNATION_FILE, MANIFEST_FILE
from benchmark.report.runs import collect_runs
from benchmark.train import train
from cli_helpers import run_cli
from test_run_safety import one_line_error

SMALL = {
    "env.map": "3m", "env.batch_envs": 4, "train.steps": 600, "qmix.batch_size": 4, "qmix.buffer_size": 32,
    "train.test_interval": 300, "train.test_episodes": 4, "train.checkpoint_interval": 300,
}  # fmt: skip
RUN = Path("sim/3m/vanilla/eps0/seed0")
cli = partial(run_cli, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A finished, evaluated run with a learned adversary, and an unfinished one beside it."""
    root = tmp_path_factory.mktemp("runs")
    train(RunConfig().with_overrides(SMALL), root / RUN)
    # atla trains an adversary (briefly here) and keeps it in the run directory
    evaluate(root / RUN, 4, ["none", "atla"], [0.0, 0.1], options={"adversary_steps": 200})
    unfinished = root / "sim/3m/vanilla/eps0/seed1"
    train(RunConfig().with_overrides({**SMALL, "train.seed": 1}), unfinished)
    return root


def test_export_keeps_what_evaluation_and_reports_need_and_nothing_else(runs, tmp_path):
    out = tmp_path / "exported"
    done = cli("export", str(runs), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "left out" in done.stderr and "seed1" in done.stderr  # never evaluated: not exported
    assert (runs / RUN / "checkpoints/last.pt").is_file() and any((runs / RUN / "adversaries").iterdir())
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    models = [f"checkpoints/{stem}{suffix}" for stem in ("best", "model") for suffix in (".json", ".safetensors")]
    curves = sorted(f"adversaries/{p.name}" for p in (runs / RUN / "adversaries").glob("*.csv"))
    assert curves and not list((out / RUN).glob("adversaries/*.pt"))  # the learned attack's curve, not the attack
    shared = (*curves, *models, "config.yaml", "eval.csv", "eval.json", "manifest.json", "train.csv")
    assert files == [str(RUN / name) for name in shared]
    for name in ("config.yaml", "eval.csv", "eval.json", "train.csv", MANIFEST_FILE, *curves):
        assert (out / RUN / name).read_bytes() == (runs / RUN / name).read_bytes()
    for stem in ("model", "best"):  # the same models, converted
        assert model_files.identity(out / RUN / f"checkpoints/{stem}.safetensors") == model_files.identity(runs / RUN / f"checkpoints/{stem}.pt")

    # Evaluation needs only the model: a new cell is appended, the old ones stay (eval.json still names it).
    done = cli("evaluate", str(out / RUN), "--attacks", "none,fgsm", "--eps", "0.1", "--episodes", "4")
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(out / RUN / "eval.csv")
    assert len(rows) == 5 and list(rows["attack"][-1:]) == ["fgsm"] and (rows["attack"] == "none").sum() == 2
    assert len(collect_runs([out]).runs) == 1  # and the report stage accepts it

    # Training it again is refused: it cannot resume, and starting over would replace the shared model.
    done = cli("train", "--config", str(out / RUN / "config.yaml"), "--out", str(out / RUN))
    assert done.returncode == 1 and "exported without its resume state" in done.stderr
    assert not (out / RUN / "checkpoints/model.pt").exists()
    assert model_files.identity(out / RUN / "checkpoints/model.safetensors") == model_files.identity(runs / RUN / "checkpoints/model.pt")


def test_an_alternating_runs_adversary_curve_travels_and_an_export_over_it_keeps_no_stale_one(runs, tmp_path):
    source = tmp_path / "src"
    shutil.copytree(runs / RUN, source / RUN)
    (source / RUN / ALTERNATION_FILE).write_text("cycle,agent_env_steps\n1,1000\n")  # stands in for atla's
    out = tmp_path / "exported"
    assert cli("export", str(source), "--out", str(out)).returncode == 0
    assert (out / RUN / ALTERNATION_FILE).read_bytes() == (source / RUN / ALTERNATION_FILE).read_bytes()
    assert cli("export", str(runs / RUN), "--out", str(out)).returncode == 0  # the same run, without the file
    assert not (out / RUN / ALTERNATION_FILE).exists()


def test_an_export_holds_no_pickle(runs, tmp_path):
    out = tmp_path / "exported"
    assert cli("export", str(runs), "--out", str(out)).returncode == 0
    for path in (out / RUN).rglob("*"):
        if path.is_file():
            head = path.read_bytes()[:4]
            # torch files are zip archives of pickles; a bare pickle starts with its protocol opcode
            assert head != b"PK\x03\x04" and head[:1] != b"\x80", path
    for path in (out / RUN / "checkpoints").iterdir():
        assert path.suffix in (".safetensors", ".json"), path
        if path.suffix == ".safetensors":
            with safetensors.safe_open(path, framework="pt") as handle:  # readable without this package
                assert {key.partition(".")[0] for key in handle.keys()} == {"agent", "mixer"}
        else:
            assert json.loads(path.read_text())["env_info"]["n_agents"] == 3


def test_the_exported_model_evaluates_to_the_same_rows_as_the_pt(runs, tmp_path):
    original = tmp_path / "original"
    shutil.copytree(runs / RUN, original)
    for name in ("eval.csv", "eval.json"):
        (original / name).unlink()
    shutil.rmtree(original / "adversaries")
    out = tmp_path / "exported"
    assert cli("export", str(runs), "--out", str(out)).returncode == 0
    (out / RUN / "eval.csv").unlink()
    cells = dict(episodes=6, attacks=["none", "fgsm", "pgd"], eps_values=[0.1])
    from_pt, from_safetensors = evaluate(original, **cells), evaluate(out / RUN, **cells)
    assert from_pt == from_safetensors and len(from_pt) == 3
    assert len({row["win_rate"] for row in from_pt} | {row["mean_return"] for row in from_pt}) > 1  # the attacks act
    best = {"model": "best"}
    assert evaluate(original, **cells, options=best) == evaluate(out / RUN, **cells, options=best)


def _flip_a_weight(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10  # inside the last tensor's bytes: the file still parses
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, names, message", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "model.safetensors", "is corrupt or unreadable"),
    (lambda p: p.write_bytes(b"\xff" * 64), "model.safetensors", "is corrupt or unreadable"),
    (_flip_a_weight, "model.safetensors", "does not match the sha256 checksum in model.json"),
    (lambda p: p.with_suffix(".json").write_text("{not json"), "model.json", "is unreadable"),
    (lambda p: p.with_suffix(".json").unlink(), "model.safetensors", "has no model.json beside it"),
])  # fmt: skip
def test_a_damaged_safetensors_model_is_one_line(runs, tmp_path, damage, names, message):
    out = tmp_path / "exported"
    assert cli("export", str(runs), "--out", str(out)).returncode == 0
    model = out / RUN / "checkpoints/model.safetensors"
    damage(model)
    with pytest.raises(UserError, match=message):
        model_files.load(model, torch.device("cpu"))
    done = cli("evaluate", str(out / RUN), "--attacks", "fgsm", "--eps", "0.2", "--episodes", "2")
    one_line_error(done, str(model.with_name(names)), message)


def test_nothing_to_export_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    done = cli("export", str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith("error:")
    assert not (tmp_path / "out").exists()


def test_a_sweep_over_exported_runs_adds_their_missing_cells_without_training(runs, tmp_path):
    """The study's records live in the repository as exports (reports/study/runs): a sitting on a new
    machine exports them into its sweep root and the sweep must take them as trained."""
    out = tmp_path / "exported"
    assert cli("export", str(runs), "--out", str(out)).returncode == 0
    preset = tmp_path / "grid.yaml"
    settings = {key: value for key, value in SMALL.items() if key not in ("env.map", "train.steps")}
    preset.write_text(json.dumps({  # YAML is a superset of JSON
        "backend": "sim", "maps": ["3m"], "methods": {"vanilla": [0]}, "seeds": [0], "steps": SMALL["train.steps"],
        "settings": settings, "eval": {"attacks": ["none", "fgsm"], "eps": [0.0, 0.1], "episodes": 4},
    }))  # fmt: skip
    trained, evaluated = (out / RUN / "train.csv").read_bytes(), pd.read_csv(out / RUN / "eval.csv")
    done = cli("sweep", "--preset", str(preset), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert (out / RUN / "train.csv").read_bytes() == trained and not (out / RUN / "checkpoints/last.pt").exists()
    rows = pd.read_csv(out / RUN / "eval.csv")
    assert set(zip(rows["attack"], rows["test_eps"])) >= {("none", 0.0), ("none", 0.1), ("fgsm", 0.0), ("fgsm", 0.1)}
    # the export's cells (a learned attack among them) are kept as they were, not redone
    pd.testing.assert_frame_equal(rows.iloc[: len(evaluated)], evaluated)
    assert len(rows) == len(evaluated) + 2


REPO = Path(__file__).resolve().parents[1]


def ignored_by_git(relative: str) -> bool:
    """Whether the repository's .gitignore keeps `relative` (a path inside the repository) out of git."""
    done = subprocess.run(["git", "check-ignore", "--no-index", "-q", relative], cwd=REPO, check=False)
    assert done.returncode in (0, 1), f"git check-ignore failed on {relative}"
    return done.returncode == 0


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the repository's git checkout")
@pytest.mark.parametrize("records", ["reports/study/runs", "reports/study/sweeps/policy_reg_kappa0.3", "checkpoints"])
def test_an_exported_run_in_the_committed_records_is_tracked_and_its_resume_state_is_not(runs, tmp_path, records):
    # a pattern meant for the scratch root (runs/) once also matched reports/study/runs/ and silently kept
    # a sitting's records out of its commit
    out = tmp_path / "exported"
    assert cli("export", str(runs), "--out", str(out)).returncode == 0
    exported = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert any(name.startswith(str(RUN / "adversaries")) for name in exported)
    kept_out = [name for name in exported if ignored_by_git(f"{records}/{name}")]
    assert kept_out == [], f"{records}: .gitignore hides {kept_out}"
    if records.startswith("reports/"):  # what a sweep or evaluation there adds beside the records
        for name in ("checkpoints/last.pt", "checkpoints/best.pt", "adversaries/atla_eps0.1_steps200_victims0.pt"):
            assert ignored_by_git(f"{records}/{RUN}/{name}"), name
