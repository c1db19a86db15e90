"""The browser benchmarks' one timing script: do something on the page, then wait until the page
shows what it should and Streamlit is idle again (its app root reports ``notRunning``); the time
between the two, in milliseconds (-1 after 30 s)."""

from __future__ import annotations


def press_and_wait(action: str, shown: str, done: str) -> str:
    """A Playwright ``page.evaluate`` function of one argument ``target``: ``action`` (a JS
    statement) starts the change, ``shown`` (a JS expression) reads the page, ``done`` (a JS
    expression over ``shown()`` and ``target``) says the change is drawn."""
    return f"""
async (target) => {{
  const app = () => document.querySelector('[data-testid="stApp"]');
  const shown = () => {shown};
  const t0 = performance.now();
  {action}
  while (!(({done}) && app().getAttribute('data-test-script-state') === 'notRunning')) {{
    await new Promise(r => requestAnimationFrame(r));
    if (performance.now() - t0 > 30000) {{ return -1; }}
  }}
  return performance.now() - t0;
}}
"""
