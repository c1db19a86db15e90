"""The index follows the store: built as a run compacts, brought up to date by a later
compaction, gone with its run; and whenever it does not hold an episode as it is now (never
built, removed, damaged, stale, half-written), the episode is read in full instead, with a note,
and the answer stays exact."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter

from automem_core.search import index_run, search
from automem_core.search.build import COVERAGE, documents_of, index_dir, read_coverage
from automem_core.store.catalog import scan_run, write_manifest
from automem_core.store.compact import compact_run
from automem_core.store.layout import Layout
from automem_core.testing.sample_store import clone_episodes, play_fake_run
from tests.search.oracle import expected, found, holds, texts

QUERIES = ["gold", '"stop you"', "memory:/walls?/", "kind:UPSERT west", "circ*"]


def answers(root) -> dict[str, Counter]:  # type: ignore[no-untyped-def, type-arg]
    return {q: found(root, q) for q in QUERIES}


def run_folder(root, run_id: str):  # type: ignore[no-untyped-def]
    return Layout(root).run_dir(run_id)


def test_compaction_indexes_the_part_it_writes_and_the_episodes_left_loose(played):
    coverage = read_coverage(run_folder(played, "alpha"))
    assert coverage is not None and coverage.pending == []
    run = scan_run(run_folder(played, "alpha"))
    (part,) = run.parts
    assert {e: t for e, t in coverage.episodes.items() if e in part.episodes} == {
        e: f"part:{part.part_id}" for e in part.episodes
    }
    assert (
        set(coverage.episodes) - set(part.episodes)
        == set(run.loose)
        == {"alpha.crash.s0", "alpha.crash.s1"}
    )  # failed episodes stay loose (a resume plays them again) and are indexed as they are
    beta = read_coverage(run_folder(played, "beta"))  # one episode: no part, but the run's end
    assert beta is not None and list(beta.episodes) == ["beta.grid.s0"]  # indexed it loose


def test_a_run_without_an_index_is_read_in_full_and_said(played, store, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(played, root)
    shutil.rmtree(index_dir(run_folder(root, "beta")))  # as a store from before search was
    result = search(root, "gold", limit=5)
    assert result.notes == [
        "run beta has no search index: its episode was read in full for this query (slower); "
        "`automem upgrade` builds it",
    ]
    assert answers(root) == answers(store)
    assert search(store, "gold").notes == []


def test_an_index_removed_on_purpose_falls_back_and_says_so(store, store_copy):
    shutil.rmtree(index_dir(run_folder(store_copy, "alpha")))
    result = search(store_copy, "gold")
    assert result.notes == [
        "run alpha has no search index: its 4 episodes were read in full for this query "
        "(slower); `automem upgrade` builds it"
    ]
    assert answers(store_copy) == answers(store)
    assert index_run(store_copy, "alpha") == 4
    assert search(store_copy, "gold").notes == []


def test_a_damaged_index_falls_back_and_says_so(store, store_copy):
    folder = index_dir(run_folder(store_copy, "alpha")) / "tantivy"
    (folder / "meta.json").write_text("{ not json", encoding="utf-8")
    result = search(store_copy, "gold")
    assert len(result.notes) == 1
    assert result.notes[0].startswith("run alpha has a search index that cannot be read (")
    assert result.notes[0].endswith("its 4 episodes were read in full for this query (slower); "
                                    "`automem upgrade` builds it")  # fmt: skip
    assert answers(store_copy) == answers(store)
    assert index_run(store_copy, "alpha") == 4  # rebuilt whole
    assert search(store_copy, "gold").notes == []


def test_a_damaged_segment_falls_back_and_says_so(store, store_copy):
    folder = index_dir(run_folder(store_copy, "alpha")) / "tantivy"
    for path in folder.iterdir():
        if path.suffix in (".idx", ".term", ".store"):
            path.write_bytes(b"\0" * 16)
    result = search(store_copy, "gold")
    assert any("search index that" in n and "read in full" in n for n in result.notes)
    assert answers(store_copy) == answers(store)


def test_a_run_deleted_takes_its_index_and_its_hits_with_it(store, store_copy):
    before = found(store_copy, "gold")
    shutil.rmtree(run_folder(store_copy, "beta"))
    after = found(store_copy, "gold")
    assert after == Counter({k: n for k, n in before.items() if not str(k[1]).startswith("beta")})
    assert after != before


def test_episodes_compacted_again_are_found_once_each(store_copy):
    clone_episodes(store_copy, "alpha.grid.s0", "alpha", 2, first_seed=50)
    pool = texts(store_copy)
    want = expected(pool, lambda t: any(holds(x, ["walls"]) for x in t.fields.values()))
    loose = search(store_copy, "walls", limit=1)
    assert loose.notes == ["run alpha: 2 episodes not in its index yet (published or changed "
                           "since it was built) read in full"]  # fmt: skip
    assert found(store_copy, "walls") == want
    assert compact_run(store_copy, "alpha") == 2  # the hook indexes the new part
    assert search(store_copy, "walls", limit=1).notes == []
    assert found(store_copy, "walls") == want
    assert any(str(k[1]).startswith("alpha.grid.s5") for k in want)


def test_a_part_taken_out_of_the_manifest_takes_its_episodes_out_of_the_answers(store_copy):
    folder = run_folder(store_copy, "alpha")
    run = scan_run(folder)
    held = set(run.parts[0].episodes)
    write_manifest(folder, [])
    got = found(store_copy, "gold")
    assert got and not any(k[1] in held for k in got)


def test_a_republished_episode_is_read_again_not_twice(store, store_copy):
    folder = scan_run(run_folder(store_copy, "alpha")).loose["alpha.crash.s0"]
    os.utime(folder / "episodes.parquet", ns=(1, 1))  # as if written again
    result = search(store_copy, "gold")
    assert result.notes == ["run alpha: 1 episode not in its index yet (published or changed "
                            "since it was built) read in full"]  # fmt: skip
    assert answers(store_copy) == answers(store)
    assert index_run(store_copy, "alpha") == 1
    assert search(store_copy, "gold").notes == [] and answers(store_copy) == answers(store)


def test_a_build_killed_half_way_leaves_answers_exact(store, store_copy):
    path = index_dir(run_folder(store_copy, "alpha")) / COVERAGE
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["pending"] = ["alpha.grid.s1"]  # what a killed build leaves: this one was being changed
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert len(search(store_copy, "gold").notes) == 1
    assert answers(store_copy) == answers(store)
    assert index_run(store_copy, "alpha") == 1
    assert read_coverage(run_folder(store_copy, "alpha")).pending == []  # type: ignore[union-attr]


def test_a_run_of_one_episode_ends_with_its_index(tmp_path):
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=12, run_id="single")
    assert not scan_run(run_folder(root, "single")).parts  # too few episodes for a part
    coverage = read_coverage(run_folder(root, "single"))
    assert coverage is not None and list(coverage.episodes) == ["single.grid.s0"]
    answer = search(root, "gold")
    assert answer.notes == [] and answer.total > 0


def test_an_episode_compacted_while_it_is_read_is_read_from_its_part(tmp_path):
    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=12, run_id="moving")
    clone_episodes(root, "moving.grid.s0", "moving", 1)  # a second loose episode
    listed = scan_run(run_folder(root, "moving"))
    assert len(listed.loose) == 2
    assert compact_run(root, "moving") == 2  # the listed folders are gone now
    numbers = {e: i for i, e in enumerate(sorted(listed.loose))}
    docs = dict(documents_of(listed, set(listed.loose), numbers))
    assert set(docs) == set(listed.loose) and all(docs.values())
