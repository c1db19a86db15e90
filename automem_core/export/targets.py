"""Deterministic post-processing of memory-turn targets before they become training data
(docs/architecture.md, "Training sets").

The specialist model handles memory turns and the base model commits game actions, so a target
must teach memory ops and nothing else:

- markdown fences around ops are unwrapped;
- a LOG target ends at its first ``<|DONE|>`` (kept); whatever follows is dropped;
- game actions go: ``<|ACTION|>…<|END|>`` spans and ``ACTION: x`` fallback lines (and a stray
  ``<|DONE|>`` in a PLAN target, which is no PLAN vocabulary);
- prose before the first op and after the last is trimmed.

What is left must parse cleanly with the project's own parser, hold at least one op and no game
action, and touch only files the scaffold version declares (or that the target itself creates
with CREATE or WRITE), or the example is dropped with a :data:`DropReason` (the card counts them
per reason). Identical examples (same prompt, same target) and identical pairs are kept once.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, get_args

from automem_core.export.example import MemoryExample, Message, PreferencePair, prompt_problem
from automem_core.memory.parser import OP_KINDS, READ_ONLY_OPS, MemoryOp, parse_completion
from automem_core.store.record_rows import DecisionPhase as MemoryPhase

DropReason = Literal[
    "label_unsure",  # excluded unless asked for
    "label_bad",  # a bad decision is never a supervised target (pairs carry it as rejected)
    "duplicate_id",  # a decision exported twice would leak across the held-out split
    "bad_prompt",  # roles do not alternate, or a message is empty
    "no_op",  # no memory op left after cleaning
    "leftover_fence",  # a markdown fence that did not wrap ops
    "stray_tag",  # a <|…|> tag that is no op, END or DONE (say a leaked chat token)
    "unparsable",  # the parser reports errors on the cleaned target
    "write_op_in_plan",  # PLAN consultations may only read memory
    "action_left",  # the parser still finds a game action (never expected; kept as a guard)
    "same_after_cleaning",  # a pair whose chosen and rejected became identical
    "unknown_file",  # an op on a file the scaffold version does not declare (nor the target make)
    "duplicate_example",  # the same prompt and target as an example already kept
    "duplicate_pair",  # the same prompt, chosen and rejected as a pair already kept
    "held_secret",  # it held a value that looks like a secret (see writer.py)
]
DROP_REASONS: tuple[DropReason, ...] = get_args(DropReason)

_FENCE = "```"
# The parser's tag shapes: `<|OP|>`, `<OP>`, `<| op |>`, `</OP>`.
_TAG_RE = re.compile(r"<(\|)?[ \t]{0,3}(/)?[ \t]{0,3}([A-Za-z][A-Za-z0-9_-]{0,39})[ \t]{0,3}(\|)?>")
_PIPED_TAG_RE = re.compile(r"<\|[ \t]{0,3}/?[ \t]{0,3}([A-Za-z][A-Za-z0-9_-]{0,39})[ \t]{0,3}\|>")
# A fenced block, inline or on its own lines: ```lang\n body \n```
_FENCED_RE = re.compile(r"```[A-Za-z0-9_+.-]*[ \t]*\n?(.*?)\n?[ \t]*```", re.DOTALL)
# The parser's fallback action line (`ACTION: Move West`, `**Action:** north`).
_ACTION_LINE_RE = re.compile(r"^[ \t>*_#-]*action[ \t*_]*:.*(?:\n|$)", re.IGNORECASE | re.MULTILINE)
_OPS = frozenset(OP_KINDS)
_KNOWN = _OPS | {"END", "DONE", "ACTION"}
_CREATING = frozenset({"CREATE", "WRITE"})  # ops that make the file they name
KnownFiles = Mapping[str, frozenset[str]]  # scaffold version -> the files it declares

SpanKind = Literal["op", "action", "done"]


@dataclass(frozen=True)
class TargetResult:
    """A cleaned target, or why there is none (``text`` is None exactly when ``dropped`` is set)."""

    text: str | None
    dropped: DropReason | None = None


@dataclass(frozen=True)
class _Span:
    kind: SpanKind
    start: int
    stop: int


@dataclass(frozen=True)
class CleanedExamples:
    examples: tuple[MemoryExample, ...]
    dropped: dict[str, int]  # DropReason -> count


@dataclass(frozen=True)
class CleanedPairs:
    pairs: tuple[PreferencePair, ...]
    dropped: dict[str, int]


def unwrap_fences(text: str) -> str:
    """``text`` with every markdown-fenced block that holds an op, DONE or ACTION tag replaced
    by its contents; fences around other text stay (and make the target dropped if kept)."""

    def unwrap(match: re.Match[str]) -> str:
        body = match.group(1)
        return body if any(_tag_kind(m) is not None for m in _TAG_RE.finditer(body)) else match[0]

    return _FENCED_RE.sub(unwrap, text)


def clean_target(
    text: str,
    phase: MemoryPhase,
    *,
    require_op: bool = True,
    files: frozenset[str] | None = None,
) -> TargetResult:
    """The training target made from a memory turn's completion (see the module doc).

    ``require_op=False`` is for the rejected side of a preference pair: a turn that wrote no op,
    or a malformed one, is exactly what a rejected answer may teach against, so it is kept as long
    as something is left and it holds no game action (nor a fence or stray tag). ``files``: the
    files the scaffold declares (None: not checked).
    """
    text = unwrap_fences(text)
    spans = _spans(text)
    if phase == "log":
        done = next((s for s in spans if s.kind == "done"), None)
        if done is not None:
            text = text[: done.stop]
            spans = [s for s in spans if s.stop <= done.stop]
    keep = ("op", "done") if phase == "log" else ("op",)
    pieces: list[str] = []
    pos = length = 0
    begin = None  # length of the output where the first kept span starts
    end = None  # length of the output up to the end of the last kept span
    for span in spans:
        outside = _ACTION_LINE_RE.sub("", text[pos : span.start])
        pieces.append(outside)
        length += len(outside)
        if span.kind in keep:
            begin = length if begin is None else begin
            pieces.append(text[span.start : span.stop])
            length += span.stop - span.start
            end = length
        pos = span.stop
    pieces.append(_ACTION_LINE_RE.sub("", text[pos:]))
    if require_op and not any(s.kind == "op" for s in spans):
        return TargetResult(None, "no_op")
    target = "".join(pieces)[begin or 0 : end].strip()
    if not target:
        return TargetResult(None, "no_op")
    return _checked(target, phase, require_op, files)


def _unknown_file(ops: tuple[MemoryOp, ...], files: frozenset[str]) -> bool:
    """Whether an op names a file that is neither declared nor made earlier in the target.
    (UPSERT_MAP names no file: it writes the scaffold's map file.)"""
    made: set[str] = set()
    for op in ops:
        if op.kind == "UPSERT_MAP" or not op.args:
            continue
        name = op.args[0]
        if op.kind in _CREATING:
            made.add(name)
        elif name not in files and name not in made:
            return True
    return False


def _checked(
    target: str, phase: MemoryPhase, strict: bool, files: frozenset[str] | None
) -> TargetResult:
    if _FENCE in target:
        return TargetResult(None, "leftover_fence")
    if any(_unknown_piped(m) for m in _PIPED_TAG_RE.finditer(target)):
        return TargetResult(None, "stray_tag")
    parsed = parse_completion(target)
    if parsed.action is not None:
        return TargetResult(None, "action_left")
    if not strict:
        return TargetResult(target)
    if parsed.errors:
        return TargetResult(None, "unparsable")
    if not parsed.ops:
        return TargetResult(None, "no_op")
    if phase == "plan" and any(op.kind not in READ_ONLY_OPS for op in parsed.ops):
        return TargetResult(None, "write_op_in_plan")
    if files is not None and _unknown_file(parsed.ops, files):
        return TargetResult(None, "unknown_file")
    return TargetResult(target)


def _unknown_piped(match: re.Match[str]) -> bool:
    return match.group(1).upper().replace("-", "_") not in _KNOWN


def _tag_kind(match: re.Match[str]) -> str | None:
    """'op', 'action', 'done' or 'end' for a tag the parser reads, or None for other text."""
    left, slash, raw, right = match.groups()
    name = raw.upper().replace("-", "_")
    piped = left is not None and right is not None
    if slash is not None:
        return "end" if name in _KNOWN or piped else None
    if name == "END":
        return "end"
    if name == "DONE":
        return "done"
    if name == "ACTION":
        return "action"
    if name in _OPS:
        return "op"
    return "end" if piped else None  # a leaked chat token such as <|im_end|> ends an op


def _spans(text: str) -> list[_Span]:
    """The op, action and DONE spans of ``text`` in order, read the way the parser reads them:
    an op or action runs to its ``<|END|>``, or else to the next tag, a fence, or the end."""
    tags = [(kind, m) for m in _TAG_RE.finditer(text) if (kind := _tag_kind(m)) is not None]
    spans: list[_Span] = []
    i = 0
    while i < len(tags):
        kind, tag = tags[i]
        nxt = tags[i + 1] if i + 1 < len(tags) else None
        i += 1
        if kind == "done":
            spans.append(_Span("done", tag.start(), tag.end()))
        elif kind in ("op", "action"):
            if nxt is not None and nxt[0] == "end":
                stop = nxt[1].end()
                i += 1
            else:
                stop = nxt[1].start() if nxt is not None else len(text)
                fence = text.find(_FENCE, tag.end(), stop)
                stop = fence if fence >= 0 else stop
            spans.append(_Span("action" if kind == "action" else "op", tag.start(), stop))
    return spans


def _prompt_key(messages: list[Message]) -> str:
    return json.dumps([[m.get("role"), m.get("content")] for m in messages], ensure_ascii=False)


def clean_examples(
    examples: list[MemoryExample], *, include_unsure: bool, known_files: KnownFiles | None = None
) -> CleanedExamples:
    """The examples worth training on, with cleaned targets, and how many were dropped why.

    ``bad`` examples are never supervised targets; ``unsure`` ones only with ``include_unsure``.
    The first example of a decision id wins, and the first of identical (prompt, target) ones.
    ``known_files`` maps scaffold versions to their declared files (unchecked where absent).
    """
    kept: list[MemoryExample] = []
    dropped: Counter[str] = Counter()
    seen: set[str] = set()
    same: set[tuple[str, str]] = set()
    for example in examples:
        reason = _selection_problem(example, include_unsure, seen)
        if reason is None:
            files = (known_files or {}).get(example.scaffold_version)
            result = clean_target(example.target, example.phase, files=files)
            key = (_prompt_key(example.messages), result.text or "")
            if result.text is None:
                reason = result.dropped
            elif key in same:
                reason = "duplicate_example"
            else:
                kept.append(replace(example, target=result.text))
                seen.add(example.decision_id)
                same.add(key)
        if reason is not None:
            dropped[reason] += 1
    return CleanedExamples(tuple(kept), dict(sorted(dropped.items())))


def _selection_problem(
    example: MemoryExample, include_unsure: bool, seen: set[str]
) -> DropReason | None:
    if example.label == "bad":
        return "label_bad"
    if example.label == "unsure" and not include_unsure:
        return "label_unsure"
    if example.decision_id in seen:
        return "duplicate_id"
    if prompt_problem(example.messages) is not None:
        return "bad_prompt"
    return None


def clean_pairs(pairs: list[PreferencePair], known_files: KnownFiles | None = None) -> CleanedPairs:
    """The pairs with both sides cleaned; a pair is dropped when either side is (by that side's
    reason), when both sides became the same text, or when an identical pair was kept. The
    chosen side must be a clean target; the rejected side may lack ops (see
    :func:`clean_target`) and may name unknown files (that may be why it was rejected)."""
    kept: list[PreferencePair] = []
    dropped: Counter[str] = Counter()
    same: set[tuple[str, str, str]] = set()
    for pair in pairs:
        reason: DropReason | None = None
        if prompt_problem(pair.messages) is not None:
            reason = "bad_prompt"
        else:
            files = (known_files or {}).get(pair.scaffold_version)
            chosen = clean_target(pair.chosen, pair.phase, files=files)
            rejected = clean_target(pair.rejected, pair.phase, require_op=False)
            reason = chosen.dropped or rejected.dropped
            if reason is None and chosen.text == rejected.text:
                reason = "same_after_cleaning"
            if reason is None and chosen.text is not None and rejected.text is not None:
                key = (_prompt_key(pair.messages), chosen.text, rejected.text)
                if key in same:
                    reason = "duplicate_pair"
                else:
                    same.add(key)
                    kept.append(replace(pair, chosen=chosen.text, rejected=rejected.text))
        if reason is not None:
            dropped[reason] += 1
    return CleanedPairs(tuple(kept), dict(sorted(dropped.items())))
