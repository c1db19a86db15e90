"""Replay step changes as a person sees them: a real Chromium presses "next" 20 times on a
10 000-step episode in a 1 000-episode store, and each press is timed from the click until the
step shown has changed and Streamlit is idle again (its app root reports ``notRunning``).

Beside it, the same step change measured server side (Streamlit's AppTest on the same store and
episode), so the difference is what the browser adds, and the baseline measured in the same run:
Streamlit's own floor on this machine, a page whose fragment holds only a "next" button and the
step number, pressed the same way. Goal: browser p95 ≤ 200 ms.

    .venv/bin/python benchmarks/replay_browser.py [--cache /tmp/automem-store-scale] [--presses 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import streamlit as st
from browser_press import press_and_wait
from playwright.sync_api import sync_playwright
from stores import REPO, played_store
from streamlit.testing.v1 import AppTest

from automem_core.testing.sample_store import play_fake_run
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, served_dashboard

LONG_RUN, LONG_STEPS = "long-episode", 10_000
IDLE = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""
PRESS_AND_WAIT = press_and_wait(
    "document.querySelector('.st-key-replay-next button').click();",
    "document.querySelector('.st-key-replay-w_goto input')?.value",
    "shown() === String(target)",
)


# The floor: what any Streamlit fragment rerun costs here, with the page's own key names so the
# same press-and-wait script drives it.
FLOOR_APP = """
import streamlit as st

def bump():
    st.session_state["step"] += 1

@st.fragment
def view():
    st.session_state.setdefault("step", int(st.query_params.get("step", 0)))
    st.button("next", key="replay.next", on_click=bump)
    st.session_state["replay.w_goto"] = st.session_state["step"]
    st.number_input("Go to step", 0, 10**6, key="replay.w_goto")

view()
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def store(cache: Path) -> Path:
    root = played_store(cache / "played-1000", 1_000)
    if not (root / "runs" / LONG_RUN).exists():
        t0 = time.perf_counter()
        play_fake_run(root, steps=LONG_STEPS, run_id=LONG_RUN)
        print(f"  played a {LONG_STEPS:,}-step episode in {time.perf_counter() - t0:.0f} s")
    return root


def in_browser(root: Path, presses: int, start: int, floor: bool = False) -> list[float]:
    """Press "next" ``presses`` times on the replay page (``floor``: on :data:`FLOOR_APP`)."""
    link = f"/replay?run={LONG_RUN}&episode={LONG_RUN}.grid.s0&step={start}"
    with tempfile.TemporaryDirectory() as tmp:
        script = "dashboard/app.py"
        if floor:
            link = f"/?step={start}"
            script = str(Path(tmp) / "floor.py")
            Path(script).write_text(FLOOR_APP)
        return _press(root, Path(tmp), script, link, presses, start)


def _press(root: Path, tmp: Path, script: str, link: str, presses: int, start: int) -> list[float]:
    with served_dashboard(root, tmp / "log", script) as url, sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1500, "height": 1200},
        )
        page = browser.new_page()
        page.goto(url + link)
        page.wait_for_selector(".st-key-replay-w_goto input", timeout=120_000)
        page.wait_for_function(IDLE, timeout=120_000)
        page.wait_for_timeout(1000)
        times = [page.evaluate(PRESS_AND_WAIT, start + i + 1) for i in range(presses)]
        browser.close()
    if any(t < 0 for t in times):
        raise RuntimeError("a step change did not finish within 30 s")
    return times


def server_side(root: Path, presses: int, start: int) -> list[float]:
    os.environ["AUTOMEM_DATA"] = str(root)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=300)
    at.query_params = {"run": LONG_RUN, "episode": f"{LONG_RUN}.grid.s0", "step": str(start)}
    at.run()
    times = []
    for _ in range(presses):
        at.button(key="replay.next").click()
        t0 = time.perf_counter()
        at.run()
        times.append(1000 * (time.perf_counter() - t0))
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/automem-store-scale"))
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--start", type=int, default=5_000)
    args = parser.parse_args()
    root = store(args.cache)
    browser = in_browser(root, args.presses, args.start)
    floor = in_browser(root, args.presses, args.start, floor=True)
    server = server_side(root, args.presses, args.start)
    print(f"\nnext step, {LONG_STEPS:,}-step episode in a 1 000-episode store ({args.presses}×)")
    print(f"{'':<40}{'p50 ms':>9}{'p95 ms':>9}")
    rows = (
        ("Chromium (click → shown, idle)", browser),
        ("server side (AppTest)", server),
        ("baseline: a bare Streamlit fragment", floor),
    )
    for name, times in rows:
        print(f"{name:<40}{statistics.median(times):>9.0f}{pct(times, 0.95):>9.0f}")
    p95 = pct(browser, 0.95)
    print(f"\ngoal: browser p95 ≤ 200 ms: {p95:.0f} ms {'met' if p95 <= 200 else 'MISSED'}")
    print(f"the browser adds {statistics.median(browser) - statistics.median(server):.0f} ms (p50)")
    ratio = statistics.median(browser) / statistics.median(floor)
    print(f"ratio to the bare fragment (p50): {ratio:.1f}×")


if __name__ == "__main__":
    main()
