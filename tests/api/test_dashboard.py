"""The dashboard in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from market_api.main import create_app
from tests.api.conftest import Published

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1800")

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Debian chromium / chromium-driver missing: run scripts/install-browser"),
    # The page shows what the API serves; the backends are compared in test_endpoints.
    pytest.mark.parametrize("module_databases", ["sqlite"], indirect=True, scope="module"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(published: Published) -> Iterator[str]:
    """The app under uvicorn on a free 127.0.0.1 port, stopped when the module ends."""
    w3 = published.w3
    app = create_app(published.index, published.deployment.chain_id,
                     chain_head=lambda: int(w3.eth.block_number))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager look for drivers
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for_view(driver: Any, view: str, timeout: float = 20) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.body.dataset.view") in (view, "error"))
    assert driver.execute_script("return document.body.dataset.view") == view, \
        driver.find_element("id", "view").text


CHART_SUMMARY = """
return Object.fromEntries(Object.entries(window.fedmarket.charts).map(([id, chart]) => {
  const canvas = chart.canvas;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return [id, {datasets: chart.data.datasets.length, points: chart.data.labels.length,
               painted: painted, width: canvas.width}];
}));
"""


def test_project_page_renders_charts_per_trainer(browser: Any, served: str,
                                                  published: Published,
                                                  tmp_path: Path) -> None:
    browser.get(f"{served}/#/projects/{published.sample.project}")
    wait_for_view(browser, "projects")

    charts = browser.execute_script(CHART_SUMMARY)
    browser.save_screenshot(str(tmp_path / "dashboard-project.png"))

    trainers = len(published.sample.trainers)
    assert charts["chart-contribution"]["datasets"] == trainers
    assert charts["chart-rewards"]["datasets"] == trainers
    assert charts["chart-accuracy"]["datasets"] == 1
    assert all(c["points"] == published.sample.rounds for c in charts.values())
    assert all(c["width"] > 0 and c["painted"] > 500 for c in charts.values())
    page = browser.find_element("id", "view").text
    assert "norm_outlier" in page  # the rejected updates table
    assert "verdict agree" in page and "slashed" in page and "claims until" in page
    assert "features 64 · 10 classes · 2,410 parameters" in page.replace("×", "x")
    votes = browser.find_elements("css selector", "#votes-table tbody tr")
    assert len(votes) == 5  # round 1: the whole committee; round 2: the two who could vote
    assert sum("lost" in row.text for row in votes) == 1
    assert (tmp_path / "dashboard-project.png").stat().st_size > 10_000


def test_projects_and_trainer_pages_render(browser: Any, served: str, published: Published,
                                           tmp_path: Path) -> None:
    browser.get(f"{served}/")
    wait_for_view(browser, "projects")
    cards = browser.find_elements("css selector", "#projects a.card")
    browser.save_screenshot(str(tmp_path / "dashboard-projects.png"))
    assert len(cards) == 1
    assert "mlp · features 64 · 10 classes" in cards[0].text

    browser.get(f"{served}/#/trainers/{published.sample.trainers[1]}")
    wait_for_view(browser, "trainers")
    charts = browser.execute_script(CHART_SUMMARY)
    browser.save_screenshot(str(tmp_path / "dashboard-trainer.png"))
    assert charts["chart-earnings"]["points"] == published.sample.rounds
    assert "claimable" in browser.find_element("id", "view").text


def test_verifier_page_shows_fees_and_slashes(browser: Any, served: str) -> None:
    from fedmarket.chain.client import dev_account
    from market_api.sample import VERIFIERS

    browser.get(f"{served}/#/verifiers/{dev_account(VERIFIERS[-1]).address}")
    wait_for_view(browser, "verifiers")

    page = browser.find_element("id", "view").text
    assert "Slashed" in page and "0.25 ETH" in page and "lost" in page


def test_docs_page_renders_without_internet(browser: Any, served: str, tmp_path: Path) -> None:
    # Swagger UI comes from the package (there is no CDN to reach from here): the page must
    # list every operation of the schema.
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{served}/docs")
    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements("css selector", ".opblock")) >= 8)
    browser.save_screenshot(str(tmp_path / "docs.png"))

    operations = browser.find_elements("css selector", ".opblock-summary-path")
    paths = {o.get_attribute("data-path") for o in operations}
    assert {"/health", "/projects/{project_id}/rounds/{round_no}",
            "/trainers/{address}/rewards"} <= paths
