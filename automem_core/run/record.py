"""The run's own record: its row in ``run.parquet``, a heartbeat while alive, and a lock.

A live run rewrites its row at least every ``HEARTBEAT_S`` seconds, so readers can tell a run in
progress from one whose process was killed (``running`` with an old ``updated_at``). A run id is
locked while a process writes it, so two commands never write the same episodes at once, and its
episodes are published only under the lease of the process holding the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.store.layout import Layout, StoreError
from automem_core.store.locks import RUN_LOCK, RunLease, wait_for_publishers
from automem_core.store.schema import RunRow, RunStatus, utc_now
from automem_core.store.writer import write_run

HEARTBEAT_S = 30.0


def _existing_run(layout: Layout, run_id: str) -> dict[str, Any] | None:
    path = layout.run_file(run_id)
    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, pa.ArrowException):
        return None
    return rows[0] if rows else None


def check_same_settings(layout: Layout, run_id: str, settings: str) -> None:
    """Refuse to resume a run id under other settings (tasks, seeds, scaffold, model, steps)."""
    existing = _existing_run(layout, run_id)
    if existing and existing.get("settings_hash") not in (None, settings):
        raise StoreError(
            f"run {run_id!r} was started with other settings; use a new --run-id, "
            "or repeat the original command to resume it"
        )


@contextlib.contextmanager
def run_lock(layout: Layout, run_id: str) -> Iterator[RunLease]:
    """Hold an exclusive lock on the run for as long as this process writes it; the lease its
    episodes are published under (store/locks.py). Publishes begun by workers of an earlier
    holder (killed) finish before this returns, and later ones are refused."""
    folder = layout.run_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / RUN_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(
                f"run {run_id!r} is being written by another process; wait for it to finish "
                "or choose another --run-id"
            ) from None
        lease = RunLease(folder, f"{os.getpid()}-{uuid.uuid4().hex}", os.getpid())
        os.ftruncate(fd, 0)
        os.pwrite(fd, lease.token.encode(), 0)
        wait_for_publishers(folder)
        shutil.rmtree(folder / ".partial", ignore_errors=True)  # earlier holders' unfinished work
        yield lease
    finally:
        os.close(fd)  # closing releases the lock


class RunRecord:
    """Writes the run row: ``running`` at start, heartbeats, then ``finished``/``interrupted``."""

    def __init__(self, run_id: str, fields: dict[str, Any], layout: Layout) -> None:
        self.layout, self.fields = layout, fields
        existing = _existing_run(layout, run_id)
        self.created_at = str(existing["created_at"]) if existing else utc_now()
        self._last_write = 0.0

    def write(self, status: RunStatus) -> None:
        row = RunRow(**self.fields, status=status, created_at=self.created_at, updated_at=utc_now())
        write_run(self.layout, row)
        self._last_write = time.monotonic()

    def touch(self) -> None:
        """Called as episodes finish: refresh the row, at most every two seconds."""
        if time.monotonic() - self._last_write >= 2.0:
            self.write("running")

    @contextlib.asynccontextmanager
    async def alive(self) -> AsyncIterator[Callable[[], None]]:
        """``running`` with a heartbeat inside the block; ``finished`` or ``interrupted`` after."""
        self.write("running")
        beat = asyncio.create_task(self._heartbeat())
        status: RunStatus = "interrupted"
        try:
            yield self.touch
            status = "finished"
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            self.write(status)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            self.write("running")
