"""Atomic Parquet writing: one folder per episode, published by a single rename when complete.

An episode streams its rows into ``runs/<run>/.partial/<episode>.<attempt>/`` (row groups flushed
as it goes, so a 100 000-step episode never sits whole in memory) and is moved to
``runs/<run>/episodes/<episode>/`` only when every file is closed. Readers glob the published
folders, so they never see half an episode, and a killed run loses only the episodes in flight.
Each attempt has a folder of its own, so no two processes ever write into one; a run publishes
under its lease (``locks.py``), so a process that lost its run's lock publishes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.store.layout import Layout, replace_folder
from automem_core.store.locks import RunLease
from automem_core.store.remote import publish_file, remote_of
from automem_core.store.schema import EPISODE_TABLES, SCHEMAS, EpisodeRow, RunRow, to_table
from automem_core.store.summary import EpisodeSummary
from automem_core.store.turn_signals import TurnSignals

_COMPRESSION = "zstd"
# Keyframes are large and read one at a time: small row groups let a reader skip the others.
_FLUSH_ROWS = {"memory_snapshots": 16}


def write_table_atomic(path: Path, name: str, rows: Sequence[Any]) -> None:
    """Write a whole table to ``path`` via a temp file and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(to_table(name, rows), tmp, compression=_COMPRESSION)
    os.replace(tmp, path)


def write_run(layout: Layout, run: RunRow) -> None:
    path = layout.run_file(run.run_id)
    write_table_atomic(path, "runs", [run])
    publish_file(layout.root, path)  # a store on object storage: one PUT (store/remote.py)


class EpisodeWriter:
    """Streams one episode's rows to Parquet and publishes the folder atomically on commit."""

    def __init__(
        self,
        layout: Layout,
        run_id: str,
        episode_key: str,
        flush_rows: int = 1024,
        lease: RunLease | None = None,
    ):
        self._final = layout.episode_dir(run_id, episode_key)
        self._remote = remote_of(layout.root)
        self._run_id, self._key = run_id, episode_key
        self.dir = layout.partial_dir(run_id, f"{episode_key}.{uuid.uuid4().hex[:8]}")
        self._lease = lease
        self.dir.mkdir(parents=True)
        self.memory_dir = self.dir / "memory"
        self.memory_dir.mkdir()
        self._flush_rows = flush_rows
        self._buffers: dict[str, list[Any]] = {t: [] for t in EPISODE_TABLES if t != "episodes"}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self.summary = EpisodeSummary()
        self.signals = TurnSignals()
        self.episode: EpisodeRow | None = None

    def add(self, table: str, row: Any) -> None:
        self.summary.add(table, row)
        self.signals.add(table, row)
        buf = self._buffers[table]
        buf.append(row)
        if len(buf) >= _FLUSH_ROWS.get(table, self._flush_rows):
            self._flush(table)

    def _flush(self, table: str) -> None:
        buf = self._buffers[table]
        if not buf and table in self._writers:
            return
        writer = self._writers.get(table)
        if writer is None:
            path = self.dir / f"{table}.parquet"
            writer = pq.ParquetWriter(path, SCHEMAS[table], compression=_COMPRESSION)
            self._writers[table] = writer
        writer.write_table(to_table(table, buf))
        buf.clear()

    def commit(self, episode: EpisodeRow) -> Path:
        """Close every file, write the episode row last (with the summary of its rows), and
        publish the folder."""
        for table in self._buffers:
            self._flush(table)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        episode = dataclasses.replace(episode, **self.summary.columns())
        self.episode = episode  # the row as published
        if self.signals.in_order:  # derived tables: none when they cannot be trusted
            signals = self.signals.rows(episode.episode_id)
            pq.write_table(to_table("turn_signals", signals), self.dir / "turn_signals.parquet")
        pq.write_table(to_table("episodes", [episode]), self.dir / "episodes.parquet")
        with self._lease.publishing() if self._lease else contextlib.nullcontext():
            if self._remote is not None:  # the store's copy first, its commit marker last
                self._remote.publish_episode(self.dir, self._run_id, self._key)
            self._final.parent.mkdir(parents=True, exist_ok=True)
            replace_folder(self.dir, self._final)  # a failed earlier attempt: replaced
        return self._final

    def discard(self) -> None:
        for writer in self._writers.values():
            with contextlib.suppress(OSError, pa.ArrowException):
                writer.close()
        self._writers.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
