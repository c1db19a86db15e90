"""Two people labelling in Chromium at 1280×800: names that hold across pages, reloads and a
replay round trip; no label without a name; every key of a burst lands; both authors recorded;
their disagreement and agreement shown; an adjudicated export that keeps only settled decisions.
Screenshots of the workbench at 1280×800 and 1920×1080 go to artifacts/."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from automem_core.testing.sample_store import play_fake_run
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, REPO, served_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow]
IDLE = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""
N = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from automem_core.mining.mine import mine

    root = tmp_path_factory.mktemp("labelling") / "data"
    play_fake_run(root, tasks=("grid",), seeds=(0,), steps=12, run_id="lab", seed_set="mining")
    mine(root, ["lab"])
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with served_dashboard(root, log) as url:
        yield url, root


def human(root: Path) -> list[dict[str, Any]]:
    from automem_core.store.records import read_records

    return [r for r in read_records(root, "labels").to_pylist() if r["source"] == "human"]


def until(check: Any, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return bool(check())


def open_workbench(page: Any, url: str, expect: Any, query: str = "") -> None:
    page.goto(f"{url}/label{query}")
    expect(page.locator(".am-lab-progress")).to_be_visible(timeout=30_000)
    page.wait_for_function(IDLE, timeout=30_000)


def set_name(page: Any, name: str) -> None:
    field = page.locator(".st-key-people-field input")
    field.fill(name)
    field.press("Enter")
    field.blur()  # keys typed in a field are the field's, not shortcuts
    page.wait_for_function(IDLE, timeout=30_000)


def press(page: Any, key: str, times: int, root: Path, author: str, expected: int) -> None:
    """Press ``key`` ``times`` times in a burst, once the page's key listener is in (a press
    before it is the browser's alone); ``author`` then has ``expected`` labels, no more."""
    page.wait_for_function("() => !!window.__automemKeys", timeout=30_000)
    for _ in range(times):
        page.keyboard.press(key)
    count = lambda: sum(r["author"] == author for r in human(root))  # noqa: E731
    assert until(lambda: count() >= expected, 60), [
        (r["author"], r["verdict"]) for r in human(root)
    ]
    time.sleep(1.0)  # a press applied twice would show by now
    assert count() == expected, [r["target_id"] for r in human(root) if r["author"] == author]


def test_two_people_label_the_same_decisions(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    expect, sync_playwright = sync_api.expect, sync_api.sync_playwright
    url, root = server
    artifacts = REPO / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        ana = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        ben = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()

        open_workbench(ana, url, expect)  # no name yet: nothing can be labelled
        expect(ana.get_by_text("labels are signed")).to_be_visible(timeout=30_000)
        expect(ana.locator(".st-key-label-good button")).to_be_disabled(timeout=30_000)
        ana.keyboard.press("1")
        time.sleep(1.0)
        assert human(root) == []
        set_name(ana, "ana")
        expect(ana.locator(".st-key-label-good button")).to_be_enabled(timeout=30_000)
        expect(ana.get_by_role("button", name="Good · 1")).to_be_visible(timeout=30_000)
        ana.screenshot(path=str(artifacts / "workbench_1280x800.png"))
        assert ana.get_by_text("What it saw").first.bounding_box()["y"] < 800  # first screen

        press(ana, "1", N, root, "ana", N)  # a burst of 20: 20 records
        expect(ana.locator(".am-lab-progress")).to_contain_text(f"{N + 1} of", timeout=30_000)
        expect(ana.get_by_text("Labelled good")).to_be_visible(timeout=30_000)

        open_workbench(ben, url, expect, "?who=ben")  # the name from the URL
        press(ben, "1", N // 2, root, "ben", N // 2)
        press(ben, "2", N // 2, root, "ben", N)

        labels = human(root)
        by = {a: [r for r in labels if r["author"] == a] for a in ("ana", "ben")}
        assert len(by["ana"]) == len(by["ben"]) == N
        assert [r["target_id"] for r in by["ana"]] == [r["target_id"] for r in by["ben"]]
        assert {r["verdict"] for r in by["ben"][N // 2 :]} == {"bad"}

        ana.goto(f"{url}/decisions?who=ana")
        expect(ana.get_by_text("Where labellers disagree")).to_be_visible(timeout=30_000)
        ana.wait_for_function(IDLE, timeout=30_000)
        expect(ana.get_by_text(f"{N // 2} decisions; {0} unresolved")).to_be_visible(timeout=30_000)
        expect(ana.get_by_text("Fleiss' kappa across 2 people")).to_be_visible(timeout=30_000)
        ana.screenshot(path=str(artifacts / "decisions_1280x800.png"), full_page=True)

        carol = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        open_workbench(carol, url, expect, "?who=carol")
        carol.screenshot(path=str(artifacts / "workbench_1920x1080.png"))
        browser.close()

    from automem_core.cli import main

    out = tmp_path / "adjudicated"
    assert main(["export", "--format", "trl", "--out", str(out), "--data", str(root),
                 "--author", "ana", "--label-policy", "adjudicated", "--adjudicator", "carol",
                 "--quiet"]) == 0  # fmt: skip
    card = json.loads((out / "card.json").read_text())
    assert card["labelling_policy"].startswith("adjudicated")
    exported = {json.loads(line)["decision_id"] for line in
                (out / "trl_prompt_completion.jsonl").read_text().splitlines()}  # fmt: skip
    agreed = {r["target_id"] for r in by["ben"][: N // 2]}
    assert exported and exported <= agreed  # the unsettled disagreements stay out


def test_a_name_holds_across_pages_reloads_and_a_replay_round_trip(server, tmp_path):
    """…and keys pressed on another page never act on the workbench."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    expect, sync_playwright = sync_api.expect, sync_api.sync_playwright
    url, root = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        open_workbench(page, url, expect)
        set_name(page, "dana")
        page.get_by_role("link", name="Decisions").click()  # another page, from the sidebar
        expect(page.get_by_text("Where labellers disagree")).to_be_visible(timeout=30_000)
        expect(page.locator(".st-key-people-field input")).to_have_value("dana", timeout=30_000)
        page.reload()
        expect(page.locator(".st-key-people-field input")).to_have_value("dana", timeout=30_000)
        page.get_by_role("link", name="Label").click()
        expect(page.locator(".am-lab-progress")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="Open the replay at this step").click()
        page.wait_for_url("**/replay**", timeout=30_000)
        page.wait_for_function(IDLE, timeout=30_000)
        for key in ("1", "1", "u"):  # keys of the workbench, pressed on the Replay
            page.keyboard.press(key)
        page.go_back()
        expect(page.locator(".am-lab-progress")).to_be_visible(timeout=30_000)
        expect(page.locator(".st-key-people-field input")).to_have_value("dana", timeout=30_000)
        page.wait_for_function(IDLE, timeout=30_000)
        before = len(human(root))
        for _ in range(10):  # the key listener attaches once its frame has loaded
            page.keyboard.press("3")
            if until(lambda: len(human(root)) > before, seconds=3):
                break
        assert until(lambda: len(human(root)) > before)
        time.sleep(1.0)
        dana = [r["verdict"] for r in human(root)[before:] if r["author"] == "dana"]
        assert dana and set(dana) == {"unsure"}  # what was pressed on the Replay stayed there
        browser.close()


SENT = """() => { window.__automemSent = 0;
  window.addEventListener("message", (e) => {
    if (e.data && e.data.type === "streamlit:setComponentValue") window.__automemSent += 1;
  }); }"""


def test_a_key_the_page_does_not_use_runs_nothing(server):
    """A press the page has no use for sends nothing: sent, it would run the Replay's step
    fragment, and a fragment run that reaches the app after the person moved to another page
    leaves that page blank."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    expect, sync_playwright = sync_api.expect, sync_api.sync_playwright
    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{url}/replay")
        expect(page.get_by_text("Go to step")).to_be_visible(timeout=30_000)
        page.wait_for_function("() => !!window.__automemKeys", timeout=30_000)
        page.wait_for_function(IDLE, timeout=30_000)
        page.evaluate(SENT)
        for key in ("1", "2", "u", "x"):
            page.keyboard.press(key)
        time.sleep(1.0)
        assert page.evaluate("() => window.__automemSent") == 0
        page.keyboard.press("ArrowRight")  # a key the Replay uses: sent once, with the others
        page.wait_for_function("() => window.__automemSent === 1", timeout=30_000)
        browser.close()
