"""An episode's rows as search documents (``fields.py`` says what each holds).

:func:`episode_documents` is the one place rows become documents: the index of a run is built
from it, and a scan of episodes that have no index yet indexes them the same way in memory, so
both answer a query alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import tantivy

from automem_core.memory import READ_ONLY_OPS
from automem_core.memory.state import MemoryState
from automem_core.search.fields import position, tags
from automem_core.search.memory_lines import OpMutations, memory_lines
from automem_core.store.memory_at import decode_mutations, decode_state

STEP_COLUMNS = ["step", "observation", "action"]
TURN_COLUMNS = ["step", "phase", "turn", "completion"]
OP_COLUMNS = ["step", "seq", "phase", "turn", "kind", "file", "args", "result", "mutations_json"]


@dataclass(frozen=True)
class EpisodeMeta:
    """What every document of an episode carries for the filters (its run's own properties are
    checked per run, not per document)."""

    episode_id: str
    episode_no: int  # its number within the run's index
    task: str
    status: str
    seed: int

    def tags(self) -> list[str]:
        return tags(episode_id=self.episode_id, task=self.task, status=self.status)


@dataclass(frozen=True)
class EpisodeRows:
    """The rows of one episode a search index reads."""

    steps: pa.Table  # STEP_COLUMNS
    turns: pa.Table  # TURN_COLUMNS
    ops: pa.Table  # OP_COLUMNS, in ``seq`` order
    initial: MemoryState  # memory at its first keyframe
    last_step: int


def access_of(kind: str) -> str:
    return "read" if kind in READ_ONLY_OPS else "write"


def op_text(args: list[str]) -> str:
    """An op's arguments as the agent wrote them between its tags (``file|keyword``)."""
    return "|".join(args)


def episode_documents(meta: EpisodeMeta, rows: EpisodeRows) -> Iterator[tantivy.Document]:
    """Every document of one episode: its steps, turns, ops and memory lines."""
    base = meta.tags()
    seed, number = meta.seed, meta.episode_no
    steps = rows.steps
    for step, observation, action in zip(
        *(steps.column(c).to_pylist() for c in STEP_COLUMNS), strict=True
    ):
        yield tantivy.Document(
            tag=[*base, "source=observation", "phase=observation"],
            step=step,
            at=position(step, "observation", 0),
            seed=seed,
            episode_no=number,
            observation=observation or "",
            action=action or "",
        )
    turns = rows.turns
    for step, phase, turn, completion in zip(
        *(turns.column(c).to_pylist() for c in TURN_COLUMNS), strict=True
    ):
        if completion:
            yield tantivy.Document(
                tag=[*base, "source=turn", f"phase={phase}"],
                step=step,
                turn=turn,
                at=position(step, phase, turn),
                seed=seed,
                episode_no=number,
                completion=completion,
            )
    ops = rows.ops
    logged: list[OpMutations] = []
    columns = [ops.column(c).to_pylist() for c in OP_COLUMNS]
    for step, _seq, phase, turn, kind, file, args, result, mutations in zip(*columns, strict=True):
        yield tantivy.Document(
            tag=[
                *base,
                "source=op",
                f"phase={phase}",
                f"kind={kind}",
                f"access={access_of(kind)}",
                *tags(file=file),
            ],
            step=step,
            turn=turn,
            at=position(step, phase, turn),
            seed=seed,
            episode_no=number,
            op=op_text(list(args or [])),
            result=result or "",
        )
        if mutations and mutations != "[]":
            logged.append(OpMutations(step, phase, turn, kind, tuple(decode_mutations(mutations))))
    for line in memory_lines(rows.initial, logged, rows.last_step):
        written_by = [f"kind={line.kind}"] if line.kind else []
        yield tantivy.Document(
            tag=[*base, "source=memory", f"phase={line.phase}", f"file={line.file}", *written_by],
            step=line.written,
            until=line.until,
            line=line.line,
            turn=line.turn,
            at=position(line.written, line.phase, line.turn),
            seed=seed,
            episode_no=number,
            memory=line.text,
        )


def initial_state(files_json: str | None) -> MemoryState:
    """Memory at a keyframe from its stored JSON (no keyframe: no files)."""
    return decode_state(files_json) if files_json else {}
