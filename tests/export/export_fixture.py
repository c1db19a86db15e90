"""A small export folder in the exact format the exporter writes, with realistic memory turns.

The texts follow the Crafter v0 scaffold: a LOG turn sees the previous action and the new
observation and records the outcome (``<|APPEND|>actions_log|Step 3 action 'Do': collected
wood<|END|><|DONE|>``); a PLAN consultation searches memory before acting
(``<|SEARCH|>map_notes|water<|END|>``). Some PLAN examples carry an earlier turn and its result, so
the prompt holds an assistant message that must not be trained on.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

SYSTEM = (
    "You are an agent playing Crafter. Survive and unlock achievements.\n\n"
    "You have no memory of earlier steps except the memory files listed below. Every step has "
    "two phases.\nLOG phase: record what is worth remembering with memory operations, then "
    "write <|DONE|>.\nPLAN phase: consult your memory with read-only operations (SEARCH, READ, "
    "TAIL, COUNT) if useful, then commit exactly one game action with <|ACTION|>action "
    "name<|END|>.\n\nMemory files:\n- map_notes: where resources are\n- actions_log: what each "
    "action did\n- survival_log: health, food, drink, energy events\n- crafting_progress: tools "
    "made\n- strategy: current plan"
)

_OUTCOMES = [
    ("Do", "tree", "wood", "collected wood"),
    ("Do", "stone", "stone", "collected stone"),
    ("Do", "water", "drink", "drank water"),
    ("Do", "coal", "coal", "collected coal"),
    ("Do", "cow", "food", "ate cow"),
    ("Place Table", "grass", "table", "placed table"),
    ("Make Wood Pickaxe", "table", "wood_pickaxe", "made wood pickaxe"),
    ("Do", "sapling", "sapling", "collected sapling"),
]
_DIRECTIONS = ["north-west", "north-east", "south-west", "south-east"]
_RESOURCES = ["water", "tree", "stone", "coal", "cow", "iron"]


def _observation(rng: random.Random, facing: str, step: int) -> str:
    seen = rng.sample(_RESOURCES, 3)
    lines = ["You see:"]
    for name in seen:
        d = rng.randint(1, 6)
        unit = "step" if d == 1 else "steps"
        lines.append(f"- {name} {d} {unit} to your {rng.choice(_DIRECTIONS)}")
    lines.append(f"\nYou face {facing} at your front.\n\nYour status:")
    for stat in ("health", "food", "drink", "energy"):
        lines.append(f"- {stat}: {rng.randint(3, 9)}/9")
    lines.append("\nYour inventory:")
    empty = "You have nothing in your inventory."
    lines.append(f"- wood: {rng.randint(1, 5)}" if step % 3 else empty)
    return "\n".join(lines)


def _file_index(rng: random.Random, step: int) -> str:
    counts = {
        "map_notes": rng.randint(0, step // 2 + 1),
        "actions_log": step - 1,
        "survival_log": rng.randint(0, 4),
        "crafting_progress": rng.randint(0, 2),
        "strategy": 1,
    }
    return "\n".join(f"- {name} ({n} lines)" for name, n in counts.items())


def _log_example(rng: random.Random, step: int) -> tuple[list[dict[str, Any]], str]:
    action, facing, _item, outcome = rng.choice(_OUTCOMES)
    user = (
        f"[LOG phase] Step {step}.\nPrevious action: {action}\n\nObservation:\n"
        f"{_observation(rng, facing, step)}\n\nMemory files:\n{_file_index(rng, step)}\n\n"
        "Record what is worth remembering about what just happened, then write <|DONE|>."
    )
    completion = f"<|APPEND|>actions_log|Step {step} action '{action}': {outcome}<|END|>"
    if facing in ("water", "tree", "stone") and rng.random() < 0.5:
        where = rng.choice(_DIRECTIONS)
        completion += f"\n<|APPEND|>map_notes|{facing} 1 step {where} of step {step}<|END|>"
    completion += "<|DONE|>"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}], completion


def _plan_example(rng: random.Random, step: int) -> tuple[list[dict[str, Any]], str]:
    need = rng.choice(["water", "tree", "stone", "coal"])
    user = (
        f"[PLAN phase] Step {step}.\n\nObservation:\n{_observation(rng, 'grass', step)}\n\n"
        f"Memory files:\n{_file_index(rng, step)}\n\nConsult your memory if useful (SEARCH, READ, "
        "TAIL, COUNT only), then commit one action with <|ACTION|>action name<|END|>."
    )
    prompt: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": user},
    ]
    if rng.random() < 0.3:
        # an earlier consultation turn and its result: context, never a training target
        prompt.append({"role": "assistant", "content": "<|TAIL|>actions_log|3<|END|>"})
        prompt.append(
            {
                "role": "user",
                "content": f"── TAIL actions_log 3 ──\nStep {step - 1} action 'Noop': nothing",
            }
        )
    return prompt, f"<|SEARCH|>map_notes|{need}<|END|>"


def _sharegpt(messages: list[dict[str, Any]]) -> dict[str, Any]:
    role_to_from = {"system": "system", "user": "human", "assistant": "gpt"}
    return {
        "conversations": [
            {"from": role_to_from[m["role"]], "value": m["content"]} for m in messages
        ]
    }


def make_export(folder: Path, n: int = 80, game: str = "crafter", seed: int = 0) -> Path:
    """Write an export of ``n`` memory-turn examples into ``folder`` and return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    trl_lines, openai_lines, sharegpt = [], [], []
    for i in range(n):
        step = rng.randint(2, 400)
        prompt, target = _log_example(rng, step) if i % 2 == 0 else _plan_example(rng, step)
        completion = [{"role": "assistant", "content": target}]
        trl_lines.append(
            {
                "prompt": prompt,
                "completion": completion,
                "decision_id": f"dec-{seed:03d}-{i:04d}",
                "game": game,
            }
        )
        weighted = [{**m, "weight": 0} if m["role"] == "assistant" else dict(m) for m in prompt] + [
            {"role": "assistant", "content": target, "weight": 1}
        ]
        openai_lines.append({"messages": weighted})
        sharegpt.append(_sharegpt(prompt + completion))

    def write_jsonl(name: str, rows: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (folder / name).write_text(text, encoding="utf-8")

    write_jsonl("trl_prompt_completion.jsonl", trl_lines)
    write_jsonl("openai_chat.jsonl", openai_lines)
    (folder / "sharegpt.json").write_text(json.dumps(sharegpt, ensure_ascii=False), "utf-8")
    dataset_info = {
        "automem_memory": {
            "file_name": "sharegpt.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
        }
    }
    (folder / "dataset_info.json").write_text(json.dumps(dataset_info, indent=2), "utf-8")
    card = {
        "game": game,
        "seeds": {"traces": list(range(seed, seed + 5))},
        "counts": {"examples": n, "log": (n + 1) // 2, "plan": n // 2},
        "scaffold_versions": ["crafter-v0@0123abcd"],
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2), "utf-8")
    return folder
