"""The served dashboard in Debian's Chromium: pick an episode, step forward, check the memory diff,
the deep link and that agent-written HTML stays text. Saves a screenshot to artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from automem_core.store.reader import connect
from automem_core.testing.sample_store import play_fake_run
from automem_core.testing.scripted import SCRIPT_LINE, SCRIPT_STEP
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, REPO, served_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IDLE = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""
RUN = "browser-run"
EPISODE = f"{RUN}.pixels.s1"
STEPS_FORWARD = 4
BURST = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)"
        if os.environ.get("CI"):  # CI must run the browser test, never pass without it
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("browser-store")
    play_fake_run(root, tasks=("pixels",), seeds=(0, 1), steps=30, run_id=RUN)
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with served_dashboard(root, log) as url:
        yield url, root


def appended_line(root: Path, step: int) -> str:
    args = (
        connect(root)
        .execute(
            "SELECT args FROM memory_ops WHERE episode_id = ? AND step = ? AND kind = 'APPEND' "
            "AND file = 'actions_log'",
            [EPISODE, step],
        )
        .fetchone()[0]
    )
    return str(args[1])


def test_replay_in_chromium(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    expect, sync_playwright = sync_api.expect, sync_api.sync_playwright

    url, root = server
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1500, "height": 1200},
        )
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{url}/replay")
        goto = page.get_by_label("Go to step")
        expect(goto).to_have_value("0", timeout=30_000)

        episode_box = page.locator(".st-key-replay-w_episode")
        episode_box.click()
        page.get_by_role("option", name="seed 1").click()
        expect(page.get_by_role("heading", name=EPISODE)).to_be_visible(timeout=15_000)
        for step in range(1, STEPS_FORWARD + 1):
            page.locator(".st-key-replay-next button").first.click()
            expect(goto).to_have_value(str(step), timeout=15_000)

        page.locator(".am-step").first.click()  # keys go to the page, not the go-to field
        page.keyboard.press("ArrowRight")  # the listener is there once one press lands
        expect(goto).to_have_value(str(STEPS_FORWARD + 1), timeout=15_000)
        for _ in range(BURST):  # pressed faster than the page redraws: every press lands
            page.keyboard.press("ArrowRight")
        expect(goto).to_have_value(str(STEPS_FORWARD + 1 + BURST), timeout=30_000)
        for _ in range(BURST + 1):
            page.keyboard.press("ArrowLeft")
        expect(goto).to_have_value(str(STEPS_FORWARD), timeout=30_000)

        line = appended_line(root, STEPS_FORWARD)
        added = page.locator(".am-diff-prev tr.am-add td.am-txt")
        expect(added.filter(has_text=line)).to_have_count(1, timeout=15_000)
        page.get_by_role("tab", name="Files at this step").click()  # drawn only when opened
        written = page.locator(".am-files tr.am-add td.am-txt").filter(has_text=line)
        expect(written).to_have_count(1, timeout=15_000)
        page.get_by_role("tab", name="Diff vs previous step").click()
        expect(added.filter(has_text=line)).to_have_count(1, timeout=15_000)
        link = page.evaluate("location.href")  # the URL follows the view
        assert f"step={STEPS_FORWARD}" in link and f"episode={EPISODE}" in link

        again = browser.new_page()
        again.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        again.goto(link)
        expect(again.get_by_label("Go to step")).to_have_value(str(STEPS_FORWARD), timeout=30_000)
        expect(again.get_by_role("heading", name=EPISODE)).to_be_visible()
        expect(
            again.locator(".am-diff-prev tr.am-add td.am-txt").filter(has_text=line)
        ).to_have_count(1)

        again.goto(f"{url}/replay?run={RUN}&episode={EPISODE}&step={SCRIPT_STEP}")
        script_row = again.locator(".am-diff-prev tr.am-add td.am-txt").filter(has_text=SCRIPT_LINE)
        expect(script_row).to_have_text(SCRIPT_LINE, timeout=30_000)
        assert again.locator(".am-diff-prev script").count() == 0
        artifacts = REPO / "artifacts"
        artifacts.mkdir(exist_ok=True)
        for shown, name in ((page, "browser_replay.png"), (again, "browser_script_line.png")):
            shown.bring_to_front()
            shown.set_viewport_size({"width": 1500, "height": 2200})  # Streamlit scrolls inside
            shown.wait_for_timeout(500)
            shown.screenshot(path=str(artifacts / name))
        browser.close()
    assert dialogs == [], f"an alert dialog fired: {dialogs}"
