"""The training-set formats by name, the files they are written to, and the groups a person
picks (``automem export --format``, the Export page). Names only: ``formats.py`` renders them."""

from __future__ import annotations

from typing import Literal, get_args

FormatName = Literal[
    "openai_chat",
    "sharegpt",
    "trl_prompt_completion",
    "trl_preference",
    "openai_preference",
]
FORMAT_NAMES: tuple[FormatName, ...] = get_args(FormatName)

OPENAI_FILE = "openai_chat.jsonl"
SHAREGPT_FILE = "sharegpt.json"
TRL_FILE = "trl_prompt_completion.jsonl"
TRL_PREFERENCE_FILE = "trl_preference.jsonl"
OPENAI_PREFERENCE_FILE = "openai_preference.jsonl"
CARD_FILE = "card.json"
DATASET_INFO_FILE = "dataset_info.json"

FILE_NAMES: dict[FormatName, str] = {
    "openai_chat": OPENAI_FILE,
    "sharegpt": SHAREGPT_FILE,
    "trl_prompt_completion": TRL_FILE,
    "trl_preference": TRL_PREFERENCE_FILE,
    "openai_preference": OPENAI_PREFERENCE_FILE,
}
# What a person picks → the formats it writes. ``all`` is every format.
FORMAT_GROUPS: dict[str, tuple[FormatName, ...]] = {
    "openai": ("openai_chat",),
    "sharegpt": ("sharegpt",),
    "trl": ("trl_prompt_completion",),
    "preference": ("trl_preference", "openai_preference"),
    "all": FORMAT_NAMES,
}
# The supervised formats a training can start from, in the order it prefers them.
SFT_FILES: tuple[str, ...] = (TRL_FILE, OPENAI_FILE, SHAREGPT_FILE)


def formats_of(groups: list[str] | tuple[str, ...]) -> list[FormatName]:
    """The formats the picked groups name, each once, in :data:`FORMAT_NAMES` order."""
    picked = {name for group in groups for name in FORMAT_GROUPS[group]}
    return [name for name in FORMAT_NAMES if name in picked]
