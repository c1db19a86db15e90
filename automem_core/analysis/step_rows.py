"""One step's rows of an episode, read from only the row groups that can hold it.

Turns and frames are read per step; a part holds many episodes, so the row groups to read are
chosen by their statistics (episode id and step ranges), and a step costs the same in a short and
a long episode. The row groups read are cached by file and publication token. In a mirror of a
store on object storage, a part file its pull left in the store is read there in place, by byte
ranges: a step's frame costs its row group, not the part's whole frames file.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from automem_core.store.catalog import EpisodeFiles
from automem_core.store.remote_lazy import read_in_place


def forget_steps() -> None:
    """Drop the per-step caches (row groups); the benchmark's cold step change."""
    _row_group.cache_clear()


Range = tuple[object, object] | None  # (min, max) of a column in a row group; None: unknown


@functools.lru_cache(maxsize=64)
def _row_group_ranges(path: str, token: str) -> list[tuple[Range, Range]]:
    """(episode id range, step range) of every row group, from the Parquet statistics."""
    meta = read_in_place(Path(path), pq.read_metadata)
    schema = meta.schema.to_arrow_schema()
    cols = [schema.get_field_index("episode_id"), schema.get_field_index("step")]
    out = []
    for i in range(meta.num_row_groups):
        found: list[Range] = []
        for col in cols:
            stats = meta.row_group(i).column(col).statistics
            ok = stats is not None and stats.has_min_max
            found.append((stats.min, stats.max) if ok else None)
        out.append((found[0], found[1]))
    return out


@functools.lru_cache(maxsize=12)
def _row_group(path: str, token: str, index: int) -> pa.Table:
    return read_in_place(Path(path), lambda file: pq.ParquetFile(file).read_row_group(index))


def _within(value: object, span: Range) -> bool:
    return span is None or span[0] <= value <= span[1]  # type: ignore[operator]


def read_step_rows(found: EpisodeFiles, table: str, step: int) -> pa.Table | None:
    """The episode's rows of ``table`` for ``step``, reading only the row groups that can hold
    them (by their statistics), so a step costs the same in a short and a long episode."""
    path = str(found.files[table])  # in a mirror, maybe left in the store: read in place
    ranges = _row_group_ranges(path, found.token)
    parts = [
        _row_group(path, found.token, i)
        for i, (episodes, steps) in enumerate(ranges)
        if _within(found.episode_id, episodes) and _within(step, steps)
    ]
    if not parts:
        return None
    rows = pa.concat_tables(parts)
    mask = pc.equal(rows.column("step"), step)
    if found.in_part:
        mask = pc.and_(mask, pc.equal(rows.column("episode_id"), found.episode_id))
    return rows.filter(mask)
