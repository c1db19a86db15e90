"""Sample stores for tests and benchmarks, written by the real runner.

:func:`play_fake_run` plays the fake game through ``automem_core.run`` exactly as ``automem run``
would (embedded player, real writer, keyframes, frames). :func:`write_sample_store` makes the small
store the dashboard tests use. :func:`clone_episodes` reaches benchmark sizes (millions of steps)
without playing them: it copies the rows of played episodes under new ids through the store's
writer, so the data has the shape of real episodes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from automem_core.run.config import RunConfig
from automem_core.run.runner import run
from automem_core.scaffold import load_scaffold, write_scaffold
from automem_core.store.catalog import Part, locate_episode, scan, scan_run, write_manifest
from automem_core.store.layout import Layout
from automem_core.store.record_rows import SeedSet
from automem_core.store.schema import EPISODE_TABLES, TABLES, EpisodeRow, RunRow
from automem_core.store.writer import EpisodeWriter, write_run
from automem_core.testing.fake_game import GAME, SCAFFOLD_DIR


def play_fake_run(
    root: Path,
    *,
    tasks: Sequence[str] = ("grid",),
    seeds: Sequence[int] = (0,),
    steps: int = 30,
    scaffold: str | Path | None = None,
    run_id: str | None = None,
    seed_set: SeedSet | None = None,
    workers: int = 1,
    training_id: str | None = None,
) -> str:
    """Play the fake game through the real runner; returns the run id."""
    cfg = RunConfig(
        game=GAME,
        tasks=tuple(tasks),
        seeds=tuple(seeds),
        data=Path(root),
        scaffold=str(scaffold or SCAFFOLD_DIR),
        max_steps=steps,
        run_id=run_id,
        seed_set=seed_set,
        workers=workers,
        concurrency=4,
        training_id=training_id,
    )
    return asyncio.run(run(cfg, progress=False)).run_id


def variant_scaffold(root: Path, **limits: int) -> Path:
    """A copy of the fake scaffold with the same id and other ``limits``: a second version."""
    base = load_scaffold(SCAFFOLD_DIR)
    spec = base.spec.model_copy(
        update={"limits": base.spec.limits.model_copy(update=limits or {"search_cap": 5})}
    )
    return write_scaffold(dataclasses.replace(base, spec=spec), Path(root) / "variant-scaffold")


def write_sample_store(root: Path, steps: int = 30) -> list[str]:
    """Both frame kinds (tty and png), two versions of one scaffold id, one failed episode."""
    root = Path(root)
    variant = variant_scaffold(root.parent / f"{root.name}-scaffolds")
    return [
        play_fake_run(root, tasks=("grid", "pixels"), seeds=(0, 1), steps=steps, run_id="fake-v0"),
        play_fake_run(
            root,
            tasks=("grid", "pixels"),
            seeds=(0, 1),
            steps=steps,
            scaffold=variant,
            run_id="fake-variant",
        ),
        play_fake_run(
            root, tasks=("grid", "crash"), seeds=(0, 1), steps=steps, run_id="fake-crash"
        ),
    ]


def clone_episodes(
    root: Path, source_episode: str, run_id: str, copies: int, first_seed: int = 1000
) -> list[str]:
    """Publish ``copies`` copies of a played episode into ``run_id`` (seeds from ``first_seed``),
    through the store's writer; returns the new episode ids. Benchmarks use this to reach
    millions of steps with rows recorded from a real episode."""
    found = locate_episode(Path(root), source_episode)
    where = [("episode_id", "==", source_episode)] if found.in_part else None
    tables = {t: pq.read_table(found.files[t], filters=where).to_pylist() for t in EPISODE_TABLES}
    (source,) = [EpisodeRow(**row) for row in tables.pop("episodes")]
    layout, made = Layout(Path(root)), []
    if not layout.run_file(run_id).exists():
        (run_row,) = pq.read_table(layout.run_file(source.run_id)).to_pylist()
        run_row.update(run_id=run_id, status="finished", episodes_planned=copies)
        write_run(layout, RunRow(**run_row))
    for i in range(copies):
        seed = first_seed + i
        eid = f"{run_id}.{source.task}.s{seed}"
        writer = EpisodeWriter(layout, run_id, eid, flush_rows=4096)
        for table, rows in tables.items():
            row_type: Any = TABLES[table]
            for row in rows:
                writer.add(table, row_type(**{**row, "episode_id": eid}))
        episode = dataclasses.replace(source, episode_id=eid, run_id=run_id, seed=seed)
        writer.commit(episode)
        made.append(eid)
    return made


def describe(root: Path) -> dict[str, Any]:
    """How many runs, episodes and steps a store holds (for benchmark headers)."""
    runs = scan(Path(root))
    episodes = steps = 0
    for files in runs:
        for part in files.parts:
            episodes += len(part.episodes)
            steps += pq.read_metadata(files.part_file(part, "steps")).num_rows
        for folder in files.loose.values():
            episodes += 1
            steps += pq.read_metadata(folder / "steps.parquet").num_rows
    return {"runs": len(runs), "episodes": episodes, "steps": steps}


def clone_run(root: Path, source_run: str, new_run: str) -> int:
    """Copy a compacted run under a new id (its parts rewritten row group by row group with the
    new ids, then its manifest); how many episodes it holds. Benchmarks use this to reach tens
    of millions of steps from runs of real episodes."""
    layout = Layout(Path(root))
    source = scan_run(layout.run_dir(source_run))
    if source.loose:
        raise ValueError(f"run {source_run} has episodes that are not compacted; compact it first")
    target = layout.run_dir(new_run)
    (target / "parts").mkdir(parents=True, exist_ok=True)
    old, new = f"{source_run}.", f"{new_run}."
    parts = []
    for part in source.parts:
        folder = target / "parts" / part.part_id
        folder.mkdir()
        sizes = {}
        for table in part.sizes:
            path = folder / f"{table}.parquet"
            _rewrite_ids(source.part_file(part, table), path, old, new, new_run)
            sizes[table] = path.stat().st_size
        episodes = tuple(new + e[len(old) :] for e in part.episodes)
        parts.append(Part(part.part_id, episodes, sizes, part.version, part.task_stats))
    (row,) = pq.read_table(source.run_file).to_pylist()
    write_run(layout, RunRow(**{**row, "run_id": new_run}))
    write_manifest(target, parts)
    return sum(len(p.episodes) for p in parts)


def _rewrite_ids(src: Path, dst: Path, old: str, new: str, run_id: str) -> None:
    reader = pq.ParquetFile(src)
    with pq.ParquetWriter(dst, reader.schema_arrow, compression="zstd") as writer:
        for i in range(reader.num_row_groups):
            group = reader.read_row_group(i)
            ids = pc.utf8_slice_codeunits(group["episode_id"], len(old))
            renamed = pc.binary_join_element_wise(new, ids, "")
            group = group.set_column(
                group.schema.get_field_index("episode_id"), "episode_id", renamed
            )
            if "run_id" in group.column_names:
                index = group.schema.get_field_index("run_id")
                group = group.set_column(index, "run_id", pa.array([run_id] * len(group)))
            writer.write_table(group.cast(reader.schema_arrow))
