"""MkDocs hooks: the navigation, the API reference and one tutorial per study, generated.

Nothing here lists pages, modules or studies by hand: every ``docs/**/*.md`` page is in the
navigation, every public module of robusthep (a name without a leading underscore) gets an
API page rendered by mkdocstrings from its docstrings, and every study of
``robusthep.studies.demo.STUDIES`` gets a tutorial page (how to run it, its settings at quick
and full size, its run function and configuration class). Pages other engineers add
(``docs/audit.md``, ``docs/cluster.md``, ``docs/user-data.md`` …) appear on the next build.
"""

import json
import pkgutil
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import griffe
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent
DOCS = ROOT / "docs"

# Pages about using robusthep rather than one method, first in the navigation when present.
GUIDES = ["formats.md", "user-data.md", "cluster.md", "methods.md"]


class ExampleSections(griffe.Extension):
    """Read robusthep's ``Example:`` docstring sections as Google-style ``Examples:``.

    Griffe's Google parser knows only the plural; a singular ``Example:`` would be rendered
    as Markdown, where a doctest such as ``table["pt"][0]`` reads as a reference link. With
    the plural, the doctests are rendered as Python code. (mkdocs.yml loads this extension.)
    """

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE_HEADING.sub(r"\1Examples:", obj.docstring.value)


_EXAMPLE_HEADING = re.compile(r"^([ \t]*)Example:[ \t]*$", flags=re.MULTILINE)


def _public_modules() -> list[str]:
    import robusthep

    return sorted(
        f"robusthep.{info.name}"
        for info in pkgutil.iter_modules(robusthep.__path__)
        if not info.name.startswith("_")
    )


def _studies() -> Mapping[str, Any]:
    from robusthep.studies.demo import STUDIES

    return STUDIES


def _written_pages() -> list[str]:
    return sorted(
        path.relative_to(DOCS).as_posix()
        for path in DOCS.rglob("*.md")
        if not any(part.startswith((".", "_")) for part in path.relative_to(DOCS).parts)
    )


def _title(page: str) -> str:
    """The page's first ``# heading``, shortened at its first parenthesis or colon."""
    for line in (DOCS / page).read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return re.split(r" \(|: ", line[2:].strip())[0]
    return page.removesuffix(".md")


def _tutorial_path(name: str) -> str:
    return f"tutorials/{name}.md"


def _reference_path(module: str) -> str:
    return f"reference/{module.removeprefix('robusthep.')}.md"


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """The navigation: home, guides, methods, tutorials, API reference."""
    written = _written_pages()
    guides = [page for page in GUIDES if page in written]
    methods = [page for page in written if page not in {"index.md", *guides}]
    config["nav"] = [
        {"Home": "index.md"},
        {"Guides": [{_title(page): page} for page in guides]},
        {"Methods and studies": [{_title(page): page} for page in methods]},
        {"Tutorials": [{f"robusthep {name}": _tutorial_path(name)} for name in _studies()]},
        {"API reference": [{module: _reference_path(module)} for module in _public_modules()]},
    ]
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated API pages and tutorials."""
    for module in _public_modules():
        # The module's own heading is the page title (level 1), its members level 2.
        content = f"::: {module}\n    options:\n      heading_level: 1\n"
        files.append(File.generated(config, _reference_path(module), content=content))
    for name, study in _studies().items():
        files.append(File.generated(config, _tutorial_path(name), content=tutorial(name, study)))
    return files


def _flatten(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _pages_about(name: str) -> list[str]:
    """The written pages that describe the command ``robusthep <name>``."""
    command = re.compile(rf"`robusthep {re.escape(name)}(?:[ `])")
    return [
        page
        for page in _written_pages()
        if page not in {"index.md", *GUIDES}
        and command.search((DOCS / page).read_text(encoding="utf-8"))
    ]


def tutorial(name: str, study: Any) -> str:
    """The tutorial page of one study, from its registry entry and configuration class."""
    quick = dict(_flatten(study.config.quick().model_dump(mode="json")))
    full = dict(_flatten(study.config().model_dump(mode="json")))
    about = _pages_about(name)
    lines = [
        f"# Tutorial: `robusthep {name}`",
        "",
        f"{study.title}.",
        "",
    ]
    if about:
        links = ", ".join(f"[{_title(page)}](../{page})" for page in about)
        lines += [f"The method, its paper and the measured numbers: {links}.", ""]
    lines += [
        "## Run it",
        "",
        "```bash",
        f"robusthep {name} --quick                 # the demo size (part of `robusthep demo`)",
        f"robusthep {name}                         # the full size",
        f"robusthep {name} --config my.toml        # settings from a TOML file",
        f"robusthep {name} --help                  # every option",
        "```",
        "",
        "It writes a run folder `runs/"
        + name
        + "-<time>/` (or `--output DIR`) with `config.toml` (every setting: "
        "`--config` on it repeats the run), `results.json` (every number with its unit), "
        "`figures/*.png` and `report.html`. `robusthep demo` runs it at the quick size and "
        "shows its key numbers and figures in the demo's one report, with the command "
        "that reproduces it at full size.",
        "",
        "From Python:",
        "",
        "```python",
        "from robusthep.studies.demo import run_study",
        "",
        f'folder, results = run_study("{name}", "runs/my-{name}", quick=True, seed=1)',
        'print(folder.path / "report.html")',
        "```",
        "",
        "## Settings",
        "",
        "A TOML file passed with `--config` updates these keys (nested tables for dotted "
        "keys); a key the study does not know is an error that lists the valid ones.",
        "",
        "| key | quick (`--quick`) | full (default) |",
        "|---|---|---|",
    ]
    for key in full:
        full_value = json.dumps(full[key], ensure_ascii=False)
        quick_value = json.dumps(quick.get(key), ensure_ascii=False)
        # The settings the quick size changes stand out in bold.
        quick_cell = f"`{quick_value}`" if quick_value == full_value else f"**`{quick_value}`**"
        lines.append(f"| `{key}` | {quick_cell} | `{full_value}` |")
    lines += [
        "",
        "## Code",
        "",
        f"::: {study.run.__module__}.{study.run.__name__}",
        "    options:",
        "      heading_level: 3",
        "",
        f"::: {study.config.__module__}.{study.config.__qualname__}",
        "    options:",
        "      heading_level: 3",
        "",
    ]
    return "\n".join(lines)
