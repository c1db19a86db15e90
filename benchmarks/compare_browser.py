"""Lockstep steps as a person sees them: a real Chromium on the Compare page with four columns,
each a 10 000-step episode of the same seed, presses → and each press is timed from the key until
every column shows the next step and Streamlit is idle again. Beside it, in the same run and
store, the single-episode Replay page's step change pressed the same way (its "next" button).
Goal: Compare p95 ≤ 300 ms and at most twice the Replay step (ratio printed).

    .venv/bin/python benchmarks/compare_browser.py [--cache /tmp/automem-compare] [--presses 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from browser_press import press_and_wait
from playwright.sync_api import sync_playwright
from stores import REPO  # noqa: F401  (puts the repository on the path)

from automem_core.testing.sample_store import play_fake_run
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, served_dashboard

RUNS, STEPS = ("l1", "l2", "l3", "l4"), 10_000
IDLE = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""
COMPARE_PRESS = press_and_wait(
    "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));",
    "document.querySelector('.am-cmp-where')?.textContent || ''",
    "shown().startsWith('step ' + target + ' of')",
)
REPLAY_PRESS = press_and_wait(
    "document.querySelector('.st-key-replay-next button').click();",
    "document.querySelector('.st-key-replay-w_goto input')?.value",
    "shown() === String(target)",
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def store(cache: Path) -> Path:
    root = cache / "data"
    for run_id in RUNS:
        if not (root / "runs" / run_id).exists():
            t0 = time.perf_counter()
            play_fake_run(root, seeds=(0,), steps=STEPS, run_id=run_id)
            print(f"  played {run_id} ({STEPS:,} steps) in {time.perf_counter() - t0:.0f} s")
    return root


def timed(root: Path, link: str, script: str, ready: str, presses: int, start: int) -> list[float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        served_dashboard(root, Path(tmp) / "log") as url,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    headless=True)  # fmt: skip
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(url + link)
        page.wait_for_selector(ready, timeout=300_000)
        page.wait_for_function(IDLE, timeout=300_000)
        page.wait_for_timeout(2000)
        times = [page.evaluate(script, start + i + 1) for i in range(presses)]
        browser.close()
    if any(t < 0 for t in times):
        raise RuntimeError("a step change did not finish within 30 s")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/automem-compare"))
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--start", type=int, default=5_000)
    args = parser.parse_args()
    root = store(args.cache)
    ids = ",".join(f"{r}.grid.s0" for r in RUNS)
    compare = timed(root, f"/compare?compare={ids}&step={args.start}", COMPARE_PRESS,
                    ".am-cmp-where", args.presses, args.start)  # fmt: skip
    replay = timed(root, f"/replay?run=l1&episode=l1.grid.s0&step={args.start}", REPLAY_PRESS,
                   ".st-key-replay-w_goto input", args.presses, args.start)  # fmt: skip
    print(f"\nstep change, {len(RUNS)} columns of {STEPS:,}-step episodes ({args.presses}×)")
    print(f"{'':<44}{'p50 ms':>9}{'p95 ms':>9}")
    for name, times in (("Compare, 4 columns (Chromium)", compare),
                        ("baseline: Replay, one episode", replay)):  # fmt: skip
        print(f"{name:<44}{statistics.median(times):>9.0f}{pct(times, 0.95):>9.0f}")
    p95 = pct(compare, 0.95)
    ratio = statistics.median(compare) / statistics.median(replay)
    print(f"\ngoal: p95 ≤ 300 ms: {p95:.0f} ms {'met' if p95 <= 300 else 'MISSED'}")
    verdict = "met" if ratio <= 2 else "MISSED"
    print(f"ratio to the Replay step (p50): {ratio:.1f}× (goal ≤ 2: {verdict})")


if __name__ == "__main__":
    main()
