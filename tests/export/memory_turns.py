"""Realistic labelled memory turns and preference pairs, as the miner hands them to the exporter.

The texts follow the Crafter v0 scaffold (see ``export_fixture.py``), including the untidy
completions real models produce: chatter after ``<|DONE|>``, ops inside markdown fences, PLAN
consultations that also commit a game action (``<|ACTION|>…<|END|>`` or an ``ACTION: Noop``
fallback line), and turns with no op at all.
"""

from __future__ import annotations

from typing import Any

from automem_core.export.example import Label, MemoryExample, MemoryPhase, PreferencePair
from tests.export.export_fixture import SYSTEM

SCAFFOLD = "crafter-v0@0123abcd"


def log_prompt(step: int, action: str = "Do", facing: str = "tree") -> list[dict[str, Any]]:
    user = (
        f"[LOG phase] Step {step}.\nPrevious action: {action}\n\nObservation:\nYou see:\n"
        f"- water 2 steps to your north-west\n- tree 1 step to your south-east\n\n"
        f"You face {facing} at your front.\n\nYour status:\n- health: 9/9\n- food: 7/9\n"
        "- drink: 5/9\n- energy: 8/9\n\nYour inventory:\n- wood: 2\n\nMemory files:\n"
        f"- map_notes (4 lines)\n- actions_log ({step - 1} lines)\n- survival_log (1 lines)\n\n"
        "Record what is worth remembering about what just happened, then write <|DONE|>."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def plan_prompt(step: int, earlier_turn: bool = False) -> list[dict[str, Any]]:
    user = (
        f"[PLAN phase] Step {step}.\n\nObservation:\nYou see:\n- grass 1 step to your west\n"
        "- stone 4 steps to your north-east\n\nYou face grass at your front.\n\nYour status:\n"
        "- health: 8/9\n- food: 6/9\n- drink: 3/9\n- energy: 7/9\n\nMemory files:\n"
        "- map_notes (6 lines)\n- actions_log (40 lines)\n\nConsult your memory if useful "
        "(SEARCH, READ, TAIL, COUNT only), then commit one action with <|ACTION|>action "
        "name<|END|>."
    )
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": user},
    ]
    if earlier_turn:  # an earlier consultation and its result: context, never a target
        messages += [
            {"role": "assistant", "content": "<|TAIL|>actions_log|3<|END|>"},
            {
                "role": "user",
                "content": f"── TAIL actions_log 3 ──\nStep {step - 1} action 'Noop': nothing\n\n"
                "Consult more if needed, then commit one action with <|ACTION|>action name<|END|>.",
            },
        ]
    return messages


def example(
    n: int,
    phase: MemoryPhase,
    target: str,
    *,
    label: Label = "good",
    label_source: str = "human",
    messages: list[dict[str, Any]] | None = None,
    seed: int = 101,
    game: str = "crafter",
) -> MemoryExample:
    step = 3 + n
    if messages is None:
        messages = log_prompt(step) if phase == "log" else plan_prompt(step)
    return MemoryExample(
        decision_id=f"dec-{seed}-{n:04d}",
        game=game,
        task="default",
        seed=seed,
        scaffold_version=SCAFFOLD,
        phase=phase,
        messages=messages,
        target=target,
        label=label,
        label_source=label_source,
        score=0.5 + n / 100,
    )


def realistic_examples() -> list[MemoryExample]:
    """Eight examples that survive cleaning and four that do not (a no-op PLAN turn, a LOG turn
    of prose, a fence around prose, a bad label), plus one ``unsure``."""
    return [
        example(
            0,
            "log",
            "Recording.\n<|APPEND|>actions_log|Step 3 action 'Do': collected wood<|END|>\n"
            "<|DONE|> trailing chatter",
        ),
        example(
            1,
            "log",
            "```\n<|APPEND|>map_notes|water 2 steps north-west of step 4<|END|>\n<|DONE|>\n```",
            label_source="llm:gpt-4.1",
        ),
        example(
            2,
            "log",
            "<|APPEND|>survival_log|Step 5 drink 5/9<|END|>\n<|DONE|>\n<|APPEND|>strategy|x<|END|>",
            messages=[
                *log_prompt(5),
                {"role": "assistant", "content": "<|SEARCH|>survival_log|drink<|END|>"},
                {"role": "user", "content": "── SEARCH survival_log for 'drink' ──\n[none]"},
            ],
        ),
        example(3, "plan", "<|SEARCH|>map_notes|water<|END|><|ACTION|>Move West<|END|>"),
        example(4, "plan", "<|TAIL|>actions_log|5<|END|>\nACTION: Noop", label_source="llm:x"),
        example(
            5,
            "plan",
            "Checking my notes.\n```text\n<|SEARCH|>map_notes|stone<|END|>\n```\n"
            "<|ACTION|>Move North<|END|>",
            messages=plan_prompt(8, earlier_turn=True),
        ),
        example(6, "plan", "<|COUNT|>actions_log|collected wood<|END|>\n**Action:** Do"),
        example(7, "log", "<|APPEND|>actions_log|Step 10 action 'Do': ate cow<|END|><|DONE|>"),
        example(8, "plan", "ACTION: Noop"),  # no op: dropped
        example(9, "log", "Nothing worth recording this step."),  # no op: dropped
        example(10, "plan", "```\nplan: find water\n```\n<|SEARCH|>map_notes|water<|END|>"),
        example(11, "log", "<|APPEND|>actions_log|wrong<|END|><|DONE|>", label="bad"),
        example(12, "log", "<|APPEND|>map_notes|tree near<|END|><|DONE|>", label="unsure"),
    ]


def pair(
    n: int, phase: MemoryPhase, chosen: str, rejected: str, messages: list[dict[str, Any]]
) -> PreferencePair:
    return PreferencePair(
        decision_id=f"pair-{n:04d}",
        game="crafter",
        scaffold_version=SCAFFOLD,
        phase=phase,
        messages=messages,
        chosen=chosen,
        rejected=rejected,
        chosen_source="original",
        rejected_source=f"resample:{n}",
    )


def realistic_pairs() -> list[PreferencePair]:
    """Three pairs that survive cleaning and one whose sides become identical."""
    return [
        pair(
            0,
            "log",
            "<|APPEND|>survival_log|Step 7 drink 3/9, water 2 steps south<|END|>\n<|DONE|> ok",
            "<|DONE|>",
            log_prompt(7),
        ),
        pair(
            1,
            "plan",
            "<|SEARCH|>map_notes|stone<|END|>\n<|ACTION|>Move North<|END|>",
            "I remember nothing useful.\nACTION: Move North",
            plan_prompt(9),
        ),
        pair(
            2,
            "plan",
            "<|SEARCH|>map_notes|water<|END|>",
            "<|READ|>strategy<|END|><|ACTION|>Noop<|END|>",
            plan_prompt(12, earlier_turn=True),
        ),
        pair(
            3,
            "plan",
            "<|SEARCH|>map_notes|water<|END|><|ACTION|>Move West<|END|>",
            "```\n<|SEARCH|>map_notes|water<|END|>\n```\nACTION: Noop",
            plan_prompt(14),
        ),
    ]
