"""Commands that read or maintain the store: runs, episodes, diagnostics, memory, upgrade,
compact."""

from __future__ import annotations

import argparse
import os


def cmd_runs(args: argparse.Namespace) -> int:
    from automem_core.store.layout import has_runs, no_runs_hint

    if not has_runs(args.data):  # nothing to read: no need for the query engine
        print(no_runs_hint(args.data))
        return 0
    from automem_core.analysis.reports import render_runs_table

    print(render_runs_table(args.data))
    return 0


def cmd_episodes(args: argparse.Namespace) -> int:
    from automem_core.analysis.reports import render_episodes_table

    print(render_episodes_table(args.data, args.run))
    return 0


def cmd_diagnostics(args: argparse.Namespace) -> int:
    from automem_core.analysis.reports import render_diagnostics

    print(render_diagnostics(args.data, args.run))
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from automem_core.store.derive import add_derived
    from automem_core.store.leftovers import store_leftovers
    from automem_core.store.migrations import upgrade_store
    from automem_core.store.schema import SCHEMA_VERSION

    leftovers = store_leftovers(args.data)
    if leftovers:
        print(f"{len(leftovers)} files no reader takes (left by killed writers, or replaced by "
              "merges); the compaction below deletes them:")  # fmt: skip
        for item in leftovers:
            young = "; kept for now: it may still be written or read" if item.young else ""
            print(f"  {os.path.relpath(item.path, args.data)}  ({item.what}{young})")

    print(f"rewriting files of earlier schema versions in {args.data} as version {SCHEMA_VERSION}")
    done = upgrade_store(args.data)
    for table, count in sorted(done.items()):
        print(f"  {table}: {count} files upgraded")
    print("no file of an earlier schema" if not done else f"{sum(done.values())} files upgraded")
    print("adding what the writer now derives as it records (older episodes and parts lack it)")
    added = add_derived(args.data)
    if added.signals:
        print(f"  decision signals for mining: {added.signals} episodes")
    if added.part_totals:
        print(f"  per-task totals in the manifest: {added.part_totals} compacted parts")
    if not added.signals and not added.part_totals:
        print("nothing to add")
    code = cmd_compact(args)
    from automem_core.search import index_store
    from automem_core.search.records import build_records_index

    print("bringing the search indexes up to date (one per run, one for the records)")
    indexed = index_store(args.data)
    for run_id, count in sorted(indexed.items()):
        print(f"  {run_id}: {count} episodes indexed")
    records = "current" if build_records_index(args.data) else "busy: searches read the records"
    print(f"{sum(indexed.values())} episodes indexed; the records' index is {records}")
    return code


def cmd_compact(args: argparse.Namespace) -> int:
    from automem_core.errors import UsageError
    from automem_core.store.compact import compact_and_index, compact_store
    from automem_core.store.leftovers import store_leftovers
    from automem_core.store.record_merge import merge_all_records
    from automem_core.store.remote import remote_of
    from automem_core.store.remote_compact import conditional_writes

    remote = remote_of(args.data)
    if remote is not None and not conditional_writes(remote):
        raise UsageError(
            f"{remote.url}: compaction on object storage needs conditional writes (a PUT "
            "refused when its If-Match fails), which only S3 and S3-compatible stores that "
            "honour If-Match offer; its runs stay as published"
        )
    old = {item.path for item in store_leftovers(args.data) if not item.young}
    print(f"merging finished episodes of {args.run or 'every run'} into larger files")
    if args.run:
        done = {args.run: compact_and_index(args.data, args.run)}
    else:
        done = compact_store(args.data)
    for run_id, count in sorted(done.items()):
        if count:
            print(f"  {run_id}: {count} episodes compacted")
    print(
        f"{sum(done.values())} episodes compacted" if any(done.values()) else "nothing to compact"
    )
    if not args.run:
        merged = merge_all_records(args.data)
        for table, count in sorted(merged.items()):
            print(f"  {table}: {count} record files merged into one")
        print("records merged" if merged else "no records to merge")
    removed = old - {item.path for item in store_leftovers(args.data)}
    if removed:
        print(f"{len(removed)} files no reader takes deleted (left by killed writers, or replaced "
              "by merges)")  # fmt: skip
    return 0


def cmd_memory(args: argparse.Namespace) -> int:
    from automem_core.store.memory_at import memory_at

    for name, content in memory_at(args.data, args.episode, args.step).items():
        print(f"── {name} ──")
        print(content if content else "[FILE IS EMPTY]")
    return 0


def register(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    s = sub.add_parser("runs", help="table of runs with progression per task and game")
    s.set_defaults(func=cmd_runs)

    e = sub.add_parser("episodes", help="list episodes with their status and progression")
    e.add_argument("--run", help="only this run's episodes")
    e.set_defaults(func=cmd_episodes)

    g = sub.add_parser("diagnostics", help="memory and play diagnostics per run")
    g.add_argument("--run", help="only this run")
    g.set_defaults(func=cmd_diagnostics)

    u = sub.add_parser(
        "upgrade",
        help="rewrite files of an earlier schema version in place, compact, build search indexes",
    )
    u.set_defaults(func=cmd_upgrade, run=None, writes=True)

    c = sub.add_parser("compact", help="merge finished episodes into a few larger files")
    c.add_argument("--run", help="only this run")
    c.set_defaults(func=cmd_compact, writes=True)

    m = sub.add_parser("memory", help="print an episode's memory files at a step")
    m.add_argument("episode")
    m.add_argument("step", type=int)
    m.set_defaults(func=cmd_memory)
    return [s, e, g, u, c, m]
