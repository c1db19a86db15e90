"""Search results as text and as JSON: what the CLI prints and the reviewer's tool answers.

Examples:
    >>> lifetime(12, 40)
    'there at the end of steps 12–40'
    >>> lifetime(12, 11)
    'gone before step 12 ended'
"""

from __future__ import annotations

import dataclasses
from typing import Any

from automem_core.search.engine import Hit, SearchResult, group_by_episode, versions_of
from automem_core.search.sequence import SequenceResult


def lifetime(written: int, until: int) -> str:
    """The steps during which a memory line existed (at their end)."""
    if until < written:
        return f"gone before step {written} ended"
    first = "the start" if written < 0 else f"{written}"
    return f"there at the end of steps {first}–{until}"


def where(hit: Hit) -> str:
    """What and where the hit is, in a few words."""
    turn = f" turn {hit.turn}" if hit.turn else ""
    if hit.source == "observation":
        return f"step {hit.step} observation"
    if hit.source == "turn":
        return f"step {hit.step} {str(hit.phase).upper()}{turn} completion"
    if hit.source == "op":
        return f"step {hit.step} {hit.kind} {hit.file} ({hit.phase}{turn})"
    if hit.source == "memory":
        written = "an initial line" if (hit.step or 0) < 0 else f"written at step {hit.step}"
        span = lifetime(hit.step or 0, hit.until if hit.until is not None else -2)
        return f"memory {hit.file} line {hit.line}: {written}, {span}"
    if hit.source == "label":
        about = f" on step {hit.step} of {hit.episode_id}" if hit.episode_id else ""
        return f"label {hit.ref} by {hit.author} ({hit.verdict}){about}"
    return f"proposal {hit.ref} ({hit.verdict}) by {hit.author}"


def hit_text(hit: Hit, open_: str = "[", close: str = "]") -> str:
    """The hit's snippets, matches between ``open_`` and ``close``."""
    return " · ".join(f"{s.field}: {s.marked(open_, close)}" for s in hit.snippets)


def render_result(result: SearchResult, open_: str = "[", close: str = "]") -> str:
    """A search's answer for a terminal: the counts, the notes, the hits by episode."""
    shown = len(result.hits)
    lines = [
        f"{result.total} hit{'' if result.total == 1 else 's'} for {result.query!r}"
        + (f" ({result.filters.describe()})" if result.filters.describe() else "")
        + (f", the first {shown} shown" if shown < result.total else "")
        + f" · {result.elapsed_ms:.0f} ms"
    ]
    if result.counts:
        runs = ", ".join(f"{c.run_id} {c.hits}" for c in result.counts)
        versions = ", ".join(f"{v} {n}" for v, n in versions_of(result.counts).items())
        lines.append(f"per run: {runs}")
        lines.append(f"per version: {versions}")
    if result.record_hits:
        lines.append(f"in proposals and labels: {result.record_hits}")
    lines += [f"note: {n}" for n in result.notes]
    for episode_id, hits in group_by_episode(result.hits):
        first = hits[0]
        if episode_id is None:
            lines.append("── proposals and labels ──")
        else:
            lines.append(f"── {episode_id} ({first.game} · {first.task} · seed {first.seed} · "
                         f"{first.version} · {first.status}) ──")  # fmt: skip
        lines += [f"  {where(h)}: {hit_text(h, open_, close)}" for h in hits]
    return "\n".join(lines)


def render_sequence(result: SequenceResult, open_: str = "[", close: str = "]") -> str:
    """A sequence query's answer for a terminal."""
    rule = "and no" if result.absent else "then"
    lines = [
        f"{result.total} time{'' if result.total == 1 else 's'} {result.first!r} {rule} "
        f"{result.then!r} within {result.within} steps, in {result.episodes} episode"
        f"{'' if result.episodes == 1 else 's'} · {result.elapsed_ms:.0f} ms"
    ]
    lines += [f"note: {n}" for n in result.notes]
    for m in result.matches:
        after = f"then step {m.then_step}" if m.then_step is not None else "nothing after"
        cut = " (the episode ended before the window did)" if m.cut_short else ""
        lines.append(f"{m.episode_id} step {m.step}: {after}{cut}")
        if m.first is not None:
            lines.append(f"  {where(m.first)}: {hit_text(m.first, open_, close)}")
        if m.then is not None:
            lines.append(f"  {where(m.then)}: {hit_text(m.then, open_, close)}")
    return "\n".join(lines)


def hit_json(hit: Hit) -> dict[str, Any]:
    out = dataclasses.asdict(hit)
    out["snippets"] = [
        {"field": s.field, "text": s.text, "spans": [list(x) for x in s.spans]}
        for s in hit.snippets
    ]
    out["words"] = list(hit.words)
    return out


def result_json(result: SearchResult) -> dict[str, Any]:
    return {
        "query": result.query,
        "filters": dataclasses.asdict(result.filters),
        "total": result.total,
        "counts": [dataclasses.asdict(c) for c in result.counts],
        "record_hits": result.record_hits,
        "notes": result.notes,
        "elapsed_ms": round(result.elapsed_ms, 1),
        "hits": [hit_json(h) for h in result.hits],
    }


def sequence_json(result: SequenceResult) -> dict[str, Any]:
    def match(m: Any) -> dict[str, Any]:
        out = {k: getattr(m, k) for k in ("run_id", "episode_id", "step", "then_step")}
        out["cut_short"] = m.cut_short
        out["first"] = hit_json(m.first) if m.first else None
        out["then"] = hit_json(m.then) if m.then else None
        return out

    return {
        "first": result.first,
        "then": result.then,
        "within": result.within,
        "absent": result.absent,
        "total": result.total,
        "episodes": result.episodes,
        "notes": result.notes,
        "elapsed_ms": round(result.elapsed_ms, 1),
        "matches": [match(m) for m in result.matches],
    }
