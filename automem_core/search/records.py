"""The store's records in one small index: proposals' rationales and labels' notes.

Records are not a run's: a proposal reviews several runs, and people label decisions of any run
at any time, one small file per act. So they get one index for the whole store,
``data/.index/search/``, rebuilt whole when the records change: a search compares the record
files with those the index was built from (names and modification times) and rebuilds it first
when they differ. Only current rows are indexed (the latest row wins: a proposal's latest event,
each person's latest label of a target; an undone label is not there). A label carries the run,
episode, step and phase of the decision it is about, so the filters apply to it; a label of a
decision whose run was deleted is left out of answers. When the index cannot be written (another
process is rebuilding it, a read-only store) the records are indexed in memory for the query.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tantivy

from automem_core.search.build import READ_ERRORS, open_index
from automem_core.search.corpus import Searchable
from automem_core.search.fields import INDEX_VERSION, NO_STEP, position, schema, tag, tags
from automem_core.store.current import latest_sql
from automem_core.store.locks import try_lock
from automem_core.store.reader import query_store
from automem_core.store.records import record_files

log = logging.getLogger(__name__)
TABLES = ("proposals", "labels", "decisions", "alternatives")
HEAP_BYTES = 64_000_000
STAMP = "records.json"


def records_index_dir(root: Path) -> Path:
    return Path(root) / ".index" / "search"


def records_stamp(root: Path) -> str:
    """The record files the index would be built from, with their modification times."""
    parts = [f"v{INDEX_VERSION}"]
    for table in TABLES:
        for path in record_files(root, table):
            with contextlib.suppress(OSError):
                parts.append(f"{table}/{path.name}:{path.stat().st_mtime_ns}")
    return "\n".join(parts)


_DECISIONS_SQL = """
SELECT d.decision_id, d.run_id, d.episode_id, d.game, d.task, d.seed, d.scaffold_version,
       d.step, d.phase, d.turn
FROM decisions d"""
_ALTERNATIVES_SQL = "SELECT alternative_id, decision_id FROM alternatives"
_LABELS_SQL = (
    f"SELECT * FROM ({latest_sql('labels')}) WHERE note <> '' AND verdict <> 'cleared' "
    "ORDER BY label_id"
)


def _read(root: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    def run(con: Any) -> tuple[list[dict[str, Any]], ...]:
        def rows(sql: str) -> list[dict[str, Any]]:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

        return (
            rows(f"SELECT * FROM ({latest_sql('proposals')}) ORDER BY proposal_id"),
            rows(_LABELS_SQL),
            rows(_DECISIONS_SQL),
            rows(_ALTERNATIVES_SQL),
        )

    proposals, labels, decisions, alternatives = query_store(root, run, tables=TABLES)
    by_id = {d["decision_id"]: d for d in decisions}
    for alt in alternatives:
        if alt["decision_id"] in by_id:
            by_id[alt["alternative_id"]] = by_id[alt["decision_id"]]
    return proposals, labels, by_id


def record_documents(root: Path) -> Iterator[tantivy.Document]:
    proposals, labels, decisions = _read(root)
    for p in proposals:
        versions = [p["parent_version"], p["candidate_version"]]
        runs = p["review_runs"] if p["review_runs"] is not None else []
        yield tantivy.Document(
            tag=[
                *tags(
                    source="proposal", ref=p["proposal_id"], verdict=p["event"], author=p["author"]
                ),
                *(tag("version", v) for v in versions if v),
                *(tag("run_id", r) for r in runs),
            ],
            until=NO_STEP,
            rationale=f"{p['summary']}\n{p['rationale']}",
        )
    for label in labels:
        own = tags(
            source="label", ref=label["label_id"], verdict=label["verdict"], author=label["author"]
        )
        about = decisions.get(label["target_id"])
        if about is None:
            yield tantivy.Document(
                tag=[*own, *tags(version=label["scaffold_version"])],
                until=NO_STEP,
                note=label["note"],
            )
            continue
        step, phase, turn = int(about["step"]), str(about["phase"]), int(about["turn"])
        yield tantivy.Document(
            tag=[
                *own,
                *tags(
                    run_id=about["run_id"],
                    episode_id=about["episode_id"],
                    game=about["game"],
                    task=about["task"],
                    version=about["scaffold_version"],
                    phase=phase,
                ),
            ],
            seed=int(about["seed"]),
            step=step,
            turn=turn,
            at=position(step, phase, turn),
            until=NO_STEP,
            note=label["note"],
        )


def _build(folder: Path | None, root: Path) -> tantivy.Index:
    index = tantivy.Index(schema(), path=str(folder) if folder else None)
    writer = index.writer(heap_size=HEAP_BYTES, num_threads=1)
    for doc in record_documents(root):
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index


def build_records_index(root: Path) -> bool:
    """Rebuild the records' index when the records changed since it was built; whether it is
    current now (False: another process is rebuilding it, or it cannot be written)."""
    home = records_index_dir(root)
    stamp = records_stamp(root)
    try:
        if (home / STAMP).read_text(encoding="utf-8") == json.dumps(stamp):
            return True
    except OSError:
        pass
    try:
        home.parent.mkdir(parents=True, exist_ok=True)
        with try_lock(home.parent / ".search.lock") as mine:
            if not mine:
                return False
            fresh = home.with_name(f".search-{uuid.uuid4().hex}")
            fresh.mkdir()
            try:
                _build(fresh, root)
                (fresh / STAMP).write_text(json.dumps(stamp), encoding="utf-8")
                old = home.with_name(f".search-old-{uuid.uuid4().hex}")
                with contextlib.suppress(FileNotFoundError):
                    home.rename(old)
                fresh.rename(home)
                shutil.rmtree(old, ignore_errors=True)
            finally:
                shutil.rmtree(fresh, ignore_errors=True)
    except (*READ_ERRORS, OSError) as exc:
        log.warning("cannot write the records' search index in %s (%s)", home, exc)
        return False
    return True


def records_searchable(root: Path) -> tuple[Searchable | None, list[str]]:
    """The records' index, current (or built in memory when it cannot be); notes."""
    if not any(record_files(root, t) for t in ("proposals", "labels")):
        return None, []
    if build_records_index(root):
        try:
            return Searchable(open_index(records_index_dir(root)).searcher(), None), []
        except (ValueError, OSError) as exc:
            log.warning("the records' search index does not open (%s)", exc)
    try:
        index = _build(None, root)
    except READ_ERRORS as exc:
        return None, [f"the records cannot be read ({str(exc).splitlines()[0][:80]})"]
    return Searchable(index.searcher(), None, scanned=True), [
        "the records' search index could not be brought up to date: records read in full"
    ]
