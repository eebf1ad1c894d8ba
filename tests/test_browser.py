"""The widgets in a real JupyterLab, driven by Playwright in Debian's Chromium.

The test starts its own JupyterLab on 127.0.0.1 (a free port, a temporary config, root, workspaces and
settings directory, the news toast and update checks off, a kernelspec pointing at this venv's Python),
writes a notebook into the temporary root, runs it and checks what a marketer sees: every builder section,
the cap error and the disabled Publish button, a live template preview, the report's funnel. Screenshots
go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.test_widgets_builder import SECTIONS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
KERNEL = "triggerlab-venv"
TIMEOUT_MS = 120_000
WARMUP_TRIES, WARMUP_MS = 5, 20_000
#: runs of every cell before the checks' failure stands (see _run_all_and_check)
CHECK_TRIES = 2
OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    # every cell stays in the DOM, so selectors find widgets below the fold
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _notebook(work: Path) -> nbformat.NotebookNode:
    campaign = ROOT / "sample_data" / "campaigns" / "fitness_milestone.yaml"
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "triggerlab (venv)", "language": "python"}
    nb.cells = [
        # run alone first, until its widget shows: see _widgets_ready
        new_code_cell("import ipywidgets\nipywidgets.HTML('<span class=\"tl-ready\">widgets ready</span>')"),
        new_code_cell(
            f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n"
            "from triggerlab.files import load_campaign\n"
            "from triggerlab.widgets import CampaignBuilder, TemplateEditor\n"
            f"campaign = load_campaign({str(campaign)!r})"
        ),
        new_code_cell(
            f"CampaignBuilder(campaign=campaign, file={str(work / 'c.yaml')!r}, workspace={str(work / 'ws.duckdb')!r})"
        ),
        new_code_cell(
            "TemplateEditor(campaign, profile={'name': 'Asha'},"
            " payload={'steps': '12,000', 'milestone': '12k steps', 'date': '2026-11-02'})"
        ),
        new_code_cell("from widget_results import small_result\nsmall_result()"),
    ]
    return nb


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium; checked before JupyterLab starts, and a failure (not a skip) when missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Debian's Chromium is missing at {CHROMIUM}: run `make chromium` (apt-get install chromium)"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab server on a free port; yields its base URL and always stops it."""
    base = tmp_path_factory.mktemp("lab")
    config, data, root, work = base / "config", base / "data", base / "root", base / "work"
    settings = base / "app-settings"
    for folder in (config, data / "kernels" / KERNEL, root, work, settings):
        folder.mkdir(parents=True)
    port = _free_port()
    (config / "jupyter_lab_config.py").write_text(
        "\n".join(
            [
                "c.ServerApp.ip = '127.0.0.1'",
                f"c.ServerApp.port = {port}",
                "c.ServerApp.port_retries = 0",
                "c.ServerApp.open_browser = False",
                "c.IdentityProvider.token = ''",
                "c.ServerApp.password = ''",
                "c.ServerApp.allow_root = True",
                f"c.ServerApp.root_dir = {str(root)!r}",
                f"c.LabApp.workspaces_dir = {str(base / 'workspaces')!r}",
                f"c.LabApp.user_settings_dir = {str(base / 'user-settings')!r}",
                f"c.LabApp.app_settings_dir = {str(settings)!r}",
                "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'",
                "c.LabApp.extension_manager = 'readonly'",
                "c.LabApp.news_url = None",
            ]
        ),
        encoding="utf-8",
    )
    (settings / "overrides.json").write_text(json.dumps(OVERRIDES), encoding="utf-8")
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "triggerlab (venv)",
        "language": "python",
    }
    (data / "kernels" / KERNEL / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    nbformat.write(_notebook(work), root / "widgets.ipynb")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_PATH": str(
            data
        ),  # our kernelspec; the venv's own share/jupyter still serves the lab extensions
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    log = (base / "lab.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"JupyterLab did not start; its log:\n{(base / 'lab.log').read_text(errors='replace')}"
                )
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.copy(base / "lab.log", _artifacts() / "lab.log")


def _artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def test_widgets_render_and_react_in_jupyterlab(chromium: str, lab: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 4200})
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        try:
            page.goto(f"{lab}/lab/tree/widgets.ipynb")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            _accept_kernel_dialog(page)
            _widgets_ready(page)
            _run_all_and_check(page, console)
        except Exception:
            page.screenshot(path=_artifacts() / "failure.png", full_page=True)
            # the browser's errors and warnings go to the failure report (pytest prints a failed test's output)
            (_artifacts() / "console.log").write_text("\n".join(console), encoding="utf-8")
            print(
                "browser console (errors and warnings):",
                *(m for m in console if m.startswith(("error", "warn", "page"))),
                sep="\n",
            )
            raise
        finally:
            browser.close()


def _run_all_and_check(page: Page, console: list[str]) -> None:
    """Run every cell and check what shows; once more if the first run's widgets did not all show.

    Even with the widget manager ready, a widget tree of a few hundred models sometimes comes out with a
    branch missing ("widget model not found" in the console: the builder showed 8 of its 10 sections once in
    a CI run, and never here in dozens of runs). A marketer mends that by running the cells again, and so does
    this test, once: a second failure fails it. The first run's screenshot and console stay in
    tests/artifacts/."""
    for attempt in range(1, CHECK_TRIES + 1):
        page.click("li.lm-MenuBar-item:has-text('Run')")
        page.click("li.lm-Menu-item:has-text('Run All Cells')")
        try:
            _check(page)
            return
        except AssertionError:
            if attempt == CHECK_TRIES:
                raise
            page.screenshot(path=_artifacts() / f"attempt-{attempt}.png", full_page=True)
            (_artifacts() / f"attempt-{attempt}-console.log").write_text("\n".join(console), encoding="utf-8")
            console.append(f"(run {attempt} of the cells failed its checks: the cells run again)")


def _accept_kernel_dialog(page: Page) -> None:
    """JupyterLab may still ask which kernel to use; ours is preselected, as the notebook names it."""
    try:
        page.wait_for_selector(".jp-Dialog", timeout=5_000)
    except PlaywrightTimeout:
        return
    page.click(".jp-Dialog .jp-mod-accept")
    page.wait_for_selector(".jp-Dialog", state="detached")


def _widgets_ready(page: Page) -> None:
    """Run the first cell until its widget shows. Right after a kernel starts, JupyterLab's widget manager may
    not be restored yet: a widget displayed then stays blank ("widget model not found", an upstream race,
    jupyterlab/jupyterlab#10533), which a marketer mends by running the cell again. Once one widget showed, the
    manager is ready and every later one shows."""
    first = page.locator(".jp-Notebook .jp-Cell").first
    ready = page.locator(".tl-ready")
    for _ in range(WARMUP_TRIES):
        first.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")
        try:
            ready.wait_for(timeout=WARMUP_MS)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(
        f"no widget showed after {WARMUP_TRIES} runs of the first cell: see tests/artifacts/"
    )


def _shoot(page: Page, widget: Locator, name: str) -> None:
    """A page screenshot clipped to the widget: the notebook scrolls inside the page, so an element
    screenshot of a widget taller than the notebook panel would show the panel, not the widget."""
    widget.scroll_into_view_if_needed()
    box = widget.bounding_box()
    assert box is not None, name
    page.screenshot(path=_artifacts() / name, clip=box)


def _check(page: Page) -> None:
    """What a marketer sees once the notebook ran."""
    builder = page.locator(".tl-builder")
    expect(builder).to_be_visible()
    expect(builder.locator(".tl-section-title")).to_have_text(SECTIONS)
    publish = builder.locator("button.tl-publish")
    expect(publish).to_be_enabled()
    cap = builder.locator(".tl-section-targeting-cap input")
    cap.fill("50")
    error = builder.locator(".tl-section-targeting-cap .tl-error")
    expect(error).to_have_text("must be 100 or more (got 50)")
    expect(publish).to_be_disabled()
    _shoot(page, builder, "builder-cap-error.png")
    cap.fill("2000")
    expect(error).to_have_text("")
    expect(publish).to_be_enabled()
    builder.locator(".lm-AccordionPanel-title, .jupyter-widget-Collapse-header, .p-Collapse-header").filter(
        has_text="Preview with a sample profile and payload"
    ).click()
    expect(builder.locator(".tl-push-title")).to_have_text("<steps> steps! 🎉")
    _shoot(page, builder.locator(".tl-section-message"), "builder-message-preview.png")

    editor = page.locator(".tl-editor")
    title = editor.locator(".tl-message-push input").first
    title.fill("Hey {{ Profile.name }}, {{ ExternalTrigger.steps }} steps!")
    expect(editor.locator(".tl-push-title")).to_have_text("Hey Asha, 12,000 steps!")
    _shoot(page, editor, "template-editor.png")

    report = page.locator(".tl-report")
    expect(report.locator(".tl-funnel-chart svg")).to_be_visible()
    expect(report.locator("table.tl-funnel")).to_contain_text("sent")
    _shoot(page, report, "simulation-report.png")
    report.locator(".lm-TabBar-tab", has_text="Outcomes").click()
    expect(report.locator(".tl-outcomes tr")).to_have_count(9)
    _shoot(page, report, "simulation-report-outcomes.png")
    report.locator(".lm-TabBar-tab", has_text="Messages").click()
    expect(report.locator(".tl-push-title")).to_have_text("12,000 steps! 🎉")
    # the email's own HTML runs in the sandboxed frame and shows there
    expect(report.frame_locator("iframe.tl-mail").locator("b")).to_have_text("Ravi")
    _shoot(page, report, "simulation-report-messages.png")
