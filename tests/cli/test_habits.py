"""Command-line habits: --version, info, cache list|clear, --print-config, completion, and an
example at the end of every command's --help."""

import re
import tomllib

import pytest
import typer
import typer.completion
from typer.main import get_command
from typer.testing import CliRunner

from robusthep import __version__
from robusthep.cli import app
from robusthep.studies.config import load_config
from robusthep.studies.demo import STUDIES

runner = CliRunner()


def _commands(group=None, prefix=()):
    group = group or get_command(app)
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


COMMANDS = list(_commands())


def test_every_command_is_listed():
    for command in ("train", "predict", "verify", "info", "cache", "generate", "demo"):
        assert (command,) in COMMANDS
    assert ("cache", "list") in COMMANDS and ("cache", "clear") in COMMANDS


@pytest.mark.parametrize("command", [(), *COMMANDS], ids=lambda c: " ".join(c) or "robusthep")
def test_every_help_ends_with_an_example(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # The epilog is the last block of the help, after the last box of options/commands.
    tail = result.output.rsplit("╯", 1)[-1] if "╯" in result.output else result.output
    assert re.search(r"Examples?: robusthep", tail), result.output
    assert "robusthep" in tail.strip().splitlines()[-1]


def test_version_option():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"robusthep {__version__}"


def _fill_cache(root):
    for name, events in (("higgs-0123456789abcdef", 120), ("wjets-fedcba9876543210", 40)):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "events.parquet").write_bytes(b"x" * 1500)
        (folder / "meta.json").write_text(f'{{"n_events": {events}}}')
    (root / ".wjets-1.shards-1").mkdir()


def test_info_shows_versions_cache_and_executor(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTHEP_CACHE", str(tmp_path))
    _fill_cache(tmp_path)
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0
    assert f"robusthep {__version__}" in result.output
    assert "torch " in result.output and "uproot " in result.output
    assert f"cache: {tmp_path} ($ROBUSTHEP_CACHE): 3 entries, 3.0 kB" in result.output
    assert "executor: local" in result.output


def test_cache_list_and_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTHEP_CACHE", str(tmp_path))
    _fill_cache(tmp_path)
    listed = runner.invoke(app, ["cache", "list"])
    assert listed.exit_code == 0
    assert "higgs-0123456789abcdef" in listed.output and "120 events" in listed.output
    assert "unfinished shards" in listed.output
    refused = runner.invoke(app, ["cache", "clear"], input="n\n")
    assert refused.exit_code == 1 and "nothing deleted" in refused.output
    assert len(list(tmp_path.iterdir())) == 3
    wjets = runner.invoke(app, ["cache", "clear", "wjets"], input="y\n")
    assert wjets.exit_code == 0 and "deleted 2 entries" in wjets.output
    assert [p.name for p in tmp_path.iterdir()] == ["higgs-0123456789abcdef"]
    everything = runner.invoke(app, ["cache", "clear", "--yes"])
    assert everything.exit_code == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", list(STUDIES))
@pytest.mark.parametrize("quick", [True, False])
def test_print_config_of_every_study_is_the_effective_config(tmp_path, name, quick):
    result = runner.invoke(
        app, [name, "--print-config", "--seed", "5", "--quick" if quick else "--full",
              "-o", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = tomllib.loads(result.output)
    expected = load_config(STUDIES[name].config, quick=quick, overrides={"seed": 5})
    assert printed == tomllib.loads(
        __import__("robusthep.report.toml", fromlist=["dumps_toml"]).dumps_toml(
            expected.model_dump(mode="json")
        )
    )
    assert printed["seed"] == 5
    assert not (tmp_path / "o").exists()
    # What it prints runs again as --config.
    saved = tmp_path / "c.toml"
    saved.write_text(result.output)
    again = runner.invoke(app, [name, "--print-config", "--config", str(saved)])
    assert tomllib.loads(again.output) == printed


def test_print_config_with_a_bad_file_is_exit_code_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("epochz = 1\n")
    result = runner.invoke(app, ["toys", "--print-config", "--config", str(bad)])
    assert result.exit_code == 2 and "epochz" in result.output


def test_shell_completion_is_enabled(monkeypatch):
    help_text = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "--install-completion" in help_text and "--show-completion" in help_text
    # typer detects the user's shell from the process tree (shellingham): under `make` that
    # is sh, which typer has no script for. The user's shell here is bash.
    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: "bash")
    script = runner.invoke(app, ["--show-completion"], prog_name="robusthep")
    assert script.exit_code == 0
    assert "complete" in script.output and "_ROBUSTHEP_COMPLETE" in script.output
    assert isinstance(get_command(app), typer.core.TyperGroup)
