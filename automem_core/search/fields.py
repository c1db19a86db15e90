"""What a search index holds: its documents' fields, their kinds, and the one tokenizer.

One document per piece of text, so that every filter means exactly what it says (an op kind
filter never matches the text of another op of the same step):

==============  =======================================  ====================================
source          text fields                              what it is
==============  =======================================  ====================================
observation     ``observation``, ``action``               a step: what the agent saw, then did
turn            ``completion``                            one LLM turn's answer (LOG, PLAN, …)
op              ``op`` (its arguments), ``result``        one memory operation
memory          ``memory``                                one memory line, from the step that
                                                          wrote it to the last step it existed
proposal        ``rationale``                             a scaffold proposal's summary and
                                                          rationale (store-level records)
label           ``note``                                  a person's or the judge's note on a
                                                          decision (store-level records)
==============  =======================================  ====================================

Every document also carries what the filters ask about (episode, task, episode status, phase,
op kind, step, …) as ``name=value`` tags in one untokenized field: one field rather than one
per property keeps the index small (each indexed field costs a byte per document). A run's own
properties (run, game, scaffold version, seed set) are the same for all its documents and are
checked once per run instead; the records' documents carry them as tags. Text is split into
words by :data:`TOKENIZER` (runs of letters and digits, lowercased; words of 40 bytes or more
dropped); highlighting splits text the same way (:func:`analyzer`), so what is marked is what
matched.
"""

from __future__ import annotations

import functools
from typing import Literal, get_args

import tantivy

INDEX_VERSION = 1  # bump when the fields change: an index of another version is rebuilt
TOKENIZER = "default"  # tantivy's: alphanumeric runs, lowercased, long words dropped
LONG_WORD_BYTES = 40

Source = Literal["observation", "turn", "op", "memory", "proposal", "label"]
SOURCES: tuple[Source, ...] = get_args(Source)
RECORD_SOURCES: tuple[Source, ...] = ("proposal", "label")

TextField = Literal[
    "observation", "action", "completion", "op", "result", "memory", "rationale", "note"
]
TEXT_FIELDS: tuple[TextField, ...] = get_args(TextField)
# The properties a document may carry as ``name=value`` tags in :data:`TAG_FIELD` (a value
# matches whole, case kept).
TAG_FIELD = "tag"
KEYWORD_FIELDS = (
    "source",
    "run_id",
    "episode_id",
    "game",
    "task",
    "version",  # the scaffold version, id@hash8
    "seed_set",
    "status",  # the episode's status
    "phase",  # observation, helper, log, plan, action, init (memory lines and ops: their op's)
    "kind",  # the op kind (SEARCH, APPEND, …): ops, and memory lines (the op that wrote them)
    "access",  # "read" or "write": the op's effect on memory
    "file",  # the memory file (ops, memory lines)
    "ref",  # a record's id: the proposal, or the label
    "author",  # who wrote a label
    "verdict",  # a label's verdict; a proposal's latest event
)
RUN_KEYWORDS = ("run_id", "game", "version", "seed_set")  # a run's documents leave them out
INT_FIELDS = (
    "step",  # the step of the text (a memory line: the step that wrote it)
    "until",  # a memory line: the last step at whose end it was still there
    "line",  # a memory line: its line number when it was written
    "turn",
    "seed",
    "at",  # the order of the text within its episode (:func:`position`)
    "episode_no",  # the episode's number within its run's index (sequence queries)
)

# The order of the phases within one step: the agent sees the observation, the helpers write,
# then come the LOG turns, the PLAN turns and the action.
PHASE_RANK = {"init": 0, "observation": 0, "helper": 1, "log": 2, "plan": 3, "action": 4}
NO_STEP = -(2**40)  # "until" of a record, which has none


def position(step: int, phase: str, turn: int) -> int:
    """The order of a text within its episode: by step, then phase, then turn."""
    return (step + 1) * 64 + PHASE_RANK.get(phase, 5) * 8 + min(max(turn, 0), 7)


def step_of(at: int) -> int:
    """The step a :func:`position` belongs to."""
    return at // 64 - 1


@functools.cache
def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name=TOKENIZER)
    builder.add_text_field(TAG_FIELD, stored=True, tokenizer_name="raw", index_option="basic")
    for number in INT_FIELDS:  # ranges are read from the fast columns: no postings needed
        builder.add_integer_field(number, stored=True, indexed=False, fast=True)
    return builder.build()


def tag(name: str, value: object) -> str:
    """The tag of a property's value (``kind=SEARCH``)."""
    return f"{name}={value}"


def tags(**values: object) -> list[str]:
    """The tags of the properties given (None values left out)."""
    return [f"{k}={v}" for k, v in values.items() if v is not None and v != ""]


def untag(values: list[str]) -> dict[str, str]:
    """Property → value from a document's tags (the first value of each)."""
    out: dict[str, str] = {}
    for value in values:
        name, _, rest = value.partition("=")
        out.setdefault(name, rest)
    return out


def untag_all(values: list[str], name: str) -> list[str]:
    prefix = f"{name}="
    return [v[len(prefix) :] for v in values if v.startswith(prefix)]


@functools.cache
def analyzer() -> tantivy.TextAnalyzer:
    """The text fields' tokenizer, for highlighting and for turning a query word into terms."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(LONG_WORD_BYTES))
        .filter(tantivy.Filter.lowercase())
        .build()
    )


def words(text: str) -> list[str]:
    """The terms ``text`` is indexed as."""
    return list(analyzer().analyze(text))
