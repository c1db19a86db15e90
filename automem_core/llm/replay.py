"""``ReplayClient``: answers from recorded turns, for deterministic tests and re-runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from automem_core.llm.base import Completion, LLMConfigError, TurnRequest

TurnKey = tuple[str, int, str, int]  # (episode_id, step, phase, turn)

_ROW_FIELDS = ("episode_id", "step", "phase", "turn", "completion")


class ReplayClient:
    """Looks up each request by ``(episode_id, step, phase, turn)``; a missing turn is an error
    completion, never an exception, so a run against a stale recording goes on and reports it."""

    def __init__(self, turns: Mapping[TurnKey, str], label: str = "replay") -> None:
        self.label = label
        self._turns: dict[TurnKey, str] = dict(turns)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, object]], label: str = "replay") -> ReplayClient:
        """Build from dict rows with keys episode_id, step, phase, turn, completion
        (e.g. rows of the ``turns`` table)."""
        turns: dict[TurnKey, str] = {}
        for index, row in enumerate(rows):
            missing = [name for name in _ROW_FIELDS if name not in row]
            if missing:
                raise LLMConfigError(
                    f"replay row {index} lacks {', '.join(missing)}; each row needs "
                    f"{', '.join(_ROW_FIELDS)}"
                )
            key = (
                str(row["episode_id"]),
                _as_int(row["step"], "step", index),
                str(row["phase"]),
                _as_int(row["turn"], "turn", index),
            )
            completion = row["completion"]
            turns[key] = "" if completion is None else str(completion)
        return cls(turns, label=label)

    def __len__(self) -> int:
        return len(self._turns)

    async def complete(self, request: TurnRequest) -> Completion:
        key = (request.episode_id, request.step, request.phase, request.turn)
        text = self._turns.get(key)
        if text is None:
            return Completion(
                text="",
                error=(
                    f"no recorded turn for episode {request.episode_id!r} step {request.step} "
                    f"phase {request.phase} turn {request.turn}; re-record the episode"
                ),
            )
        return Completion(text=text)

    async def aclose(self) -> None:
        return None


def _as_int(value: object, name: str, index: int) -> int:
    if isinstance(value, bool):
        raise LLMConfigError(f"replay row {index}: {name} must be an integer, got a bool")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise LLMConfigError(
            f"replay row {index}: {name} must be an integer, got {value!r}; fix the recording"
        ) from None
