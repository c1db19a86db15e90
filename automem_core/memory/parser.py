"""Parse memory operations, the DONE marker and the game action out of a model completion.

The parser is pure and tolerant: it never raises, and everything it could not understand comes
back as an error string in :class:`ParseResult` so the caller can log it and show it to the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, get_args

from automem_core.memory.text import shown

OpKind = Literal[
    "SEARCH",
    "READ",
    "TAIL",
    "COUNT",
    "APPEND",
    "WRITE",
    "CREATE",
    "UPSERT",
    "UPSERT_MAP",
    "REPLACE",
    "DELETE",
]
OP_KINDS: tuple[OpKind, ...] = get_args(OpKind)
READ_ONLY_OPS: frozenset[OpKind] = frozenset({"SEARCH", "READ", "TAIL", "COUNT"})

# The argument names of every op, in order; the last argument may contain "|".
OP_FORMS: dict[OpKind, tuple[str, ...]] = {
    "SEARCH": ("file", "keyword"),
    "READ": ("file",),
    "TAIL": ("file", "N"),
    "COUNT": ("file", "keyword"),
    "APPEND": ("file", "text"),
    "WRITE": ("file", "content"),
    "CREATE": ("file",),
    "UPSERT": ("file", "key", "text"),
    "UPSERT_MAP": ("x,y", "desc"),
    "REPLACE": ("file", "old", "new"),
    "DELETE": ("file",),
}
_MAY_BE_EMPTY = frozenset({"content", "new"})
_OP_BY_NAME: dict[str, OpKind] = {kind: kind for kind in OP_KINDS}

TagKind = Literal["op", "action", "done", "end", "unknown"]

# `<|OP|>`, `<OP>`, `<| op |>`, `</OP>`; the name check happens in _classify. Bounded
# repeats keep matching linear on hostile input such as `<|` followed by a million spaces.
_TAG_RE = re.compile(r"<(\|)?[ \t]{0,3}(/)?[ \t]{0,3}([A-Za-z][A-Za-z0-9_-]{0,39})[ \t]{0,3}(\|)?>")
# Fallback action lines such as `ACTION: Move West` or `**Action:** north`.
_ACTION_LINE_RE = re.compile(r"^[ \t>*_#-]*action[ \t*_]*:(.*)$", re.IGNORECASE | re.MULTILINE)
_FENCE = "```"
# Chat-template tokens that some models leak; they end an op like <|END|> does.
_SPECIAL_TOKENS = frozenset(
    {
        "IM_START",
        "IM_END",
        "ENDOFTEXT",
        "EOT_ID",
        "EOM_ID",
        "EOS",
        "BEGIN_OF_TEXT",
        "END_OF_TEXT",
        "START_HEADER_ID",
        "END_HEADER_ID",
    }
)
_MAX_SHOWN = 80  # characters of offending text quoted in an error
# A completion is read up to this many op and action tags; the rest is dropped unread, so a
# completion of 100 000 ops costs what one of a few hundred does. The agent passes a bound
# derived from the scaffold's max_ops_per_turn.
MAX_PARSED_OPS = 400
_TAGS_PER_OP = 4  # stray END / DONE tags read per op before reading stops anyway


@dataclass(frozen=True)
class MemoryOp:
    """One parsed memory operation: its kind, its stripped arguments and the text it came from."""

    kind: OpKind
    args: tuple[str, ...]
    raw: str


@dataclass(frozen=True)
class ParseResult:
    """Everything found in one completion; ``errors`` holds what could not be used, in order.

    When the completion held more ops than the parse bound, its last ``unread_chars``
    characters were dropped unread; ``dropped_ops`` is about how many ops they held (a fast
    count of ``<|`` tags), and one error says so.
    """

    ops: tuple[MemoryOp, ...]
    action: str | None
    done: bool
    errors: tuple[str, ...]
    dropped_ops: int = 0
    unread_chars: int = 0


@dataclass(frozen=True)
class _Tag:
    kind: TagKind
    name: str
    start: int
    stop: int
    op: OpKind | None = None


_BARE_KINDS: dict[str, TagKind] = {
    "END": "end",
    "DONE": "done",
    "ACTION": "action",
    **{kind: "op" for kind in OP_KINDS},
}
# Names understood inside `<|…|>`: the bare names plus leaked chat tokens, which end an op.
_PIPED_KINDS: dict[str, TagKind] = {**_BARE_KINDS, **{t: "end" for t in _SPECIAL_TOKENS}}


def _classify(match: re.Match[str]) -> _Tag | None:
    """Decide what a tag-shaped piece of text is, or None when it is ordinary text."""
    left, slash, raw_name, right = match.groups()
    name = raw_name.upper().replace("-", "_")
    piped = left is not None and right is not None
    kind = (_PIPED_KINDS if piped else _BARE_KINDS).get(name)
    if slash is not None:  # a closing tag such as </ACTION> ends an op
        kind = "end" if kind is not None else None
    elif kind is None and piped:
        kind = "unknown"
    if kind is None:
        return None
    return _Tag(kind, name, match.start(), match.end(), _OP_BY_NAME.get(name))


def _shown(text: str) -> str:
    text = text.strip()
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return repr(text)


def _cut_unclosed(body: str) -> str:
    """An op without <|END|> also ends at a markdown fence (the model closed its code block)."""
    cut = body.find(_FENCE)
    return body if cut < 0 else body[:cut]


def _args_problem(kind: OpKind, args: tuple[str, ...]) -> str | None:
    """What is wrong with ``args`` for ``kind`` (naming the op and its form), or None."""
    form = OP_FORMS[kind]
    needs = f"{kind} needs {'|'.join(form)}"
    if len(args) != len(form):
        return needs
    for arg, arg_name in zip(args, form, strict=True):
        if not arg and arg_name not in _MAY_BE_EMPTY:
            return f"{needs} (empty {arg_name})"
    if kind == "TAIL" and parse_count(args[1]) is None:
        return f"{needs} with N a positive integer"
    return None


def check_op_args(kind: OpKind, args: tuple[str, ...]) -> str | None:
    """None when ``args`` fit ``kind``'s form, else an error naming the op and the form."""
    problem = _args_problem(kind, args)
    return None if problem is None else f"{problem}: got {_shown('|'.join(args))}"


def parse_count(text: str) -> int | None:
    """A positive decimal integer such as TAIL's N, or None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    value = int(text)
    return value if value > 0 else None


def _make_op(kind: OpKind, body: str, raw: str) -> MemoryOp | str:
    """Split ``body`` into the op's arguments; return an error quoting the op's text when they
    do not fit, e.g. ``TAIL needs file|N with N a positive integer: <|TAIL|>notes|-5<|END|>``."""
    args = tuple(part.strip() for part in body.split("|", len(OP_FORMS[kind]) - 1))
    problem = _args_problem(kind, args)
    if problem is not None:
        return f"{problem}: {shown(raw.strip())}"
    if kind == "TAIL":
        args = (args[0], str(parse_count(args[1])))
    return MemoryOp(kind=kind, args=args, raw=raw)


def _action_text(body: str, closed: bool) -> str:
    """A closed action is its whole stripped body; an unclosed one is its first non-empty line."""
    if closed:
        return body.strip()
    for line in body.split("\n"):
        if line.strip():
            return line.strip()
    return ""


def _fallback_actions(outside: list[str]) -> list[str]:
    """`ACTION: x` lines found in the text outside every op."""
    found: list[str] = []
    for segment in outside:
        for match in _ACTION_LINE_RE.finditer(segment):
            value = match.group(1).strip().strip("*_`'\"").strip()
            if value:
                found.append(value)
    return found


class _Collector:
    """Accumulates the pieces of a ParseResult while the tags are walked."""

    def __init__(self) -> None:
        self.ops: list[MemoryOp] = []
        self.errors: list[str] = []
        self.actions: list[str] = []
        self.action_tags = 0
        self.done = False
        self.outside: list[str] = []
        self.bodies = 0  # op, unknown and action tags read
        self.dropped = 0
        self.unread = 0

    def drop_rest(self, text: str, start: int) -> None:
        """Reading stopped at ``start``: the rest of ``text`` is dropped unread."""
        self.dropped = _count_op_tags(text, start)
        self.unread = len(text) - start
        self.errors.append(
            f"too many ops in one completion: read the first {self.bodies}, dropped the rest "
            f"unread (about {self.dropped} more ops in {self.unread} characters)"
        )

    def add_body(self, tag: _Tag, body: str, raw: str, closed: bool) -> None:
        self.bodies += 1
        if tag.kind == "unknown":
            self.errors.append(f"unknown op {tag.name}: {shown(raw.strip())}")
        elif tag.kind == "action":
            self.action_tags += 1
            action = _action_text(body, closed)
            if action:
                self.actions.append(action)
            else:
                self.errors.append("ACTION needs a game action: got ''")
        elif tag.op is not None:
            made = _make_op(tag.op, body, raw)
            if isinstance(made, MemoryOp):
                self.ops.append(made)
            else:
                self.errors.append(made)

    def result(self) -> ParseResult:
        actions = self.actions if self.action_tags else _fallback_actions(self.outside)
        for extra in actions[1:]:
            self.errors.append(f"ignored extra action {_shown(extra)}")
        return ParseResult(
            ops=tuple(self.ops),
            action=actions[0] if actions else None,
            done=self.done,
            errors=tuple(self.errors),
            dropped_ops=self.dropped,
            unread_chars=self.unread,
        )


def _count_op_tags(text: str, start: int) -> int:
    """About how many op and action tags ``text[start:]`` holds: its ``<|`` openings less the
    ``<|END|>`` and ``<|DONE|>`` markers. C-speed counts without a copy, since the point of not
    reading the text is to stay fast; bare ``<OP>`` tags and other markers are not told apart."""
    markers = text.count("<|END|>", start) + text.count("<|DONE|>", start)
    return max(0, text.count("<|", start) - markers)


def _tags(text: str) -> Iterator[_Tag]:
    """The tags of ``text`` in order, found lazily so reading can stop early."""
    for match in _TAG_RE.finditer(text):
        tag = _classify(match)
        if tag is not None:
            yield tag


def parse_completion(text: str, max_ops: int = MAX_PARSED_OPS) -> ParseResult:
    """Parse a completion into memory ops, the first game action and the DONE marker.

    Never raises. Ops run from their tag to ``<|END|>``; a missing ``<|END|>`` ends the op at the
    next tag, at a markdown fence, or at the end of the text. Reading stops before the op or
    action tag past the first ``max_ops`` (or after ``4 * max_ops`` tags of any kind): the rest
    of the text is dropped unread, and one error says about how many ops that was.
    """
    max_ops = max(1, max_ops)
    tags = _tags(text)
    out = _Collector()
    pos = 0
    seen = 0
    tag = next(tags, None)
    while tag is not None:
        seen += 1
        opens_body = tag.kind not in ("end", "done")
        if seen > _TAGS_PER_OP * max_ops or (opens_body and out.bodies >= max_ops):
            out.outside.append(text[pos : tag.start])
            out.drop_rest(text, tag.start)
            return out.result()
        nxt = next(tags, None)
        if tag.kind == "end":
            tag = nxt
            continue  # a stray terminator
        out.outside.append(text[pos : tag.start])
        pos = tag.stop
        if tag.kind == "done":
            out.done = True
            tag = nxt
            continue
        closed = False
        if nxt is not None and nxt.kind == "end":
            body, pos, closed = text[tag.stop : nxt.start], nxt.stop, True
            seen += 1
            nxt = next(tags, None)
        else:
            body = _cut_unclosed(text[tag.stop : nxt.start if nxt is not None else len(text)])
            pos = tag.stop + len(body)
        out.add_body(tag, body, text[tag.start : pos], closed)
        tag = nxt
    out.outside.append(text[pos:])
    return out.result()
