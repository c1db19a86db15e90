"""A scaffold's folder form: ``scaffold.yaml`` naming its prompt templates and initial files.

In the folder, ``prompts.<name>`` is a path (relative to the folder, or ``builtin:NAME`` for the
shared texts in ``builtin/_common``) and a memory file's content is either ``initial`` (inline) or
``initial_file`` (a path). Loading reads them into the canonical document; writing lays a value
out again, so ``load_scaffold(write_scaffold(s, d))`` is ``s``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import yaml

from automem_core.scaffold.value import Scaffold, ScaffoldError, make_scaffold

BUILTIN_DIR = Path(__file__).parent / "builtin"
COMMON_DIR = BUILTIN_DIR / "_common"
PROMPT_NAMES = ("system", "log", "plan", "action")


def _read_text(folder: Path, rel: object, field: str) -> str:
    """A text named by the manifest: relative to the folder, or ``builtin:NAME`` (shared)."""
    if not isinstance(rel, str) or not rel:
        raise ScaffoldError(f"scaffold {folder}: {field}: give a file path, e.g. prompts/log.txt")
    base = folder
    if rel.startswith("builtin:"):
        base, rel = COMMON_DIR, rel.removeprefix("builtin:")
    path = (base / rel).resolve()
    if base.resolve() not in path.parents:
        raise ScaffoldError(f"scaffold {folder}: {field}: {rel!r} must stay inside the folder")
    if not path.is_file():
        raise ScaffoldError(f"scaffold {folder}: {field}: file {rel!r} not found; create it")
    return path.read_text(encoding="utf-8")


def _read_manifest(folder: Path) -> dict[str, Any]:
    manifest = folder / "scaffold.yaml"
    if not manifest.is_file():
        raise ScaffoldError(f"scaffold {folder}: no scaffold.yaml; point at a scaffold folder")
    try:
        raw = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" line {line + 1}" if line is not None else ""
        raise ScaffoldError(
            f"scaffold {manifest}:{where}: not valid YAML; fix the syntax"
        ) from None
    if not isinstance(raw, dict):
        raise ScaffoldError(f"scaffold {manifest}: expected a mapping of fields at the top level")
    return raw


def _inline_texts(folder: Path, raw: dict[str, Any]) -> dict[str, Any]:
    """The manifest with every path replaced by the text it names (the canonical document)."""
    doc = dict(raw)
    prompts = raw.get("prompts") or {}
    if not isinstance(prompts, dict):
        raise ScaffoldError(f"scaffold {folder}: prompts: expected a mapping of name: path")
    paths = {name: prompts.get(name, f"prompts/{name}.txt") for name in PROMPT_NAMES}
    unknown = sorted(set(prompts) - set(PROMPT_NAMES))
    if unknown:
        raise ScaffoldError(f"scaffold {folder}: prompts: unknown prompt(s) {unknown}")
    doc["prompts"] = {n: _read_text(folder, p, f"prompts.{n}") for n, p in paths.items()}
    files = []
    for i, f in enumerate(raw.get("files") or []):
        if isinstance(f, dict) and f.get("initial_file") is not None:
            f = dict(f)
            rel = f.pop("initial_file")
            f["initial"] = _read_text(folder, rel, f"files.{i}.initial_file")
        files.append(f)
    doc["files"] = files
    parent = doc.get("parent")
    if isinstance(parent, str) and "@" not in parent and (BUILTIN_DIR / parent).is_dir():
        doc["parent"] = load_scaffold(BUILTIN_DIR / parent).version  # a built-in named by id
    return doc


def load_scaffold(folder: Path) -> Scaffold:
    """Load ``folder/scaffold.yaml`` and what it names; ScaffoldError names the bad field."""
    folder = Path(folder)
    doc = _inline_texts(folder, _read_manifest(folder))
    return make_scaffold(doc, source=f"scaffold {folder / 'scaffold.yaml'}")


def write_scaffold(scaffold: Scaffold, folder: Path) -> Path:
    """Lay ``scaffold`` out as a folder (atomically: a reader sees all of it or none)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.tmp")
    (tmp / "prompts").mkdir(parents=True)
    doc = scaffold.canonical()
    for name, text in doc.pop("prompts").items():
        (tmp / "prompts" / f"{name}.txt").write_text(text, encoding="utf-8")
    doc["prompts"] = {name: f"prompts/{name}.txt" for name in PROMPT_NAMES}
    for f in doc["files"]:
        text = f.pop("initial")
        if text:
            (tmp / "files").mkdir(exist_ok=True)
            (tmp / "files" / f["name"]).write_text(text, encoding="utf-8")
            f["initial_file"] = f"files/{f['name']}"
    manifest = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    (tmp / "scaffold.yaml").write_text(manifest, encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    os.rename(tmp, folder)
    return folder


def builtin_ids() -> list[str]:
    return sorted(p.name for p in BUILTIN_DIR.iterdir() if (p / "scaffold.yaml").is_file())
