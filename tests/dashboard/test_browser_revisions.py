"""Deciding a proposal in Debian's Chromium while ``optimize`` waits in another process: open the
Revisions page, follow a citation into the replay at its step, come back, approve with a reason,
and watch ``automem optimize`` go on to gate the candidate. Saves a screenshot to artifacts/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from automem_core.review.outcomes import load_evaluations
from automem_core.review.proposals import history, load_proposals
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, REPO, served_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IDLE = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""
AUTHOR, REASON = "browser-tester", "a status file is worth a gate"
LOOP_S = 240  # the whole loop: review run, the wait, the gate, the held-out report
# One iteration of Loop 1 on Crafter with the embedded reviewer, waiting for a person.
LOOP = [
    "optimize", "--game", "crafter", "--iterations", "1", "--review-seeds", "0",
    "--gating-seeds", "1-2", "--heldout-seeds", "3", "--max-steps", "30", "--quiet",
]  # fmt: skip


def wait_for(found: Callable[[], Any], proc: subprocess.Popen[bytes], log: Path, what: str) -> Any:
    """Poll ``found`` until it returns something truthy; fail with the loop's output when the
    loop exits first or takes too long."""
    deadline = time.monotonic() + LOOP_S
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the loop exited ({proc.returncode}) before {what}:\n{log.read_text()}")
        time.sleep(0.5)
    pytest.fail(f"no {what} within {LOOP_S} s:\n{log.read_text()}")


def waiting_proposal(root: Path) -> str | None:
    found = load_proposals(root)
    waiting = found[found["event"] == "proposed"]
    return str(waiting["proposal_id"].iloc[0]) if len(waiting) else None


@pytest.fixture(scope="module")
def waiting_loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)"
        if os.environ.get("CI"):  # CI must run the browser test, never pass without it
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("browser-revisions")
    root, log = work / "data", work / "loop.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "w") as out:
        command = [sys.executable, "-u", "-m", "automem_core.cli", *LOOP, "--data", str(root)]
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        pid = wait_for(lambda: waiting_proposal(root), proc, log, "a proposal")
        with served_dashboard(root, work / "streamlit.log") as url:
            yield {"url": url, "root": root, "proc": proc, "log": log, "proposal": pid}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_approving_in_chromium_lets_the_waiting_loop_gate_the_candidate(waiting_loop, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    expect, sync_playwright = sync_api.expect, sync_api.sync_playwright
    url, root, pid = waiting_loop["url"], waiting_loop["root"], waiting_loop["proposal"]
    proc, log = waiting_loop["proc"], waiting_loop["log"]
    cited = json.loads(history(root, pid)["citations_json"].iloc[-1])[0]
    episode, step = cited["episode_id"], cited["step"]
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1500, "height": 1400},
        )  # fmt: skip
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{url}/revisions")
        expect(page.get_by_text(f"is waiting for your decision on {pid}")).to_be_visible(
            timeout=30_000
        )
        page.wait_for_function(IDLE, timeout=30_000)

        link = page.get_by_role("link", name=re.compile(re.escape(episode) + f" · step {step}"))
        link.first.click()
        expect(page.get_by_role("heading", name=episode)).to_be_visible(timeout=30_000)
        expect(page.get_by_label("Go to step")).to_have_value(str(step), timeout=15_000)
        assert f"episode={episode}" in page.url and f"step={step}" in page.url

        page.go_back()
        expect(page.get_by_text(f"is waiting for your decision on {pid}")).to_be_visible(
            timeout=30_000
        )
        page.wait_for_function(IDLE, timeout=30_000)
        name = page.locator(".st-key-people-field input")  # the sidebar's identity
        name.fill(AUTHOR)
        name.press("Enter")
        page.wait_for_function(IDLE, timeout=30_000)
        reason = page.get_by_label("Reason (required; kept with your decision)")
        reason.fill(REASON)
        reason.press("Control+Enter")
        page.wait_for_function(IDLE, timeout=30_000)
        page.get_by_role("button", name="Approve", exact=True).click()
        expect(page.get_by_text(f"{pid} approved by {AUTHOR}")).to_be_visible(timeout=15_000)
        expect(page.get_by_text(re.compile(f"^Approved by {AUTHOR}: {REASON}"))).to_be_visible()

        try:
            assert proc.wait(timeout=LOOP_S) == 0, log.read_text()
        except subprocess.TimeoutExpired:
            pytest.fail(f"the loop did not finish within {LOOP_S} s:\n{log.read_text()}")
        verdict = re.compile("The gate (accepted|declined) it")
        expect(page.get_by_text(verdict)).to_be_visible(timeout=30_000)  # the page followed
        artifacts = REPO / "artifacts"
        artifacts.mkdir(exist_ok=True)
        page.set_viewport_size({"width": 1500, "height": 2600})  # Streamlit scrolls inside
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "browser_revisions.png"))
        browser.close()
    events = history(root, pid)
    approved = events[events["event"] == "approved"].iloc[0]
    assert (approved["author"], approved["reason"]) == (AUTHOR, REASON)
    assert events["event"].iloc[-1] in ("accepted", "declined")
    assert list(load_evaluations(root, pid)["seed_set"])[:1] == ["gating"]
    assert dialogs == [], f"an alert dialog fired: {dialogs}"
