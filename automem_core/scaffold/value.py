"""A scaffold as one immutable value: its canonical document, content hash, version and diff.

A version's identity is ``id@hash8``: the scaffold's id and the first eight hex digits of the hash
of its content (everything but ``parent``), so two different contents never share a name, and an
edited copy that keeps its id is a new version.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from automem_core.errors import AutoMemError
from automem_core.memory import check_file_name
from automem_core.scaffold.spec import ScaffoldSpec

HASH_CHARS = 8  # hex digits of the content hash in a version name


class ScaffoldError(AutoMemError, ValueError):
    """A scaffold that cannot be used; the message names the source, the field and the fix."""


def content_hash(spec: ScaffoldSpec) -> str:
    """SHA-256 of the canonical document without ``parent`` (lineage is not content) and
    without the values that equal their defaults, so a field added later with a default that
    keeps the old behaviour leaves every stored version's name valid. (Changing an existing
    default changes what a version does: bump the field instead.)"""
    doc = spec.model_dump(mode="json", exclude={"parent"}, exclude_defaults=True)
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Scaffold:
    """The validated canonical document and its hash. Build it with :func:`make_scaffold`."""

    spec: ScaffoldSpec
    content_hash: str

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def game(self) -> str:
        return self.spec.game

    @property
    def parent(self) -> str | None:
        return self.spec.parent

    @property
    def version(self) -> str:
        return version_name(self.spec.id, self.content_hash)

    @property
    def prompts(self) -> dict[str, str]:
        texts: dict[str, str] = self.spec.prompts.model_dump()
        return texts

    @property
    def initial_files(self) -> dict[str, str]:
        return {f.name: f.initial for f in self.spec.files}

    def canonical(self) -> dict[str, Any]:
        """The document JSON Patches apply to (scaffold.yaml with texts inlined)."""
        doc: dict[str, Any] = self.spec.model_dump(mode="json")
        return doc


def version_name(scaffold_id: str, digest: str) -> str:
    return f"{scaffold_id}@{digest[:HASH_CHARS]}"


def make_scaffold(doc: dict[str, Any] | ScaffoldSpec, source: str = "scaffold") -> Scaffold:
    """Validate a canonical document (or a spec) into a Scaffold; ScaffoldError names the field."""
    if isinstance(doc, ScaffoldSpec):
        spec = doc
    else:
        try:
            spec = ScaffoldSpec.model_validate(doc)
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
            more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
            raise ScaffoldError(f"{source}: {loc}: {first['msg']}{more}") from None
    for i, f in enumerate(spec.files):
        problem = _memory_rule_broken(f.name, f.initial, f.max_lines, spec.limits.max_file_bytes)
        if problem:
            raise ScaffoldError(f"{source}: files.{i}: {problem}")
    return Scaffold(spec, content_hash(spec))


def _memory_rule_broken(
    name: str, initial: str, max_lines: int | None, max_bytes: int
) -> str | None:
    """What an episode would refuse about this file, found when the scaffold loads instead."""
    reason = check_file_name(name, 64)
    if reason:
        return f"name {name!r}: {reason}"
    text = initial.rstrip("\n")
    if max_lines is not None and len(text.split("\n")) > max_lines:
        return f"initial content of {name!r} has more than max_lines={max_lines} lines"
    if len(text.encode()) > max_bytes:
        return f"initial content of {name!r} exceeds limits.max_file_bytes={max_bytes}"
    return None


def _parts(scaffold: Scaffold) -> dict[str, str]:
    """The scaffold as named texts, as it is laid out in a folder (see ``folder.py``)."""
    doc = scaffold.canonical()
    prompts = doc.pop("prompts")
    for f in doc["files"]:
        f.pop("initial")
    parts = {"scaffold.yaml": yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)}
    parts.update({f"prompts/{name}.txt": text for name, text in prompts.items()})
    parts.update({f"files/{name}": text for name, text in scaffold.initial_files.items()})
    return parts


def diff(a: Scaffold, b: Scaffold, context: int = 3) -> dict[str, list[str]]:
    """Per part (``scaffold.yaml``, ``prompts/log.txt``, ``files/strategy``): the unified diff
    from ``a`` to ``b``; parts that did not change are left out."""
    pa, pb = _parts(a), _parts(b)
    out: dict[str, list[str]] = {}
    for name in sorted(set(pa) | set(pb)):
        old, new = pa.get(name, ""), pb.get(name, "")
        if old == new:
            continue
        out[name] = list(
            difflib.unified_diff(
                old.splitlines(),
                new.splitlines(),
                f"{a.version}/{name}",
                f"{b.version}/{name}",
                n=context,
                lineterm="",
            )
        )
    return out
