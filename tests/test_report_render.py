"""The report as a reader sees it: report.html in a real headless Chromium, report.pdf as page images.

Needs Debian's `chromium` and `poppler-utils` (pdftoppm, pdftotext); `.ci/run` installs them. Without them
these tests skip, saying what to install, unless REQUIRE_BROWSER=1 (set by `.ci/run`), which makes a missing
tool a failure. REPORT_SCREENSHOTS=DIR keeps the screenshot and page images there, to look at.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.report.build import ReportResult, build_report
from browser import Chromium, find_chromium
from runs_factory import REPS, write_run, write_sweep

INSTALL = "apt-get install chromium poppler-utils (Debian), or run .ci/run"


def require(tool: str, path: str | None) -> str:
    if path is None:
        message = f"{tool} is not installed ({INSTALL})"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}; REQUIRE_BROWSER=1 needs it")
        pytest.skip(message)
    return path


def keep(name: str, data: bytes) -> None:
    """Save an image for a person to look at, when REPORT_SCREENSHOTS names a folder."""
    folder = os.environ.get("REPORT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(data)


def ink(png: bytes) -> tuple[float, float]:
    """Fraction of pixels that are not (near) white, and the standard deviation of grey levels."""
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    return float((grey < 245).mean()), float(grey.std())


def assert_not_blank(png: bytes, what: str) -> None:
    covered, spread = ink(png)
    assert covered > 0.005 and spread > 5, f"{what} looks blank: {covered:.2%} of pixels inked, grey std {spread:.1f}"


@pytest.fixture(scope="module")
def chromium() -> str:
    return require("chromium", find_chromium())


@pytest.fixture(scope="module")
def poppler() -> tuple[str, str]:
    """pdftoppm and pdftotext."""
    return require("pdftoppm", shutil.which("pdftoppm")), require("pdftotext", shutil.which("pdftotext"))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> ReportResult:
    root = write_sweep(tmp_path_factory.mktemp("runs"))
    broken = write_run(root / "broken", seed=9)
    (broken / "manifest.json").write_text("{")  # listed as left out, in a warning box the page must render
    return build_report([root], tmp_path_factory.mktemp("report"), reps=REPS)


# ---- report.html in Chromium


def test_report_html_renders_every_figure_without_errors(chromium, report):  # chromium first: skip before building
    with Chromium(chromium, width=1280, height=900) as browser:
        page = browser.open(report.out / "report.html")
        images = browser.evaluate(
            "Array.from(document.images).map(i => {const r = i.getBoundingClientRect();"
            " return {alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,"
            " x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height}})"
        )
        text = browser.evaluate("document.body.innerText")
        shot = browser.screenshot()
        figures = [browser.screenshot({"x": i["x"], "y": i["y"], "width": i["w"], "height": i["h"]}) for i in images]
    keep("report.png", shot)
    assert page.errors == [], page.errors
    assert page.requests == [], f"the page fetched {page.requests}: it must be self-contained"
    expected = sorted(p.stem for p in (report.out / "figures").glob("*.png"))
    assert len(images) == len(expected) == 5
    for image, png in zip(images, figures):
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, f"{image['alt']} did not load"
        assert image["w"] > 300 and image["h"] > 150, f"{image['alt']} is drawn too small ({image['w']} x {image['h']})"
        assert_not_blank(png, f"figure {image['alt']!r} on screen")
    assert_not_blank(shot, "the page's screenshot")
    width, height = Image.open(io.BytesIO(shot)).size
    assert width == 1280 and height > 3000  # the whole page, not only the window
    for words in ("Table 1. Win rate without attack (sim)", "Table 2. Win rate under FGSM (sim)", "Criteria", "The study's claims", "Figure 5.", "1 run(s) left out"):
        assert words in text


# ---- report.pdf as pages


def pdf_pages_as_png(pdftoppm: str, pdf: Path, out: Path) -> list[Path]:
    subprocess.run([pdftoppm, "-r", "40", "-png", str(pdf), str(out / "page")], check=True, timeout=120)
    return sorted(out.glob("page-*.png"), key=lambda p: int(re.search(r"(\d+)\.png$", p.name).group(1)))


def pdf_page_texts(pdftotext: str, pdf: Path, pages: int) -> list[str]:
    done = subprocess.run([pdftotext, "-layout", str(pdf), "-"], check=True, timeout=120, capture_output=True, text=True)
    return done.stdout.split("\f")[:pages]  # pdftotext ends every page with a form feed


def test_report_pdf_has_the_expected_non_blank_pages(poppler, report, tmp_path):  # poppler first: skip before building
    pdftoppm, pdftotext = poppler
    pages = pdf_pages_as_png(pdftoppm, report.out / "report.pdf", tmp_path)
    figures = len(list((report.out / "figures").glob("*.png")))
    texts = pdf_page_texts(pdftotext, report.out / "report.pdf", len(pages))
    claims = next(n for n, text in enumerate(texts) if "Figure 1." in text) - 2  # pages between tables and figures
    # an overview page, one page holding both small tables, the criteria and claims, a page per figure, the appendix
    assert claims >= 1 and len(pages) == report.pages == 1 + 1 + claims + figures + 1
    for number, page in enumerate(pages, 1):
        png = page.read_bytes()
        keep(f"report-page-{number}.png", png)
        width, height = Image.open(page).size
        assert width > height, "pages are A4 landscape"
        assert_not_blank(png, f"page {number}")
    assert "robust-qmix report" in texts[0] and "How the numbers are computed" in texts[0]
    assert "Table 1. Win rate without attack (sim)" in texts[1] and "Table 2. Win rate under FGSM (sim)" in texts[1]
    assert texts[2].lstrip().startswith("Criteria") and "(h) Open: wall-clock cost" in texts[1 + claims]
    for number in range(1, figures + 1):
        assert f"Figure {number}." in texts[1 + claims + number], f"figure {number} is not alone on page {2 + claims + number}"
    assert "Appendix: configuration" in texts[-1]
