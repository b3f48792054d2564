"""Every ```python block of README.md and docs/**/*.md runs as written.

The blocks of one page run in order in one namespace (a later block may use what an earlier
one defined), in a fresh temporary folder as the working directory. A block opts out only
with a marker on the line before it, ``<!-- no-test: the reason -->``; the reason is required.
A page whose examples cannot be made fast (they run Pythia) says so with
``<!-- doc-test: slow (the reason) -->``: its test is marked slow and runs in `make test-all`.
New pages are picked up by the glob, with no list to update.
"""

import re
from pathlib import Path

import matplotlib
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)
_NO_TEST = re.compile(r"<!--\s*no-test:(.*?)-->\s*$")
_SLOW_PAGE = re.compile(r"<!--\s*doc-test:\s*slow\b")


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """``(first line of the code, code, opt-out reason or None)`` for each python block.

    Example:
        >>> page = "Text\\n<!-- no-test: needs a GPU -->\\n```python\\nx = 1\\n```\\n"
        >>> python_blocks(page)
        [(4, 'x = 1\\n', 'needs a GPU')]
    """
    blocks = []
    for match in _BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _NO_TEST.search(before)
        reason = marker.group(1).strip() if marker else None
        line = text.count("\n", 0, match.start(1)) + 1
        blocks.append((line, match.group(1), reason))
    return blocks


def _pages_with_examples() -> list:
    pages = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        if python_blocks(text):
            marks = [pytest.mark.slow] if _SLOW_PAGE.search(text) else []
            pages.append(pytest.param(page, marks=marks, id=page.relative_to(ROOT).as_posix()))
    return pages


def test_the_readme_has_a_python_example():
    assert python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_python_blocks_finds_code_lines_and_opt_outs():
    page = "# T\n\n```python\na = 1\n```\n\n<!-- no-test: slow -->\n```python\nb = 2\n```\n"
    assert python_blocks(page) == [(4, "a = 1\n", None), (9, "b = 2\n", "slow")]
    assert python_blocks("```bash\nls\n```\n") == []


@pytest.fixture
def _one_thread():
    # The examples' networks are tiny: one thread is fastest on a busy machine (and in CI).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _check_readme(text: str, printed: dict[int, str], folder: Path) -> None:
    """What the README's examples promise (they were tests/test_readme.py's checks)."""
    first_line = min(printed)
    bound, *_, violations = printed[first_line].split()
    assert float(bound) > 0  # the certified bound
    assert violations == "0"  # verify found no violation
    own_data = text.index("## On your own data")
    line = min(n for n in printed if n > text.count("\n", 0, own_data))
    auc, passed = printed[line].split()[-2:]
    assert 0.5 < float(auc) <= 1  # the tagger separates
    assert passed == "True"  # every guarantee held on the saved and the exported model
    assert (folder / "runs" / "tagger" / "report.html").is_file()


# Checks of what a page's examples print, beyond running without an error.
_PRINTED_CHECKS = {"README.md": _check_readme}


@pytest.mark.parametrize("page", _pages_with_examples())
def test_doc_examples_run(page, tmp_path, monkeypatch, capsys, _one_thread):
    monkeypatch.chdir(tmp_path)
    matplotlib.use("Agg")
    text = page.read_text(encoding="utf-8")
    namespace: dict = {"__name__": "__main__"}
    printed: dict[int, str] = {}  # first line of each block that ran → what it printed
    for line, code, reason in python_blocks(text):
        if reason is not None:
            assert reason, f"{page.name}:{line}: a no-test marker must say why"
            continue
        # Padding with blank lines makes tracebacks point at the page's own line numbers.
        source = "\n" * (line - 1) + code
        exec(compile(source, str(page), "exec"), namespace)  # noqa: S102
        printed[line] = capsys.readouterr().out
    assert printed, f"every python block of {page.name} opts out; at least one must run"
    check = _PRINTED_CHECKS.get(page.relative_to(ROOT).as_posix())
    if check is not None:
        check(text, printed, tmp_path)
