"""Write an export folder: the chosen training-set formats, ``dataset_info.json`` for the ShareGPT
file, and the dataset card (``README.md``, ``card.json``).

The folder appears whole or not at all: everything is written into a temporary folder beside it,
which is then renamed into place. A non-empty folder is never overwritten unless asked. No written
file holds a secret from the environment: the value of every variable whose name looks secret
(``*KEY*``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``) is scrubbed from all text before formatting,
and each file is checked again before it is written.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from automem_core.export.card import README_FILE, card_facts, render_card_json, render_card_readme
from automem_core.export.example import MemoryExample, PreferencePair
from automem_core.export.examples import CARD_FILE, ExportError
from automem_core.export.formats import (
    DATASET_INFO_FILE,
    FORMAT_NAMES,
    FORMATS,
    FormatName,
    sharegpt_dataset_info,
)
from automem_core.export.targets import clean_examples, clean_pairs

log = logging.getLogger(__name__)

REDACTED = "[REDACTED]"
SECRET_NAME_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
MIN_SECRET_CHARS = 8  # shorter values (say KEYBOARD=us) are words, not keys; scrubbing them mangles
_T = TypeVar("_T")


@dataclass(frozen=True)
class ExportResult:
    """What :func:`write_export` wrote: the folder, its files, what went in and what was dropped."""

    out_dir: Path
    files: tuple[str, ...]
    counts: dict[str, int]  # examples, log, plan, pairs
    dropped: dict[str, dict[str, int]]  # "examples" / "pairs" -> reason -> count
    skipped_formats: tuple[str, ...]  # chosen, but nothing to put in them (say no pairs)
    secrets_scrubbed: int


def write_export(
    out_dir: Path | str,
    examples: Sequence[MemoryExample],
    pairs: Sequence[PreferencePair],
    formats: Sequence[str],
    selection_query: str,
    score_formula: str,
    excluded_seeds_note: str = "",
    *,
    include_unsure: bool = False,
    overwrite: bool = False,
    dataset_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    created_at: str | None = None,
) -> ExportResult:
    """Clean ``examples`` and ``pairs``, render the chosen ``formats`` (see
    :data:`automem_core.export.formats.FORMAT_NAMES`) and the card, and put them in ``out_dir``.

    ``environ`` (default ``os.environ``) is where secrets to scrub are looked up.
    """
    chosen = _checked_formats(formats)
    out = Path(out_dir)
    _check_target_folder(out, overwrite)
    secrets = secret_values(os.environ if environ is None else environ)
    scrubbed = _Scrubber(secrets)
    examples = [scrubbed.value(e) for e in examples]
    pairs = [scrubbed.value(p) for p in pairs]
    selection_query, score_formula, excluded_seeds_note = (
        scrubbed.text(selection_query),
        scrubbed.text(score_formula),
        scrubbed.text(excluded_seeds_note),
    )
    clean = clean_examples(examples, include_unsure=include_unsure)
    clean_p = clean_pairs(pairs)
    sources = {"examples": clean.examples, "pairs": clean_p.pairs}
    texts: dict[str, str] = {}
    written: dict[str, str] = {}
    skipped: list[str] = []
    for name in chosen:
        spec = FORMATS[name]
        rows = spec.render(sources[spec.source])
        if not rows:
            skipped.append(name)
            continue
        texts[spec.file_name] = _jsonl(rows) if spec.jsonl else _json(rows)
        written[name] = spec.file_name
    if not written:
        raise ExportError(
            f"{out}: nothing to export in {', '.join(chosen)} "
            f"(dropped examples: {clean.dropped or 'none'}, pairs: {clean_p.dropped or 'none'}); "
            "widen the selection or choose other formats"
        )
    dropped = {"examples": clean.dropped, "pairs": clean_p.dropped}
    facts = card_facts(
        clean.examples,
        clean_p.pairs,
        dropped=dropped,
        formats=written,
        selection_query=selection_query,
        score_formula=score_formula,
        excluded_seeds_note=excluded_seeds_note,
        include_unsure=include_unsure,
        dataset_name=scrubbed.text(dataset_name or ""),
        created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"),
    )
    name = facts["dataset_name"]
    if "sharegpt" in written:
        texts[DATASET_INFO_FILE] = _json(sharegpt_dataset_info(name, written["sharegpt"]))
    texts[CARD_FILE] = render_card_json(facts)
    texts[README_FILE] = render_card_readme(facts)
    for file_name, text in texts.items():
        if scrubbed.leaks(text):  # every string was scrubbed above; this is the last line
            raise ExportError(f"{file_name}: would hold a secret from the environment; not written")
    _write_atomically(out, texts, overwrite)
    if scrubbed.count:
        log.warning("scrubbed %d secret value(s) from the export", scrubbed.count)
    log.info("wrote %s: %s", out, ", ".join(sorted(texts)))
    return ExportResult(
        out_dir=out,
        files=tuple(sorted(texts)),
        counts={k: facts["counts"][k] for k in ("examples", "log", "plan", "pairs")},
        dropped=dropped,
        skipped_formats=tuple(skipped),
        secrets_scrubbed=scrubbed.count,
    )


def _checked_formats(formats: Sequence[str]) -> list[FormatName]:
    unknown = [f for f in formats if f not in FORMAT_NAMES]
    if unknown or not formats:
        raise ValueError(
            f"formats: unknown {unknown or 'none chosen'}; choose from {', '.join(FORMAT_NAMES)}"
        )
    return [n for n in FORMAT_NAMES if n in formats]  # the registry's order, once each


def _check_target_folder(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: is a file; choose a folder path for the export")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"{out}: not empty; choose a new folder or pass overwrite=True")


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of the variables whose names look secret, longest first (so a key that contains
    another is replaced whole); values under :data:`MIN_SECRET_CHARS` characters are left."""
    values = {
        value.strip()
        for name, value in environ.items()
        if SECRET_NAME_RE.search(name) and len(value.strip()) >= MIN_SECRET_CHARS
    }
    return sorted(values, key=lambda v: (-len(v), v))


class _Scrubber:
    """Replaces secret values in text and counts the replacements."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self.count = 0

    def text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                self.count += text.count(secret)
                text = text.replace(secret, REDACTED)
        return text

    def value(self, value: _T) -> _T:
        """``value`` with every string inside it scrubbed: strings, lists, dicts and the fields
        of frozen dataclasses."""
        out: Any = value
        if isinstance(value, str):
            out = self.text(value)
        elif isinstance(value, list):
            out = [self.value(v) for v in value]
        elif isinstance(value, dict):
            out = {k: self.value(v) for k, v in value.items()}
        elif isinstance(value, MemoryExample | PreferencePair):
            changes = {f.name: self.value(getattr(value, f.name)) for f in fields(value)}
            out = replace(value, **changes)
        return out  # type: ignore[no-any-return]

    def leaks(self, text: str) -> bool:
        """Whether ``text`` (a rendered file) holds a secret, as written or JSON-escaped."""
        return any(s in text or json.dumps(s)[1:-1] in text for s in self.secrets)


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def _write_atomically(out: Path, texts: Mapping[str, str], overwrite: bool) -> None:
    """Write ``texts`` into a temporary folder beside ``out`` and rename it to ``out``; an old
    folder (empty, or any when ``overwrite``) is moved aside first and removed after."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    old: Path | None = None
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; an export is meant to be read
        for file_name, text in texts.items():
            with (tmp / file_name).open("w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        if out.exists():
            _check_target_folder(out, overwrite)  # it may have filled up meanwhile
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(old / out.name)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            if not out.exists() and (old / out.name).exists():
                (old / out.name).rename(out)  # put the previous export back
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
