"""report.html in Debian's Chromium: it renders its charts and asks the network for nothing.

A screenshot goes to tests/artifacts/report.png (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.simulated import result
from triggerlab.statuses import STATUSES

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def test_report_renders_offline_in_chromium(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Debian's Chromium is missing at {CHROMIUM}: run `make chromium` (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    report = result().write(tmp_path) / "report.html"
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            charts = page.locator("svg.marks")
            assert charts.count() == 3
            for index in range(3):
                box = charts.nth(index).bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 50
            funnel_labels = charts.nth(0).locator("g.role-axis-label text").all_text_contents()
            assert set(STATUSES) <= set(funnel_labels)
            assert page.locator("div.card").first.inner_text() == "11\nrequests"
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / "report.png", full_page=True)
        finally:
            browser.close()
    assert requested == [report.as_uri()]
