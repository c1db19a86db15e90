"""The dashboard served over a store on S3 (moto's server) in Debian's Chromium at 1280×800:
``AUTOMEM_DATA=s3://…``, read through a mirror that had never read the store; the Overview
lists the run and the Replay opens one of its steps."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from automem_core.cli import main
from automem_core.testing.s3_server import in_environment, s3_server
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, served_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("moto.server")
RUN = "s3-browser"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)"
        if os.environ.get("CI"):  # CI must run the browser test, never pass without it
            pytest.fail(message)
        pytest.skip(message)
    url = "s3://automem-browser/store"
    with s3_server("automem-browser") as env:
        writer = {**env, "AUTOMEM_CACHE": str(tmp_path_factory.mktemp("writer"))}
        with in_environment(writer):
            args = ["run", "--game", "minihack", "--tasks", "MazeWalk-9x9", "--episodes", "3",
                    "--max-steps", "8", "--run-id", RUN, "--quiet", "--data", url]  # fmt: skip
            assert main(args) == 0
        served = {**env, "AUTOMEM_CACHE": str(tmp_path_factory.mktemp("served"))}
        log = tmp_path_factory.mktemp("log") / "streamlit.log"
        with in_environment(served), served_dashboard(url, log) as address:  # type: ignore[arg-type]
            yield address


def test_overview_of_an_s3_store_loads_in_chromium(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1280, "height": 800},
        )  # fmt: skip
        page = browser.new_page()
        page.goto(server)
        sync_api.expect(page.get_by_text(RUN).first).to_be_visible(timeout=60_000)
        page.goto(f"{server}/replay?run={RUN}&episode={RUN}.MazeWalk-9x9.s1&step=3")
        card = page.locator(".am-step").first
        sync_api.expect(card).to_be_visible(timeout=60_000)
        sync_api.expect(card).to_contain_text("3")
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
