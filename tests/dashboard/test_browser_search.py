"""The served dashboard in Debian's Chromium: type a query on the Search page, open a hit, land
on the Replay at its step with the matched word marked, at 1280×800 and on a wide screen. Saves
screenshots to artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from automem_core.search import search
from automem_core.testing.sample_store import play_fake_run
from automem_core.testing.scripted import BOLD_STEP
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, REPO, served_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RUN = "search-run"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("search-store")
    play_fake_run(root, tasks=("grid",), seeds=(0, 1), steps=30, run_id=RUN)  # compacted, indexed
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with served_dashboard(root, log) as url:
        yield url, root


@pytest.mark.parametrize("width,height", [(1280, 800), (1920, 1080)])
def test_type_a_query_open_a_hit_land_on_the_step_marked(server, tmp_path, width, height):
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    expect, sync_playwright = sync_api.expect, sync_api.sync_playwright
    url, root = server
    want = search(root, "memory:bold")
    assert want.total == 2 and want.notes == []  # the run's index answers
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            headless=True, viewport={"width": width, "height": height},
        )  # fmt: skip
        page = browser.new_page()
        page.goto(f"{url}/search")
        box = page.get_by_role("textbox", name="Query")
        expect(box).to_be_visible(timeout=30_000)
        box.fill("memory:bold")
        box.press("Enter")
        expect(page.get_by_text("2 hits")).to_be_visible(timeout=30_000)
        hits = page.locator("a.am-slink")
        expect(hits).to_have_count(2)
        expect(page.locator(".am-ssnip mark.am-hit").first).to_have_text("bold")
        assert "q=memory%3Abold" in page.url
        artifacts = REPO / "artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / f"browser_search_{width}x{height}.png"))

        hits.first.click()
        goto = page.get_by_label("Go to step")
        expect(goto).to_have_value(str(BOLD_STEP), timeout=30_000)
        expect(page.get_by_role("heading", name=f"{RUN}.grid.s")).to_be_visible()
        marked = page.locator(".am-diff-prev mark.am-hit")
        expect(marked.first).to_have_text("bold", timeout=15_000)
        expect(page.locator(".am-turn mark.am-hit").first).to_have_text("bold")
        assert "highlight=bold" in page.url and f"step={BOLD_STEP}" in page.url
        page.set_viewport_size({"width": width, "height": 2000})
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / f"browser_search_hit_{width}.png"))
        browser.close()
