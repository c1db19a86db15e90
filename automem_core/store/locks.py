"""Locks between processes.

``try_lock``: a lock one process at a time may hold, without waiting: compaction and record
merges use it so two of them never rewrite the same files, while readers and appenders never
block.

``RunLease``: the right to publish a run's episodes. The run holding the run's lock writes a token
into the lock file; its workers (other processes) carry the token and check, just before each
publish and under a shared ``.publish.lock``, that the lock file still holds it and that the run's
process is still alive (their parent). A run that takes the lock after a killed one writes its own
token, then takes ``.publish.lock`` exclusively once (:func:`wait_for_publishers`): a publish the
killed run's workers had begun finishes first, and every later one is refused. See
docs/architecture.md, "Runs and their workers".
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from automem_core.store.layout import StoreError

RUN_LOCK = ".lock"
PUBLISH_LOCK = ".publish.lock"
COMPACT_LOCK = ".compact.lock"  # in a run's folder: who rewrites its parts and manifest


class RunLockLost(StoreError):
    """The run this process publishes for no longer holds its lock: nothing is published."""


@contextlib.contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """Whether this process holds the lock file ``path`` (False: another process has it). The
    lock goes with the process, so a killed holder never leaves it taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@dataclass(frozen=True)
class RunLease:
    """What a process publishing a run's episodes carries: the run's folder, the token its
    lock file holds, and the process holding the lock (plain data: it crosses to workers)."""

    folder: Path
    token: str
    holder: int
    # Published from a cluster worker (run/ray_executor.py): the holder is not its parent and
    # may be on another machine; the cluster ends a driver's tasks with it, so only the token
    # is checked.
    remote: bool = False
    # A cluster worker on another machine than the run, writing a store on object storage
    # through its own mirror (store/remote.py): the lock file is on the run's machine, so
    # nothing here can be checked, and the cluster ending a gone driver's tasks is all there is.
    elsewhere: bool = False

    def check(self) -> None:
        """RunLockLost unless the lock file holds our token and its holder is alive (this
        process, or the parent of this worker)."""
        if self.elsewhere:
            return
        try:
            current = (self.folder / RUN_LOCK).read_text(encoding="utf-8")
        except OSError:
            current = ""
        alive = self.remote or self.holder in (os.getpid(), os.getppid())
        if current != self.token or not alive:
            raise RunLockLost(
                f"run {self.folder.name} is no longer held by the process this worker serves; "
                "its episode is not published"
            )

    @contextlib.contextmanager
    def publishing(self) -> Iterator[None]:
        """Hold the publish lock (shared) while checking the lease and publishing."""
        fd = os.open(self.folder / PUBLISH_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            self.check()
            yield
        finally:
            os.close(fd)


def wait_for_publishers(folder: Path) -> None:
    """Wait until no publish begun under an earlier lease of the run is in progress."""
    fd = os.open(folder / PUBLISH_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)
