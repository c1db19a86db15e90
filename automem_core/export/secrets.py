"""Which environment values an export must never hold.

An export is meant to be shared, so no value of a secret from the environment may end up in it.
But scrubbing every value of every variable whose name merely looks secret mangles data: a
``KEYBOARD_LAYOUT=us`` or a ``TOKEN_FILE=actions_log`` value is a word the agent writes all the
time. A value counts as a secret when its variable is a configured key variable (the
``api_key_env`` names of the model configs, ``OPENAI_API_KEY`` by default) or its name looks
secret (``*KEY*``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``) and the value looks like a key:
long and varied (see :func:`looks_like_key`). A plain word or a memory file name never counts.

Examples:
    >>> looks_like_key("sk-proj-4f9Qz81LmXw0aB7c")
    True
    >>> looks_like_key("actions_log")
    False
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping

SECRET_NAME_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
DEFAULT_KEY_VARIABLES = ("OPENAI_API_KEY",)
MIN_KEY_CHARS = 16  # shorter values are not keys that matter (and match too much text)
MIN_BITS_PER_CHAR = 3.0  # Shannon entropy of the value's characters
_PLAIN_WORD = re.compile(r"^[A-Za-z]+(?:[ _.-][A-Za-z]+)*$")  # words, maybe joined: actions_log
_ONE_WORD = re.compile(r"^[A-Za-z]+$")


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_like_key(value: str) -> bool:
    """Long (≥ :data:`MIN_KEY_CHARS`), one token (no spaces), several kinds of characters
    (digits among them, or both cases) and varied (≥ :data:`MIN_BITS_PER_CHAR` bits per
    character): the shape of an API key or a password, not of a word or a sentence."""
    if len(value) < MIN_KEY_CHARS or any(c.isspace() for c in value):
        return False
    kinds = sum(
        (any(c.islower() for c in value), any(c.isupper() for c in value),
         any(c.isdigit() for c in value), any(not c.isalnum() for c in value))
    )  # fmt: skip
    return kinds >= 2 and _entropy(value) >= MIN_BITS_PER_CHAR and not _PLAIN_WORD.match(value)


def secret_values(
    environ: Mapping[str, str],
    key_variables: Iterable[str] = DEFAULT_KEY_VARIABLES,
    never: Iterable[str] = (),
) -> dict[str, str]:
    """value → the variable holding it, for each value an export must not hold, longest first.

    ``key_variables`` are the configured key variables (their values count unless they are one
    word or shorter than 8 characters); ``never`` are values that never count (the memory
    files' names)."""
    configured, skip = set(key_variables), set(never)
    found: dict[str, str] = {}
    for name, raw in environ.items():
        value = raw.strip()
        if len(value) < 8 or value in skip or _ONE_WORD.match(value):
            continue
        if name in configured or (SECRET_NAME_RE.search(name) and looks_like_key(value)):
            found.setdefault(value, name)
    return dict(sorted(found.items(), key=lambda kv: (-len(kv[0]), kv[0])))
