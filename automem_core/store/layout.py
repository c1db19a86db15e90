"""Where things live under the data folder. Every path the store uses is built here."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import uuid
from pathlib import Path

from automem_core.errors import AutoMemError

DATA_ENV = "AUTOMEM_DATA"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class StoreError(AutoMemError, RuntimeError):
    """The data folder or a file in it cannot be used; the message says what and how to fix it."""


def default_data() -> str:
    """``$AUTOMEM_DATA`` (a folder, or a store URL: store/remote.py) or ``data``."""
    return os.environ.get(DATA_ENV) or "data"


def check_data_dir(root: Path, write: bool) -> Path:
    """``--data`` must be a folder (created when missing if we write); one-line errors."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise StoreError(f"--data {root} is a file, not a folder; give the data folder")
    if not write:
        return root
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"--data {root}: cannot create the folder ({exc.strerror})") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise StoreError(
            f"--data {root} is not writable; choose a folder you can write or fix its permissions"
        )
    return root


def check_id(value: str, what: str) -> str:
    """Ids become folder names: allow only a safe alphabet, never a path."""
    if not _SAFE_ID.match(value) or ".." in value:
        raise StoreError(
            f"invalid {what} {value!r}: use letters, digits, '.', '_' or '-' (no slashes, no '..')"
        )
    return value


class Layout:
    """Paths of the store rooted at ``root`` (the ``--data`` folder)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs / check_id(run_id, "run id")

    def run_file(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "run.parquet"

    def episode_dir(self, run_id: str, episode_key: str) -> Path:
        return self.run_dir(run_id) / "episodes" / check_id(episode_key, "episode key")

    def partial_dir(self, run_id: str, episode_key: str) -> Path:
        return self.run_dir(run_id) / ".partial" / check_id(episode_key, "episode key")

    @property
    def run_index(self) -> Path:
        """The runs' rows gathered in one file (store/run_index.py): derived, safe to delete."""
        return self.root / ".index" / "runs.parquet"

    @property
    def scaffolds(self) -> Path:
        return self.root / "scaffolds"


def has_runs(root: Path) -> bool:
    """Whether any run folder holds a run file (cheap: no Parquet is opened)."""
    runs = Layout(root).runs
    return runs.is_dir() and any((p / "run.parquet").exists() for p in runs.iterdir())


def no_runs_hint(root: Path) -> str:
    return f"no runs in {root}; try `automem demo --data {root}`"


def replace_folder(new: Path, final: Path) -> None:
    """Rename the finished folder ``new`` to ``final``, replacing an earlier one (an earlier
    attempt of an episode). Two processes may place the same episode at once (a run publishing
    it, and its mirror pulling it from the store): a rename that finds ``final`` put back
    meanwhile tries again, so the newest rename wins and neither fails."""
    for _ in range(50):
        trash = final.with_name(f".replaced-{uuid.uuid4().hex}")
        with contextlib.suppress(FileNotFoundError):
            os.rename(final, trash)
        try:
            os.rename(new, final)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
    os.rename(new, final)  # clashing every time: raise, and the caller reports it
