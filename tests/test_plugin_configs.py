"""Settings owned by their plugins: each method and attack registers its own config dataclass, a run records
exactly its method's settings, the CLI's options and the preset syntax follow the dataclasses, and run
directories written before keep loading."""

import dataclasses
import warnings

import click
import pytest
import yaml
from click.testing import CliRunner

from benchmark.attacks import ATTACKS, Attack, attack_label, attack_settings, check_options
from benchmark.attacks.learned import adversary_file
from benchmark.attacks.settings import AttackConfig, option
from benchmark.cli_params import attack_option_flags
from benchmark.config import ConfigNote, RunConfig, load_run_config, load_yaml_config
from benchmark.errors import UserError
from benchmark.methods import METHODS
from benchmark.sweep import plan, preset_from_dict
from benchmark.train import prepare_run_dir, train

POLICY_REG_ONLY = {"kappa", "regulariser", "hinge_margin"}


def method_section(name: str, **overrides) -> dict:
    cfg = RunConfig().with_overrides({"method.name": name, **{f"method.{k}": v for k, v in overrides.items()}})
    return cfg.to_dict()["method"]


@pytest.mark.parametrize("name", METHODS.names())
def test_each_method_records_exactly_the_fields_of_its_own_dataclass(name):
    own = {f.name for f in dataclasses.fields(METHODS.get(name).config)}
    assert set(method_section(name)) == own
    assert "adversary" not in RunConfig().with_overrides({"method.name": name}).to_dict()  # no top-level PPO section


def test_vanilla_records_only_its_name_and_eps():
    assert method_section("vanilla") == {"name": "vanilla", "train_eps": 0.0}


def test_an_atla_run_records_its_ppo_settings_and_no_policy_reg_keys(tmp_path):
    cfg = RunConfig().with_overrides({
        "method.name": "atla", "method.train_eps": 0.1, "method.adversary.lr": 1e-3, "train.steps": 0,
    })  # fmt: skip
    train(cfg, tmp_path / "run")
    method = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["method"]
    assert method["adversary"]["lr"] == 1e-3 and method["adversary"]["entropy_coef"] == 0.0
    assert not POLICY_REG_ONLY & set(method) and "attack_fraction" not in method
    assert load_run_config(tmp_path / "run" / "config.yaml") == cfg


@pytest.mark.parametrize(("method", "key"), [("vanilla", "kappa"), ("atla", "kappa"), ("adv_train", "adversary_iters")])
def test_a_setting_the_method_does_not_have_is_refused(tmp_path, method, key):
    with pytest.raises(UserError, match=f"unknown config key.*method.{key}"):
        RunConfig().with_overrides({"method.name": method, f"method.{key}": 1})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"method": {"name": method, key: 1}}))
    with pytest.raises(UserError, match=f"method.{key}"):
        load_yaml_config(path)


def test_changing_the_method_keeps_the_settings_both_have():
    reg = RunConfig().with_overrides({"method.name": "policy_reg", "method.ramp_start": 0.1, "method.kappa": 0.5})
    atla = reg.with_overrides({"method.name": "atla"})
    assert atla.method.ramp_start == 0.1 and not hasattr(atla.method, "kappa")
    assert atla.method.adversary == type(atla.method)().adversary


def legacy_config(name: str, with_adversary: bool) -> dict:
    """A config.yaml as the suite wrote it before each method owned its settings: every method's keys."""
    data = RunConfig().to_dict()
    data["method"] = {
        "name": name, "train_eps": 0.1, "ramp_start": 0.1, "ramp_end": 0.5, "attack": "pgd", "attack_steps": 3,
        "victims": 0, "clip_obs": False, "attack_fraction": 0.5, "kappa": 0.1, "regulariser": "hinge",
        "hinge_margin": 0.05, "adversary_iters": 10, "agent_iters": 10,
    }  # fmt: skip
    if with_adversary:
        data["adversary"] = {"lr": 1e-3, "rollout_envs": 4}
    return data


def test_an_old_config_loads_dropping_what_no_longer_applies_with_a_note():
    with pytest.warns(ConfigNote, match="method.kappa.*method.regulariser") as notes:
        atla = RunConfig.from_stored(legacy_config("atla", with_adversary=True), "old/config.yaml")
    assert "old/config.yaml" in str(notes[0].message) and "method.attack_steps" in str(notes[0].message)
    assert atla.method.ramp_end == 0.5 and atla.method.adversary.lr == 1e-3  # the PPO section moved in
    with pytest.warns(ConfigNote, match="adversary"):
        adv = RunConfig.from_stored(legacy_config("adv_train", with_adversary=True), "old")
    assert adv.method.attack_steps == 3 and not hasattr(adv.method, "kappa")
    unknown = {**legacy_config("atla", False), "method": {**legacy_config("atla", False)["method"], "kapa": 1}}
    with pytest.raises(UserError, match="method.kapa"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigNote)
        RunConfig.from_stored(unknown, "old")  # a key no version knew is still a mistake


def test_an_old_run_directory_resumes_and_is_rewritten_in_todays_shape(tmp_path):
    run = tmp_path / "run"
    cfg = RunConfig().with_overrides({"method.name": "paad", "method.train_eps": 0.1, "train.steps": 0})
    train(cfg, run)
    old = legacy_config("paad", with_adversary=True)
    old["method"].update(ramp_start=0.25, ramp_end=0.92, attack_steps=10, adversary_iters=cfg.method.adversary_iters)
    old["adversary"] = dataclasses.asdict(cfg.method.adversary)
    old["train"] = cfg.to_dict()["train"]
    (run / "config.yaml").write_text(yaml.safe_dump(old))
    with pytest.warns(ConfigNote):
        assert prepare_run_dir(cfg, run) == cfg  # the same run: it may resume
    with pytest.warns(ConfigNote):
        train(cfg.with_overrides({"train.steps": 10}), run)
    assert yaml.safe_load((run / "config.yaml").read_text())["method"] == cfg.to_dict()["method"]


def test_an_old_run_directory_evaluates_with_one_note_line(tmp_path):
    from cli_helpers import run_cli

    run = tmp_path / "run"
    train(RunConfig().with_overrides({"train.steps": 0}), run)
    (run / "config.yaml").write_text(yaml.safe_dump(legacy_config("vanilla", with_adversary=True) | {"train": RunConfig().to_dict()["train"] | {"steps": 0}}))
    done = run_cli("evaluate", str(run), "--episodes", "2")
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "method.kappa" in notes[0] and "Traceback" not in done.stderr


def preset(methods: dict, settings: dict, **evals) -> dict:
    return {
        "maps": ["3m"], "methods": methods, "seeds": [0], "steps": 100, "settings": settings,
        "eval": {"attacks": ["none", "fgsm", "pgd"], "eps": [0.1], **evals},
    }  # fmt: skip


def test_a_preset_applies_a_method_setting_to_the_methods_that_have_it(tmp_path):
    data = preset({"vanilla": [0], "adv_train": [0.1], "atla": [0.1]}, {"method.attack_steps": 2, "method.adversary.lr": 1e-3})
    cells = {c.config.method.name: c.config.method for c in plan(preset_from_dict("p", data), tmp_path)}
    assert cells["adv_train"].attack_steps == 2 and cells["atla"].adversary.lr == 1e-3
    assert set(dataclasses.asdict(cells["vanilla"])) == {"name", "train_eps"}
    with pytest.raises(UserError, match="no method of the preset has the setting.*method.kappa"):
        preset_from_dict("p", preset({"vanilla": [0], "atla": [0.1]}, {"method.kappa": 1.0}))


def test_a_preset_eval_may_set_any_attack_setting(tmp_path):
    (cell,) = plan(preset_from_dict("p", preset({"vanilla": [0]}, {}, victims=1, steps=3)), tmp_path)
    labels = [attack_label(a, attack_settings(a, options)) for options in cell.attack_options for a in cell.attacks]
    assert labels == ["none", "fgsm[victims=1]", "pgd[steps=3,victims=1]"]
    with pytest.raises(UserError, match="unknown key.*stepz"):
        preset_from_dict("p", preset({"vanilla": [0]}, {}, stepz=3))


def test_an_attack_option_no_attack_has_is_refused():
    check_options({"steps": 3, "ppo": {"lr": 1e-3}})
    with pytest.raises(UserError, match="unknown attack option.*stepz"):
        check_options({"stepz": 3})
    with pytest.raises(UserError, match="ppo.lrr"):
        attack_settings("atla", {"ppo": {"lrr": 1}})


def test_a_learned_attacks_ppo_settings_name_its_cell_and_its_kept_adversary():
    default, changed = attack_settings("paad", {}), attack_settings("paad", {"ppo": {"lr": 1e-3}})
    assert attack_label("paad", changed) == "paad[ppo.lr=0.001]"
    assert adversary_file("paad", 0.1, default) != adversary_file("paad", 0.1, changed)


def test_a_new_attack_setting_is_an_evaluate_option_by_itself(monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class LoudConfig(AttackConfig):
        loudness: float = option(2.0, "How loud.")

    monkeypatch.setitem(ATTACKS._items, "loud", Attack(lambda ctx: None, LoudConfig, "a test attack"))

    @click.command()
    @attack_option_flags
    def command(**flags):
        click.echo(repr(flags))

    assert "--loudness FLOAT" in CliRunner().invoke(command, ["--help"]).output
    out = CliRunner().invoke(command, ["--loudness", "3", "--pgd-steps", "4"]).output
    assert "'loudness': 3.0" in out and "'steps': 4" in out
