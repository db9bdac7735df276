"""Configuration: one source of defaults, strict parsing, one-line errors."""

import pytest

from benchmark.config import RunConfig, load_yaml_config, parse_override
from benchmark.errors import UserError


def test_round_trip_through_dict():
    cfg = RunConfig().with_overrides({"qmix.lr": 5e-4, "train.steps": 1000.0})
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.train.steps == 1000 and isinstance(cfg.train.steps, int)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"train.steps": -1}, "train.steps must be >= 0"),
        ({"method.train_eps": 1.5}, "train_eps must be in [0, 1]"),
        ({"qmix.lrr": 1}, "unknown config key"),
        ({"qmix.batch_size": "many"}, "must be an integer"),
        ({"qmix.double_q": 1}, "must be true or false"),
        ({"qmix.buffer_size": 10}, "buffer_size"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(overrides, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        RunConfig().with_overrides(overrides)


def test_parse_override_reads_yaml_scalars():
    assert parse_override("qmix.lr=5e-4") == ("qmix.lr", 5e-4)
    assert parse_override("qmix.double_q=false") == ("qmix.double_q", False)
    with pytest.raises(UserError):
        parse_override("no-equals-sign")


def test_unreadable_yaml_is_a_user_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("qmix: [unclosed")
    with pytest.raises(UserError, match="cannot read config"):
        load_yaml_config(path)
    path.write_text("qmix: 3")
    with pytest.raises(UserError, match="must be a mapping"):
        load_yaml_config(path)
