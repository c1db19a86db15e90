"""Scripted models: the fake game's embedded player, and a client answering from a function.

The fake game's player (:func:`respond_fake`) behaves like a plausible memory agent, including its
mistakes, so every statistic the store, the diagnostics and the dashboard compute has something
to show: it logs outcomes, keeps a keyed map of gold, re-writes lines it already wrote, searches
for things it never stored, writes lines nobody reads, and now and then asks for an action the
game does not have. Two agent-written lines that a viewer must show literally are appended to
``notes`` at fixed steps: :data:`SCRIPT_LINE` and :data:`BOLD_LINE`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from automem_core.llm.base import Completion, TurnRequest
from automem_core.llm.embedded import op_text
from automem_core.llm.embedded.prompt_view import PromptView

SCRIPT_LINE = "<script>alert(1)</script>"
BOLD_LINE = "**bold**"
SCRIPT_STEP, BOLD_STEP = 2, 3  # LOG phases that append these lines to `notes`
INVALID_EVERY = 17  # every this many steps the player asks for an action that does not exist
_GOLD = re.compile(r"^- gold (\d+) steps (\S+)$", re.MULTILINE)
_POSITION = re.compile(r"^position: \((\d+),(\d+)\)$", re.MULTILINE)
_MOVES = ("north", "east", "south", "west")


def _position(view: PromptView) -> tuple[int, int] | None:
    match = _POSITION.search(view.observation)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _log_turn(view: PromptView, step: int) -> str:
    """One LOG turn: the outcome, the nearest gold keyed by its position, now and then a line
    already written (redundant) or a rewritten plan."""
    message = view.observation.split("\n", 1)[0].removeprefix("message: ")
    ops = [op_text.append("actions_log", f"Step {step} {view.previous_action}: {message}")]
    if step == SCRIPT_STEP:
        ops.append(op_text.append("notes", SCRIPT_LINE))
    if step == BOLD_STEP:
        ops.append(op_text.append("notes", BOLD_LINE))
    gold, pos = _GOLD.search(view.observation), _position(view)
    if step % 2 and gold and pos:  # keyed by direction: a handful of lines, kept current
        where = f"gold {gold.group(1)} steps from ({pos[0]},{pos[1]})"
        ops.append(op_text.upsert("map", gold.group(2), where))
    if step % 33 == 7 or (step % 11 == 4 and "wall" in message):
        ops.append(op_text.append("notes", "walls stop you; turn around"))  # often redundant
    if step % 50 == 10:
        ops.append(
            f"<|WRITE|>plan|Head for the nearest gold.\nAvoid circles at step {step}.<|END|>"
        )
    return "Recording what happened.\n" + "\n".join(ops) + "\n" + op_text.DONE


def _choose(view: PromptView, step: int) -> str:
    if step % INVALID_EVERY == INVALID_EVERY - 1:
        return "fly"  # not an action of the game: the default is played
    if "- gold 0 steps" in view.observation:
        return "pick up"
    gold = _GOLD.search(view.observation)
    if gold:
        direction = gold.group(2).split("-")
        return direction[step % len(direction)]
    return _MOVES[(step // 3) % 4]


def respond_fake(view: PromptView, request: TurnRequest) -> str:
    """The fake game's embedded player: a pure function of the prompt, like every player.
    PLAN consults first (one SEARCH a step, sometimes TAIL or READ) and acts in the same turn
    three steps in ten, in a second turn otherwise."""
    step = view.step if view.step is not None else request.step
    if request.phase == "log":
        return _log_turn(view, step)
    action = f"<|ACTION|>{_choose(view, step)}<|END|>"
    if request.phase != "plan" or view.consulted:
        return f"I will go on.\n{action}"
    keyword = "treasure" if step % 8 == 1 else "gold"  # "treasure" is never written: empty
    ops = [op_text.search("map", keyword)]
    if step % 7 == 3:
        ops.append(op_text.tail("actions_log", 3))
    if step > BOLD_STEP and step % 25 == 5:
        ops.append(op_text.read("notes"))
    if step % 10 < 3:
        ops.append(action)
    return f"Where is the {keyword}?\n" + "\n".join(ops)


class ScriptedClient:
    """A model whose answer is ``answer(request)``; it keeps every request it got."""

    def __init__(self, answer: Callable[[TurnRequest], str], label: str = "scripted") -> None:
        self.answer, self.label = answer, label
        self.requests: list[TurnRequest] = []

    async def complete(self, request: TurnRequest) -> Completion:
        self.requests.append(request)
        return Completion(text=self.answer(request))

    async def aclose(self) -> None:
        return None
