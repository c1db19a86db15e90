"""The sandboxed flat folder of memory files for one episode.

The in-memory :class:`~automem_core.memory.state.MemoryState` is authoritative; every change is
written through to disk. All disk access goes through a directory descriptor of the root with
``O_NOFOLLOW``, only regular files with a single link are ever read or written, nothing is ever
created outside the root and no subfolder is ever created.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from automem_core.memory.state import (
    MemoryState,
    Mutation,
    apply_mutation,
    copy_state,
    file_content,
    snapshot,
    split_lines,
)

PruneRule = Literal["none", "drop_oldest", "reject"]

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TEMP_PREFIX = ".tmp-"
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a fifo planted at a name must not hang a read
_OPEN_FILES = 8  # descriptors kept open per memory folder between writes


@dataclass(frozen=True)
class FilePolicy:
    """Rules for one memory file: its line cap (None: none, only the byte cap applies), what
    happens past it, and who may write it."""

    max_lines: int | None
    prune: PruneRule
    keyed: bool = False
    writable_by_agent: bool = True


@dataclass(frozen=True)
class MemoryLimits:
    """Caps that keep one episode's memory and each turn's results bounded."""

    max_files: int = 32
    max_file_bytes: int = 64_000
    max_ops_per_turn: int = 16
    max_result_chars: int = 4_000
    search_cap: int = 20
    max_name_len: int = 64


class MemoryNameError(ValueError):
    """A file name that is not allowed inside the memory folder."""


def check_file_name(name: str, max_len: int) -> str | None:
    """None when ``name`` is a valid memory file name, else the reason it is not."""
    if not name:
        return "empty name"
    if "\x00" in name:
        return "contains NUL"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if name.startswith("."):
        return "starts with a dot"
    if ".." in name:
        return "contains '..'"
    if len(name) > max_len:
        return f"longer than {max_len} characters"
    if _NAME_RE.fullmatch(name) is None:
        return "only ASCII letters, digits, '.', '_' and '-' are allowed"
    return None


def encoded(content: str) -> bytes:
    """The bytes a file's content takes on disk (UTF-8)."""
    return content.encode("utf-8")


class MemoryFiles:
    """One episode's memory folder: the authoritative state, written through to ``root``.

    ``root`` must be a folder dedicated to this episode's memory: :meth:`initialise` and
    :meth:`restore` remove the valid-named regular files they find there.
    """

    def __init__(
        self,
        root: Path,
        limits: MemoryLimits,
        policies: Mapping[str, FilePolicy],
        default_policy: FilePolicy,
        map_file: str | None = None,
    ) -> None:
        self.limits = limits
        for name, policy in [*policies.items(), ("<default>", default_policy)]:
            if policy.max_lines is not None and policy.max_lines < 1:
                raise ValueError(f"memory file {name!r}: max_lines must be at least 1")
        for name in [*policies, *([map_file] if map_file is not None else [])]:
            self._require_valid(name)
        self.root = Path(root)
        self.policies: dict[str, FilePolicy] = dict(policies)
        self.default_policy = default_policy
        self.map_file = map_file
        self.state: MemoryState = {}
        self._dir_fd: int | None = None
        self._fds: dict[str, int] = {}  # file name → open descriptor, least recent first
        self.root.mkdir(parents=True, exist_ok=True)

    # ----------------------------------------------------------------- queries

    def policy(self, name: str) -> FilePolicy:
        """The policy of ``name`` (the default policy for files the scaffold does not declare)."""
        return self.policies.get(name, self.default_policy)

    def name_error(self, name: str) -> str | None:
        """Why ``name`` is not a valid file name here, or None."""
        return check_file_name(name, self.limits.max_name_len)

    def case_clash(self, name: str) -> str | None:
        """The file (existing or declared) whose name differs from ``name`` only by case, or
        None: ``STATUS`` beside ``status`` would be one file on a case-insensitive disk and two
        to the agent."""
        folded = name.casefold()
        known = [*self.state, *self.policies, *([self.map_file] if self.map_file else [])]
        return next((k for k in known if k != name and k.casefold() == folded), None)

    def index(self) -> list[tuple[str, int]]:
        """(name, number of lines) of every file, sorted by name."""
        return [(name, len(self.state[name].lines)) for name in sorted(self.state)]

    def read_disk(self) -> dict[str, str]:
        """What is really on disk: valid-named regular files in root with a single link (links
        are not followed; a file hard-linked from elsewhere is not ours to read)."""
        found: dict[str, str] = {}
        with self._root_fd() as dir_fd:
            for entry in os.scandir(dir_fd):
                if self.name_error(entry.name) is not None:
                    continue
                if not _is_own_file(entry.stat(follow_symlinks=False)):
                    continue
                found[entry.name] = _read_file(dir_fd, entry.name)
        return dict(sorted(found.items()))

    # ----------------------------------------------------------------- changes

    def initialise(self, files: Mapping[str, str], step: int = 0) -> list[Mutation]:
        """Start from the scaffold's initial contents; returns the mutations that did it.

        Memory files already in root are removed first. A trailing newline of an initial content
        is dropped. Raises :class:`MemoryNameError` or ``ValueError`` naming the bad file.
        """
        if len(files) > self.limits.max_files:
            raise ValueError(
                f"{len(files)} initial memory files; limits allow {self.limits.max_files}"
            )
        mutations: list[Mutation] = []
        folded = [name.casefold() for name in files]
        if len(set(folded)) < len(folded):
            raise ValueError(f"initial memory files {sorted(files)} differ only by case")
        for name, content in files.items():
            self._require_valid(name)
            text = content.rstrip("\n")
            if len(encoded(text)) > self.limits.max_file_bytes:
                raise ValueError(f"initial memory file {name!r} exceeds max_file_bytes")
            cap = self.policy(name).max_lines
            if cap is not None and len(split_lines(text)) > cap:
                raise ValueError(f"initial memory file {name!r} has more than max_lines={cap}")
            if text:
                mutations.append(Mutation(kind="write", file=name, text=text))
            else:
                mutations.append(Mutation(kind="create", file=name))
        self._clear_disk()
        self.state = {}
        self.apply_many(mutations, step)
        return mutations

    def restore(self, state: MemoryState) -> None:
        """Replace memory with a copy of ``state`` (e.g. rebuilt for a fork) and rewrite root."""
        for name in state:
            self._require_valid(name)
        self._clear_disk()
        self.state = copy_state(state)
        with self._root_fd() as dir_fd:
            for name, content in snapshot(self.state).items():
                self._write(dir_fd, name, content)

    def apply(self, m: Mutation, step: int) -> None:
        """Apply ``m`` to the state and write the file through to disk atomically.

        Raises :class:`MemoryNameError` for a bad name and ``OSError`` when the disk refuses; in
        both cases the state is left unchanged.
        """
        self.apply_many([m], step)

    def apply_many(self, mutations: Sequence[Mutation], step: int) -> None:
        """Apply several mutations as one change: each touched file is written once.

        Raises :class:`MemoryNameError` for a bad name or a new name that differs only by case
        from a known one, and ``OSError`` when the disk refuses; the state is then unchanged.
        """
        touched = list(dict.fromkeys(m.file for m in mutations))
        for name in touched:
            self._require_valid(name)
            if name not in self.state and (other := self.case_clash(name)) is not None:
                raise MemoryNameError(f"memory file {name!r} differs only by case from {other!r}")
        trial = copy_state({name: self.state[name] for name in touched if name in self.state})
        for m in mutations:
            apply_mutation(trial, m, step)
        with self._root_fd() as dir_fd:
            for name in touched:
                if name in trial:
                    self._write(dir_fd, name, file_content(trial[name]))
                else:
                    self._forget_fd(name)
                    _remove_file(dir_fd, name)
        for name in touched:
            if name in trial:
                self.state[name] = trial[name]
            else:
                self.state.pop(name, None)

    # ----------------------------------------------------------------- internals

    def _require_valid(self, name: str) -> None:
        reason = check_file_name(name, self.limits.max_name_len)
        if reason is not None:
            raise MemoryNameError(f"invalid memory file name {name!r}: {reason}")

    def _write(self, dir_fd: int, name: str, content: str) -> None:
        """Overwrite ``name`` through a descriptor kept open for the next write (opening a file
        costs more than writing it); at most ``_OPEN_FILES`` stay open per folder."""
        fd = self._fds.pop(name, None)
        if fd is not None and not _is_own_file(os.fstat(fd)):  # linked or replaced meanwhile
            os.close(fd)
            fd = None
        if fd is None:
            fd = _open_regular(dir_fd, name)
            if len(self._fds) >= _OPEN_FILES:
                self._forget_fd(next(iter(self._fds)))  # the least recently written
        self._fds[name] = fd
        try:
            _overwrite(fd, encoded(content))
        except OSError:
            self._forget_fd(name)
            raise

    def _forget_fd(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is not None:
            os.close(fd)

    def _clear_disk(self) -> None:
        """Remove memory files and temp files left by an interrupted write; nothing else."""
        for name in list(self._fds):
            self._forget_fd(name)
        with self._root_fd() as dir_fd:
            for entry in os.scandir(dir_fd):
                if self.name_error(entry.name) is None or entry.name.startswith(_TEMP_PREFIX):
                    _remove_file(dir_fd, entry.name)

    @contextmanager
    def _root_fd(self) -> Iterator[int]:
        """The root's directory descriptor, opened once and kept until :meth:`close`."""
        if self._dir_fd is None:
            self._dir_fd = os.open(self.root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        yield self._dir_fd

    def close(self) -> None:
        """Release the descriptors (memory stays readable; a later write reopens them)."""
        for name in list(self._fds):
            self._forget_fd(name)
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None

    def __del__(self) -> None:
        with suppress(Exception):
            self.close()


def _is_own_file(info: os.stat_result) -> bool:
    """A regular file with exactly one link: a hard link to a file outside the folder has more,
    and writing it would write that file; a file unlinked or replaced under us has none."""
    return stat.S_ISREG(info.st_mode) and info.st_nlink == 1


def _check_own_file(fd: int, name: str) -> None:
    """Raise (closing ``fd``) unless ``fd`` is a regular file with a single link."""
    info = os.fstat(fd)
    if _is_own_file(info):
        return
    os.close(fd)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, f"{name!r} is not a regular file")
    raise OSError(errno.EMLINK, f"{name!r} has {info.st_nlink} links; only a file with one is used")


def _read_file(dir_fd: int, name: str) -> str:
    fd = os.open(name, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK, dir_fd=dir_fd)
    _check_own_file(fd, name)
    with os.fdopen(fd, "rb") as fh:
        return fh.read().decode("utf-8", errors="replace")


def _open_regular(dir_fd: int, name: str) -> int:
    """Open ``name`` in root for writing, creating it if needed.

    ``O_NOFOLLOW`` refuses a symlink planted at ``name``; anything that is not a regular file (a
    fifo, a folder) or has more than one link (a hard link to a file elsewhere) is refused
    before a byte is written.
    """
    flags = os.O_WRONLY | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK
    fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
    _check_own_file(fd, name)
    return fd


def _overwrite(fd: int, data: bytes) -> None:
    """Replace the file's bytes in place. The folder is a working copy: the Parquet op log is the
    record, so a torn write on a crash loses nothing."""
    written = 0
    while written < len(data):
        written += os.pwrite(fd, data[written:], written)
    os.ftruncate(fd, len(data))


def _remove_file(dir_fd: int, name: str) -> None:
    """Unlink ``name`` only when it is a regular file in root; anything else is left alone."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISREG(info.st_mode):
        os.unlink(name, dir_fd=dir_fd)
