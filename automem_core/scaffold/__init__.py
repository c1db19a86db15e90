"""Scaffolds: the declarative bundle of prompts, memory files, ops, limits and helpers (Loop 1
changes these). ``spec`` validates, ``value`` hashes and diffs, ``folder`` loads and writes,
``versions`` keeps every version a run used."""

from automem_core.scaffold.folder import builtin_ids, load_scaffold, write_scaffold
from automem_core.scaffold.value import Scaffold, ScaffoldError, diff, make_scaffold
from automem_core.scaffold.versions import load_version, resolve_scaffold, store_version

__all__ = [
    "Scaffold",
    "ScaffoldError",
    "builtin_ids",
    "diff",
    "load_scaffold",
    "load_version",
    "make_scaffold",
    "resolve_scaffold",
    "store_version",
    "write_scaffold",
]
