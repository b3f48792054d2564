"""The report layer: quantities with units, TOML configs, figures, run folders, the HTML page."""

import json
import math
import tomllib

import matplotlib.pyplot as plt
import pytest

from robusthep.errors import ConfigError, DataError
from robusthep.report import (
    RunFolder,
    Section,
    check_results,
    default_run_path,
    dumps_toml,
    figure,
    format_quantity,
    iter_quantities,
    quantity,
)


def test_quantity_keeps_value_unit_and_spread():
    stored = quantity(7.5, "mpg^2", std=1.25, per_seed=[6.0, 9.0])
    assert stored == {"value": 7.5, "unit": "mpg^2", "std": 1.25, "per_seed": [6.0, 9.0]}
    assert quantity([1, 2], "count")["value"] == [1, 2]


@pytest.mark.parametrize("value", [math.nan, math.inf, [1.0, math.nan], "7"])
def test_quantity_rejects_values_that_are_not_finite_numbers(value):
    with pytest.raises(DataError, match="value"):
        quantity(value, "s")


def test_quantity_needs_a_unit():
    with pytest.raises(DataError, match="unit"):
        quantity(1.0, "")


def test_check_results_finds_bare_numbers_with_their_path():
    check_results({"a": quantity(1.0, "s"), "note": "text", "flag": True, "b": [quantity(2, "1")]})
    with pytest.raises(DataError, match=r"'toy\.fits\[1\]'"):
        check_results({"toy": {"fits": [quantity(1, "1"), 0.5]}})


def test_iter_quantities_walks_nested_results():
    tree = {"a": {"b": quantity(1, "1")}, "c": [quantity(2, "s")]}
    assert [path for path, _ in iter_quantities(tree)] == ["a.b", "c[0]"]


@pytest.mark.parametrize(
    "config",
    [
        {"seed": 0, "lr": 1e-2, "name": 'quote " and \\ back', "flag": False},
        {"hidden": [8, 8], "gaps": [[0.2, 0.4], [0.6, 0.8]], "nested": {"deeper": {"x": 1}}},
        {"bench-tabular": {"models": ["mlp"]}, "ünï": "çødé"},
    ],
)
def test_toml_round_trips(config):
    assert tomllib.loads(dumps_toml(config)) == config


def test_toml_drops_none_and_rejects_what_toml_cannot_hold():
    assert tomllib.loads(dumps_toml({"a": None, "b": 1})) == {"b": 1}
    with pytest.raises(ConfigError, match="'x'"):
        dumps_toml({"x": math.inf})
    with pytest.raises(ConfigError, match="'x'"):
        dumps_toml({"x": object()})


def test_figure_writes_a_png_and_closes(tmp_path):
    with figure(tmp_path / "a.png") as (fig, ax):
        ax.plot([0, 1], [1, 0])
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert plt.get_fignums() == []


def test_figure_writes_nothing_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError), figure(tmp_path / "b.png"):
        raise RuntimeError("boom")
    assert not (tmp_path / "b.png").exists()
    assert plt.get_fignums() == []


def test_default_run_path_never_reuses_a_folder(tmp_path):
    import datetime

    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    first = default_run_path("toys", root=tmp_path, now=now)
    assert first.name == "toys-20260102-030405"
    first.mkdir()
    assert default_run_path("toys", root=tmp_path, now=now).name == "toys-20260102-030405-2"


def test_run_folder_writes_results_config_and_a_report_linking_them(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_config({"seed": 3, "toy": {"epochs": 10}})
    run.write_results({"rmse": quantity(0.25, "GeV"), "note": "protocol"})
    with figure(run.figure_path("fit")) as (_, ax):
        ax.plot([0, 1])
    page = run.write_report(
        title="A <toy>",
        sections=[
            Section(
                "Fit",
                text="first\n\nsecond",
                numbers={"RMSE": quantity(0.25, "GeV", std=0.05)},
                table=(["model", "MSE"], [["mlp", "1.0"]]),
                figures=[run.relative(run.figure_path("fit"))],
                links=[("other", "../other/report.html")],
            )
        ],
        command="robusthep toys --config run/config.toml",
    )
    html = page.read_text()
    assert json.loads((run.path / "results.json").read_text())["rmse"]["unit"] == "GeV"
    assert tomllib.loads((run.path / "config.toml").read_text()) == {
        "seed": 3,
        "toy": {"epochs": 10},
    }
    for expected in [
        'src="figures/fit.png"',
        'href="results.json"',
        'href="config.toml"',
        'href="../other/report.html"',
        "0.25 ± 0.05 GeV",
        "A &lt;toy&gt;",
        "robusthep toys --config run/config.toml",
        "<td>mlp</td>",
    ]:
        assert expected in html


def test_run_folder_refuses_results_without_units(tmp_path):
    run = RunFolder(tmp_path / "run")
    with pytest.raises(DataError, match="bare number"):
        run.write_results({"rmse": 0.25})
    assert not (run.path / "results.json").exists()


def test_format_quantity():
    assert format_quantity(quantity(0.5, "1")) == "0.5"
    assert format_quantity(quantity(3, "count")) == "3"
    assert format_quantity(quantity(7.1234, "mpg^2", std=1.21)) == "7.12 ± 1.2 mpg^2"


def test_section_commands_are_shown_verbatim_and_anchors_are_ids(tmp_path):
    section = Section(
        "Fit <1>",
        anchor="study-fit",
        commands=[("Reproduce at full size", "robusthep fit --config 'a b/c.toml' && echo <ok>")],
    )
    page = RunFolder(tmp_path).write_report(title="T", sections=[section])
    html = page.read_text()
    assert '<h2 id="study-fit">Fit &lt;1&gt;</h2>' in html
    assert (
        "<pre><code>robusthep fit --config &#x27;a b/c.toml&#x27; &amp;&amp; echo &lt;ok&gt;"
        in html
    )
