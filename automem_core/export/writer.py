"""Write an export folder: the chosen training-set formats, ``dataset_info.json`` for the ShareGPT
file, and the dataset card (``README.md``, ``card.json``).

The folder appears whole or not at all: everything is written into a temporary folder beside it,
which is then renamed into place. A non-empty folder is never overwritten unless asked. No written
file holds a secret from the environment (``secrets.py`` says which values count): an example or
pair holding one is dropped and counted (a target taught with ``[REDACTED]`` in it would teach the
model to write that), the card's own texts are scrubbed, and each file is checked again before it
is written.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automem_core.export.card import (
    README_FILE,
    CardContext,
    card_facts,
    render_card_json,
    render_card_readme,
)
from automem_core.export.example import MemoryExample, PreferencePair
from automem_core.export.examples import ExportError
from automem_core.export.format_names import (
    CARD_FILE,
    DATASET_INFO_FILE,
    FORMAT_NAMES,
    FormatName,
)
from automem_core.export.formats import FORMATS, sharegpt_dataset_info
from automem_core.export.lengths import CharEstimate, LengthCounter, format_lengths
from automem_core.export.secrets import DEFAULT_KEY_VARIABLES, secret_values
from automem_core.export.targets import KnownFiles, clean_examples, clean_pairs

log = logging.getLogger(__name__)

REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class ExportResult:
    """What :func:`write_export` wrote: the folder, its files, what went in and what was dropped."""

    out_dir: Path
    files: tuple[str, ...]
    counts: dict[str, int]  # examples, log, plan, pairs
    dropped: dict[str, dict[str, int]]  # "examples" / "pairs" -> reason -> count
    skipped_formats: tuple[str, ...]  # chosen, but nothing to put in them (say no pairs)
    secrets_scrubbed: int  # secret values replaced in the card's own texts
    notes: tuple[str, ...] = ()  # what the person should know (secrets dropped, the license)
    decision_ids: tuple[str, ...] = ()  # the decisions whose examples or pairs were written


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
    key_variables: Iterable[str] = DEFAULT_KEY_VARIABLES,
    created_at: str | None = None,
    known_files: KnownFiles | None = None,
    context: CardContext | None = None,
    length_counter: LengthCounter | None = None,
) -> ExportResult:
    """Clean ``examples`` and ``pairs``, render the chosen ``formats`` (see
    :data:`automem_core.export.format_names.FORMAT_NAMES`) and the card, and put them in
    ``out_dir``. ``environ`` (default ``os.environ``) and ``key_variables`` say which secrets
    must stay out; ``known_files`` (scaffold version → declared files) checks the ops' files;
    ``context`` adds the license and the labelling policy to the card; ``length_counter``
    measures the examples (default: an estimate from characters)."""
    chosen = _checked_formats(formats)
    out = Path(out_dir)
    _check_target_folder(out, overwrite)
    never = {n for files in (known_files or {}).values() for n in files}
    secrets = secret_values(os.environ if environ is None else environ, key_variables, never)
    scrubbed = _Scrubber(list(secrets))
    examples, secret_examples = _without_secrets(examples, scrubbed)
    pairs, secret_pairs = _without_secrets(pairs, scrubbed)
    selection_query, score_formula, excluded_seeds_note = (
        scrubbed.text(selection_query),
        scrubbed.text(score_formula),
        scrubbed.text(excluded_seeds_note),
    )
    clean = clean_examples(examples, include_unsure=include_unsure, known_files=known_files)
    clean_p = clean_pairs(pairs, known_files)
    sources = {"examples": clean.examples, "pairs": clean_p.pairs}
    texts: dict[str, str] = {}
    written: dict[str, str] = {}
    lengths: dict[str, dict[str, int]] = {}
    counter = length_counter or CharEstimate()
    skipped: list[str] = []
    for name in chosen:
        spec = FORMATS[name]
        rows = spec.render(sources[spec.source])
        if not rows:
            skipped.append(name)
            continue
        texts[spec.file_name] = _jsonl(rows) if spec.jsonl else _json(rows)
        written[name] = spec.file_name
        lengths[name] = format_lengths(name, rows, counter).to_json()
    dropped = {
        "examples": _with(clean.dropped, "held_secret", secret_examples),
        "pairs": _with(clean_p.dropped, "held_secret", secret_pairs),
    }
    if not written:
        raise ExportError(
            f"{out}: nothing to export in {', '.join(chosen)} "
            f"(dropped examples: {dropped['examples'] or 'none'}, "
            f"pairs: {dropped['pairs'] or 'none'}); widen the selection or choose other formats"
        )
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
        context=context or CardContext(),
        lengths={"unit": counter.source, "by_format": lengths},
    )
    name = facts["dataset_name"]
    if "sharegpt" in written:
        texts[DATASET_INFO_FILE] = _json(sharegpt_dataset_info(name, written["sharegpt"]))
    texts[CARD_FILE] = render_card_json(facts)
    texts[README_FILE] = render_card_readme(facts)
    for file_name, text in texts.items():
        if scrubbed.leaks(text):  # every string was checked above; this is the last line
            raise ExportError(f"{file_name}: would hold a secret from the environment; not written")
    _write_atomically(out, texts, overwrite)
    written_ids = [e.decision_id for e in clean.examples] + [p.decision_id for p in clean_p.pairs]
    notes = _notes(secret_examples, secret_pairs, secrets, facts)
    log.info("wrote %s: %s", out, ", ".join(sorted(texts)))
    return ExportResult(
        out_dir=out,
        files=tuple(sorted(texts)),
        counts={k: facts["counts"][k] for k in ("examples", "log", "plan", "pairs")},
        dropped=dropped,
        skipped_formats=tuple(skipped),
        secrets_scrubbed=scrubbed.count,
        notes=notes,
        decision_ids=tuple(dict.fromkeys(written_ids)),
    )


def _with(counts: dict[str, int], reason: str, n: int) -> dict[str, int]:
    return dict(sorted({**counts, reason: n}.items())) if n else counts


def _notes(
    secret_examples: int, secret_pairs: int, secrets: Mapping[str, str], facts: Mapping[str, Any]
) -> tuple[str, ...]:
    notes = []
    if secret_examples or secret_pairs:
        names = ", ".join(sorted(set(secrets.values())))
        notes.append(
            f"dropped {secret_examples} examples and {secret_pairs} pairs that held the value of "
            f"a secret environment variable ({names}); nothing secret was written"
        )
    if facts["license"] == "other":
        notes.append("license: other; set the data's license with --license before sharing it")
    return tuple(notes)


def _checked_formats(formats: Sequence[str]) -> list[FormatName]:
    unknown = [f for f in formats if f not in FORMAT_NAMES]
    if unknown or not formats:
        raise ExportError(
            f"formats: unknown {unknown or 'none chosen'}; choose from {', '.join(FORMAT_NAMES)}"
        )
    return [n for n in FORMAT_NAMES if n in formats]  # the registry's order, once each


def _check_target_folder(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: is a file; choose a folder path for the export")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"{out}: not empty; choose a new folder or pass --overwrite")


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

    def held(self, value: Any) -> bool:
        """Whether any string inside ``value`` (strings, lists, dicts, the fields of an example
        or a pair) holds a secret."""
        if isinstance(value, str):
            return any(secret in value for secret in self.secrets)
        if isinstance(value, list | tuple):
            return any(self.held(v) for v in value)
        if isinstance(value, dict):
            return any(self.held(v) for v in value.values())
        if isinstance(value, MemoryExample | PreferencePair):
            return any(self.held(getattr(value, f.name)) for f in fields(value))
        return False

    def leaks(self, text: str) -> bool:
        """Whether ``text`` (a rendered file) holds a secret, as written or JSON-escaped."""
        return any(s in text or json.dumps(s)[1:-1] in text for s in self.secrets)


def _without_secrets(items: Sequence[Any], scrubbed: _Scrubber) -> tuple[list[Any], int]:
    """``items`` without those that hold a secret, and how many those were."""
    kept = [item for item in items if not scrubbed.held(item)]
    return kept, len(items) - len(kept)


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
