"""Study configurations: defaults, quick sizes, TOML files, and errors for unknown keys."""

import pytest

from robusthep.errors import ConfigError
from robusthep.studies.config import load_config, read_toml
from robusthep.studies.tabular import TabularConfig
from robusthep.studies.toys import ToysConfig


@pytest.mark.parametrize("cls", [ToysConfig, TabularConfig])
def test_quick_is_smaller_than_full(cls):
    assert cls.quick() != cls()
    assert load_config(cls, quick=True) == cls.quick()


def test_a_toml_file_updates_nested_keys_one_by_one(tmp_path):
    path = tmp_path / "toys.toml"
    path.write_text("seed = 4\n[monotonic]\nseeds = 2\n")
    config = load_config(ToysConfig, path, quick=True)
    assert config.seed == 4
    assert config.monotonic.seeds == 2
    assert config.monotonic.epochs == ToysConfig.quick().monotonic.epochs
    assert config.outlier == ToysConfig.quick().outlier


def test_overrides_come_last(tmp_path):
    path = tmp_path / "tab.toml"
    path.write_text("seed = 4\n")
    assert load_config(TabularConfig, path, overrides={"seed": 9}).seed == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sede = 1\n", r"unknown key 'sede'; valid keys here: .*seed"),
        ("[outlier]\nepoch = 3\n", r"unknown key 'outlier\.epoch'; valid keys here: .*epochs"),
        ("[moons]\nepochs = 'many'\n", r"moons\.epochs = 'many'"),
        ("[monotonic]\nseeds = 0\n", r"monotonic\.seeds = 0"),
        ("seed = \n", "not valid TOML"),
    ],
)
def test_bad_files_raise_config_errors_naming_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(ToysConfig, path)


def test_unknown_model_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="monotonicnetworks"):
        load_config(TabularConfig, overrides={"models": ["xgboost"]})


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_toml(tmp_path / "nope.toml")
