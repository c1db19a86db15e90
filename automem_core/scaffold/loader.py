"""Loading, validating, hashing and locating scaffolds."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from automem_core.memory import check_file_name
from automem_core.scaffold.model import ScaffoldSpec

BUILTIN_DIR = Path(__file__).parent / "builtin"
COMMON_DIR = BUILTIN_DIR / "_common"


class ScaffoldError(ValueError):
    """A scaffold that cannot be used; the message names the file, the field and the fix."""


@dataclass(frozen=True)
class Scaffold:
    """A loaded scaffold: the validated spec plus the texts it points at."""

    spec: ScaffoldSpec
    prompts: dict[str, str]  # "system" | "log" | "plan" | "action" → template text
    initial_files: dict[str, str]  # file name → initial content
    content_hash: str
    folder: Path

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def game(self) -> str:
        return self.spec.game


def _read_text(folder: Path, rel: str, field: str) -> str:
    """A text named by the manifest: relative to the folder, or ``builtin:NAME`` (shared)."""
    if rel.startswith("builtin:"):
        folder, rel = COMMON_DIR, rel.removeprefix("builtin:")
    path = (folder / rel).resolve()
    if folder.resolve() not in path.parents:
        raise ScaffoldError(f"scaffold {folder}: {field}: {rel!r} must stay inside the folder")
    if not path.is_file():
        raise ScaffoldError(f"scaffold {folder}: {field}: file {rel!r} not found; create it")
    return path.read_text(encoding="utf-8")


def _format_validation(folder: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"scaffold {folder / 'scaffold.yaml'}: {loc}: {first['msg']}{more}"


def content_hash(spec: ScaffoldSpec, prompts: dict[str, str], files: dict[str, str]) -> str:
    blob = json.dumps(
        {"spec": spec.model_dump(mode="json"), "prompts": prompts, "files": files},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_scaffold(folder: Path) -> Scaffold:
    """Load ``folder/scaffold.yaml`` and what it names; ScaffoldError names the bad field."""
    folder = Path(folder)
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
    try:
        spec = ScaffoldSpec.model_validate(raw)
    except ValidationError as err:
        raise ScaffoldError(_format_validation(folder, err)) from None
    prompts = {
        name: _read_text(folder, rel, f"prompts.{name}")
        for name, rel in spec.prompts.model_dump().items()
    }
    files: dict[str, str] = {}
    for i, f in enumerate(spec.files):
        if f.initial_file is not None:
            files[f.name] = _read_text(folder, f.initial_file, f"files.{i}.initial_file")
        else:
            files[f.name] = f.initial
        problem = _memory_rule_broken(
            f.name, files[f.name], f.max_lines, spec.limits.max_file_bytes
        )
        if problem:
            raise ScaffoldError(f"scaffold {manifest}: files.{i}: {problem}")
    return Scaffold(spec, prompts, files, content_hash(spec, prompts, files), folder)


def _memory_rule_broken(name: str, initial: str, max_lines: int, max_bytes: int) -> str | None:
    """What an episode would refuse about this file, found when the scaffold loads instead."""
    reason = check_file_name(name, 64)
    if reason:
        return f"name {name!r}: {reason}"
    text = initial.rstrip("\n")
    if len(text.split("\n")) > max_lines:
        return f"initial content of {name!r} has more than max_lines={max_lines} lines"
    if len(text.encode()) > max_bytes:
        return f"initial content of {name!r} exceeds limits.max_file_bytes={max_bytes}"
    return None


def builtin_ids() -> list[str]:
    return sorted(p.name for p in BUILTIN_DIR.iterdir() if (p / "scaffold.yaml").is_file())


def resolve_scaffold(name: str | None, game: str, data_dir: Path | None = None) -> Scaffold:
    """A scaffold by folder path, by id under ``data/scaffolds``, or a built-in id.

    ``None`` means the game's built-in ``<game>-v0``.
    """
    name = name or f"{game}-v0"
    candidates = [Path(name)]
    if data_dir is not None:
        candidates.append(data_dir / "scaffolds" / name)
    candidates.append(BUILTIN_DIR / name)
    for folder in candidates:
        if (folder / "scaffold.yaml").is_file():
            scaffold = load_scaffold(folder)
            if scaffold.game != game:
                raise ScaffoldError(
                    f"scaffold {scaffold.id} is for {scaffold.game}, not {game}; pick a {game} one"
                )
            return scaffold
    raise ScaffoldError(
        f"scaffold {name!r} not found (built-ins: {', '.join(builtin_ids())}); "
        "give a folder holding scaffold.yaml"
    )
