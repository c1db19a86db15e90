"""The Compare page in Chromium at 1280×800: a deep link opens two episodes of one seed, the
keyboard moves both columns (every press of a burst), a reload keeps the view, and a pair of
different seeds is refused. A screenshot goes to artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from automem_core.testing.sample_store import play_fake_run
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, REPO, served_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("compare") / "data"
    play_fake_run(root, tasks=("pixels",), seeds=(0, 1), steps=20, run_id="a")
    play_fake_run(root, tasks=("pixels",), seeds=(0,), steps=20, run_id="b")
    with served_dashboard(root, tmp_path_factory.mktemp("log") / "streamlit.log") as url:
        yield url


def test_lockstep_in_chromium(server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    expect, sync_playwright = sync_api.expect, sync_api.sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{server}/compare?compare=a.pixels.s0,b.pixels.s0&step=2")
        where = page.locator(".am-cmp-where")
        expect(where).to_contain_text("step 2 of", timeout=30_000)
        expect(page.locator(".am-cmp-head")).to_have_count(2)
        page.locator(".am-cmp-facts").first.click()
        for _ in range(10):  # the key listener attaches once its frame has loaded
            page.keyboard.press("ArrowRight")
            try:
                expect(where).to_contain_text("step 3 of", timeout=2_000)
                break
            except AssertionError:
                continue
        expect(where).to_contain_text("step 3 of", timeout=15_000)
        for _ in range(5):  # a burst: every press lands
            page.keyboard.press("ArrowRight")
        expect(where).to_contain_text("step 8 of", timeout=30_000)
        assert "step=8" in page.url
        page.reload()
        expect(where).to_contain_text("step 8 of", timeout=30_000)
        artifacts = REPO / "artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "compare_1280x800.png"))
        page.goto(f"{server}/compare?compare=a.pixels.s0,a.pixels.s1")
        expect(page.get_by_text("not of one game, task and seed")).to_be_visible(timeout=30_000)
        browser.close()
