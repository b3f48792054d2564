"""The demo's report.html as a page in headless Chromium: no console errors, every image and
link resolves, and a full-page screenshot is kept as a test artefact.

Chromium and its driver are Debian's `chromium` and `chromium-driver` packages (`.ci/run`
installs them). Without them the test is skipped on a developer's machine and fails in CI
(`CI` set), so a missing browser cannot pass unnoticed there.
"""

import html as html_module
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from robusthep.report import RunFolder, Section, figure, quantity
from robusthep.studies import demo
from robusthep.studies.config import StudyConfig

ARTIFACTS = Path(
    os.environ.get("PYTEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts")
)

# The page's images, links and anchors as the browser resolved them.
_PAGE_STATE = """
return {
  images: Array.from(document.images).map(i => [i.getAttribute("src"), i.complete,
                                                i.naturalWidth]),
  links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
  anchors: Array.from(document.querySelectorAll("[id]")).map(e => e.id),
  height: document.documentElement.scrollHeight,
};
"""


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = _find("chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver")
    if chromium is None or driver_path is None:
        message = "headless Chromium needs `apt-get install -y chromium chromium-driver`"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must test the report in a browser)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def _check_page(browser: Any, page: Path, screenshot: str) -> dict[str, Any]:
    """Load ``page``; assert no console errors, images loaded, local links exist; screenshot."""
    browser.get(page.as_uri())
    state = browser.execute_script(_PAGE_STATE)
    browser.set_window_size(1280, min(int(state["height"]) + 100, 16000))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / screenshot
    assert browser.save_screenshot(str(shot)), "Chromium took no screenshot"
    assert shot.read_bytes()[:4] == b"\x89PNG"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], f"console errors on {page}: {errors}"
    broken = [src for src, complete, width in state["images"] if not (complete and width > 0)]
    assert broken == [], f"images that did not load on {page}: {broken}"
    for href in state["links"]:
        target = urlparse(href)
        assert target.scheme == "file", f"{page} links outside its folder: {href}"
        path = Path(unquote(target.path))
        assert path.exists(), f"{page} links to a missing file: {href}"
        if target.fragment and path == page:
            assert target.fragment in state["anchors"], f"{page}: no element #{target.fragment}"
    return state


class _PatternConfig(StudyConfig):
    """A stand-in study: a seed and the number of its figures."""

    seed: int = 0
    figures: int = 2


def _run_pattern(
    config: _PatternConfig, folder: RunFolder, *, command: str, progress: bool, log: Any
) -> dict[str, Any]:
    """A study in milliseconds: figures, results and a report like a real one writes."""
    names = []
    for index in range(config.figures):
        path = folder.figure_path(f"line_{index}")
        with figure(path, size=(3, 2.5)) as (_, axes):
            axes.plot([0, 1], [0, index + 1])
        names.append(folder.relative(path))
    results = {"study": "pattern", "slope": quantity(float(config.figures), "1")}
    folder.write_config(config.model_dump(mode="json"))
    folder.write_results(results)
    folder.write_report(
        title="pattern", sections=[Section("Lines", figures=names)], command=command
    )
    return results


def _pattern_headline(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {"slope": results["slope"]}


def test_demo_report_loads_in_chromium_with_every_figure(tmp_path, monkeypatch, browser):
    studies = {
        name: demo.Study(
            name, f"Pattern study {name}", _PatternConfig, _run_pattern, _pattern_headline
        )
        for name in ("first", "second")
    }
    monkeypatch.setattr(demo, "STUDIES", studies)
    out = tmp_path / "demo folder"  # a space: links must be escaped to work
    folder, results = demo.run_demo(out)
    page = folder.path / RunFolder.REPORT
    state = _check_page(browser, page, "demo_report.png")
    # One page: every study's figures are shown on the demo's own page.
    shown = sorted(src for src, _, _ in state["images"])
    assert shown == sorted(
        f"{name}/figures/line_{index}.png" for name in studies for index in range(2)
    )
    html = page.read_text()
    for name in studies:
        # The path holds a space, so the command quotes it.
        command = f"robusthep {name} --full --config '{out / name / 'full-config.toml'}'"
        assert results["studies"][name]["full_size_command"] == command
        assert html_module.escape(command) in html
        assert f'href="{name}/results.json"' in html
        assert results["studies"][name]["headline"]["slope"]["value"] == 2.0
    # Each study's own report loads as well.
    _check_page(browser, out / "first" / RunFolder.REPORT, "demo_study_report.png")


@pytest.mark.slow
def test_demo_report_of_the_real_toys_loads_in_chromium(tmp_path, monkeypatch, browser):
    monkeypatch.setattr(demo, "STUDIES", {"toys": demo.STUDIES["toys"]})
    config = tmp_path / "demo.toml"
    config.write_text(
        "[toys.outlier]\nn_points = 10\nepochs = 2\n"
        "[toys.monotonic]\nn_points = 10\nseeds = 1\nepochs = 2\ngrid_points = 11\n"
        "[toys.moons]\nn_train = 20\nn_test = 20\nepochs = 1\n"
    )
    folder, _ = demo.run_demo(tmp_path / "demo", config_file=config)
    state = _check_page(browser, folder.path / RunFolder.REPORT, "demo_toys_report.png")
    assert len(state["images"]) == len(list((folder.path / "toys" / "figures").glob("*.png")))
