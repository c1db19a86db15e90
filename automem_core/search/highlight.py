"""What in a hit's text matched: spans of the words a query asked for, and a fragment around
them. Text is split into words exactly as the index splits it (``fields.analyzer``), so a
highlighted word is one the index matched, whether the query asked for a word, a phrase, a
prefix or a regular expression.

Examples:
    >>> from automem_core.search.query import parse_query, positive_atoms
    >>> spans("A grid bug bites!", positive_atoms(parse_query('"grid bug"')), "observation")
    [(2, 10)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from automem_core.search.fields import analyzer, words
from automem_core.search.query import Regex, Words

FRAGMENT_CHARS = 200
_BEFORE = 60  # characters shown before the first highlighted word


@dataclass(frozen=True)
class Snippet:
    """A part of one field's text and the spans in it that matched (character offsets)."""

    field: str
    text: str
    spans: tuple[tuple[int, int], ...]
    cut_before: bool = False  # the text goes on before the fragment
    cut_after: bool = False

    def marked(self, open_: str = "[", close: str = "]") -> str:
        """The fragment with each span between ``open_`` and ``close`` (for plain text)."""
        out, pos = [], 0
        for start, end in self.spans:
            out += [self.text[pos:start], open_, self.text[start:end], close]
            pos = end
        out.append(self.text[pos:])
        return ("…" if self.cut_before else "") + "".join(out) + ("…" if self.cut_after else "")


def _tokens(text: str) -> dict[int, tuple[str, int, int]]:
    """Position → (word, start, end) of each word of ``text``."""
    return {
        t.position: (t.text, t.char_offset_from, t.char_offset_to)
        for t in analyzer().pre_tokenize(text).tokens
    }


def _matches(word: str, want: str, prefix: bool) -> bool:
    return word.startswith(want) if prefix else word == want


def spans(text: str, atoms: Sequence[Words | Regex], field: str) -> list[tuple[int, int]]:
    """The character spans of ``text`` (a ``field``) that the query's words matched."""
    mine = [a for a in atoms if (a.field or field) == field]
    if not mine or not text:
        return []
    tokens = _tokens(text)
    found: set[tuple[int, int]] = set()
    for atom in mine:
        if isinstance(atom, Regex):
            try:
                pattern = re.compile(atom.pattern)
            except re.error:
                continue  # a pattern Python reads otherwise: nothing is marked
            found.update((s, e) for w, s, e in tokens.values() if pattern.fullmatch(w))
            continue
        n = len(atom.terms)
        for pos, (word, start, _) in tokens.items():
            if not _matches(word, atom.terms[0], atom.prefix and n == 1):
                continue
            ok, end = True, tokens[pos][2]
            for k in range(1, n):
                nxt = tokens.get(pos + k)
                if nxt is None or not _matches(nxt[0], atom.terms[k], atom.prefix and k == n - 1):
                    ok = False
                    break
                end = nxt[2]
            if ok:
                found.add((start, end))
    return _merge(sorted(found))


def _merge(found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in found:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def snippet(
    text: str, found: Sequence[tuple[int, int]], field: str, size: int = FRAGMENT_CHARS
) -> Snippet:
    """A fragment of ``text`` of at most ``size`` characters around its first matches, line
    breaks shown as ``⏎`` (one character, so the spans keep their offsets)."""
    first = found[0][0] if found else 0
    before = min(_BEFORE, size // 3)
    start = max(0, min(first - before, len(text) - size)) if found else 0
    end = min(len(text), start + size)
    kept = tuple((max(s, start) - start, min(e, end) - start) for s, e in found if s < end)
    fragment = text[start:end].replace("\r", " ").replace("\n", "⏎")
    return Snippet(field, fragment, kept, start > 0, end < len(text))


def matched_words(text: str, found: Sequence[tuple[int, int]]) -> list[str]:
    """The words inside the spans, once each in order: what a viewer of the hit marks."""
    out: list[str] = []
    for start, end in found:
        for word in words(text[start:end]):
            if word not in out:
                out.append(word)
    return out
