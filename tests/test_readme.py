"""The README's example must run as written."""

import re
import runpy
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "the README has no Python example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0])
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out.split()
    assert float(printed[0]) > 0  # the certified bound
    assert printed[-1] == "0"  # verify found no violation


def test_readme_own_data_example_runs(tmp_path, monkeypatch, capsys):
    section = README.read_text().split("## On your own data", 1)[1]
    block = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[0]
    script = tmp_path / "own_data.py"
    script.write_text(block)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    runpy.run_path(str(script), run_name="__main__")
    auc, passed = capsys.readouterr().out.split()[-2:]
    assert 0.5 < float(auc) <= 1  # the tagger separates
    assert passed == "True"  # every guarantee held on the saved and the exported model
    assert (tmp_path / "runs" / "tagger" / "report.html").is_file()
