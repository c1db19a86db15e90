"""Starting the gate from the Revisions page in Chromium: the proposal in the URL stays the one
shown across a citation round trip and Back (though a newer proposal waits), "Run the gate" plays
the candidate beside its parent with the loop's recorded seeds and step cap, its progress shows
and survives a reload, a second start is refused, and the held-out report appears without a
reload. A screenshot goes to artifacts/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from automem_core.review.gate_job import GateJobError, start_gate
from automem_core.review.outcomes import load_evaluations
from automem_core.review.proposals import load_proposals
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, REPO, served_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow]
IDLE = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""
LOOP = [
    "optimize", "--game", "crafter", "--iterations", "1", "--review-seeds", "0",
    "--gating-seeds", "5-16", "--heldout-seeds", "30", "--max-steps", "60", "--quiet",
]  # fmt: skip


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "automem_core.cli", *args], check=True, cwd=REPO,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip


@pytest.fixture(scope="module")
def proposals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("gate")
    root = work / "data"
    loop = subprocess.Popen(
        [sys.executable, "-m", "automem_core.cli", *LOOP, "--data", str(root)], cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    state = root / "loops" / "optimize-crafter-crafter-v0.json"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (
            state.exists() and json.loads(state.read_text()).get("pending")
        ):
            time.sleep(1)
    finally:
        loop.kill()
        loop.wait()
    older = json.loads(state.read_text())["pending"]
    # a newer proposal, also waiting: the page must still show the one its URL names
    cli("run", "--game", "crafter", "--seeds", "20", "--seed-set", "review", "--max-steps", "40",
        "--run-id", "other-review", "--data", str(root), "--quiet")  # fmt: skip
    cli("review", "--run", "other-review", "--data", str(root))
    with served_dashboard(root, work / "streamlit.log") as url:
        yield {"url": url, "root": root, "older": older}


def test_run_the_gate_from_the_page(proposals):
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    expect, sync_playwright = sync_api.expect, sync_api.sync_playwright
    url, root, pid = proposals["url"], proposals["root"], proposals["older"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{url}/revisions?proposal={pid}&who=ana")
        header = page.locator(".stHtml").filter(has_text="→").first
        expect(header).to_contain_text(pid, timeout=60_000)
        page.wait_for_function(IDLE, timeout=30_000)
        page.get_by_role("link", name="step").first.click()  # a citation, into the replay
        page.wait_for_url("**/replay**", timeout=30_000)
        page.go_back()
        expect(page.locator(".stHtml").filter(has_text="→").first).to_contain_text(
            pid, timeout=30_000
        )
        page.wait_for_function(IDLE, timeout=30_000)
        reason = page.get_by_label("Reason (required; kept with your decision)")
        reason.fill("worth gating")
        reason.press("Control+Enter")
        page.wait_for_function(IDLE, timeout=30_000)
        page.get_by_role("button", name="Approve", exact=True).click()
        run = page.get_by_role("button", name="Run the gate")
        expect(run).to_be_enabled(timeout=30_000)
        run.click()
        expect(page.get_by_text("The gate runs:")).to_be_visible(timeout=30_000)
        with pytest.raises(GateJobError, match="already runs"):
            start_gate(root, pid, "ben")  # a second start is refused while one runs
        page.reload()  # the running gate is found again
        verdict = page.get_by_text("Gate on the gating seeds")
        expect(page.get_by_text("The gate runs:").or_(verdict)).to_be_visible(timeout=60_000)
        expect(verdict).to_be_visible(timeout=300_000)  # drawn as it ends, with no reload
        if load_proposals(root).set_index("proposal_id").loc[pid, "event"] == "accepted":
            expect(page.get_by_text("Held-out report")).to_be_visible(timeout=300_000)
        page.screenshot(path=str(REPO / "artifacts" / "revisions_gate.png"), full_page=True)
        browser.close()
    gates = load_evaluations(root, pid)
    assert list(gates["seed_set"]) == ["gating", "heldout"] or list(gates["seed_set"]) == ["gating"]
    assert load_proposals(root).set_index("proposal_id").loc[pid, "event"] in (
        "accepted", "declined",
    )  # fmt: skip
