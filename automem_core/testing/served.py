"""The dashboard served for real (``streamlit run``) and Debian's Chromium to drive it.

Browser tests and browser benchmarks share this: a Streamlit server on a free localhost port over
a given data folder, and the flags Chromium needs on a machine without network access.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} was not healthy within {timeout_s} s")


@contextlib.contextmanager
def served_dashboard(
    root: Path,
    log_file: Path,
    script: str = "dashboard/app.py",
    secrets: Callable[[str], str] | None = None,
) -> Iterator[str]:
    """``streamlit run dashboard/app.py`` (or another ``script``, run with the repository's
    Streamlit config) over ``root``; yields its URL, stops it after. ``secrets`` makes the
    server's ``secrets.toml`` from its URL (say an ``[auth]`` section for signing in)."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    if secrets is not None:
        secrets_file = log_file.parent / "secrets.toml"
        secrets_file.write_text(secrets(f"http://127.0.0.1:{port}"), encoding="utf-8")
        cmd += ["--secrets.files", str(secrets_file)]
    env = {**os.environ, "AUTOMEM_DATA": str(root)}
    with open(log_file, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
