"""Model text made safe to store (UTF-8 encodable) and to show on one line (escaped, cut)."""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SHOWN_MAX = 80


def clean_text(text: str) -> str:
    """``text`` with every code point UTF-8 cannot hold (lone surrogates) replaced by U+FFFD.

    Text that already encodes comes back as the same object, so clean text costs one scan.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE_RE.sub(REPLACEMENT, text)
    return text


def shown(text: str, limit: int = _SHOWN_MAX) -> str:
    """``text`` made safe for a one-line label: control characters escaped, long text cut."""
    if len(text) > 4 * limit:  # escaping can only lengthen it; never scan a huge text whole
        text = text[: 4 * limit]
        cut = True
    else:
        cut = False
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    if len(text) > limit or cut:
        text = text[: limit - 1] + "…"
    return text
