"""The labelling queues: which records a person works through, in what order.

A record is a decision or one alternative answer to its prompt; an alternative follows its
decision, so the two are labelled one after the other with the same keys. Queues are snapshots:
the page keeps the list it was given and moves through it, so a burst of presses labels the
records that were on screen, one after another.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import pandas as pd

QueueName = Literal[
    "unlabelled by me",
    "lowest score first",
    "judge and score disagree",
    "labellers disagree",
    "the Decisions table's filter",
]
QUEUES: tuple[QueueName, ...] = (
    "unlabelled by me",
    "lowest score first",
    "judge and score disagree",
    "labellers disagree",
    "the Decisions table's filter",
)


@dataclass(frozen=True)
class Item:
    kind: Literal["decision", "alternative"]
    target_id: str  # the decision id, or the alternative id
    decision_id: str


def labelled_by(people: pd.DataFrame, me: str) -> set[str]:
    """The targets ``me`` has a current label of."""
    if people.empty:
        return set()
    return set(people.loc[people["author"] == me, "target_id"])


def build_queue(
    name: QueueName,
    decisions: pd.DataFrame,
    alternatives: pd.DataFrame,
    people: pd.DataFrame,
    me: str,
    filtered: Collection[str] = (),
) -> list[Item]:
    """The records of queue ``name``, in order, leaving out what ``me`` already labelled
    (except in the labellers' disagreement queue, where everyone's label is the point)."""
    mine = labelled_by(people, me)
    chosen = decisions
    if name == "lowest score first":
        chosen = decisions.sort_values(["score", "decision_id"], kind="stable")
    elif name == "judge and score disagree":
        disagree = decisions["judge"].notna() & (decisions["judge"] != decisions["score_verdict"])
        chosen = decisions[disagree]
    elif name == "labellers disagree":
        chosen = decisions[decisions["disagree"]]
    elif name == "the Decisions table's filter":
        chosen = decisions[decisions["decision_id"].isin(list(filtered))]
    skip = set() if name == "labellers disagree" else mine
    by_decision: dict[str, list[str]] = {}
    if not alternatives.empty:
        for did, aid in zip(alternatives["decision_id"], alternatives["alternative_id"],
                            strict=True):  # fmt: skip
            by_decision.setdefault(str(did), []).append(str(aid))
    items: list[Item] = []
    for did in chosen["decision_id"].astype(str):
        if did not in skip:
            items.append(Item("decision", did, did))
        items += [Item("alternative", a, did) for a in by_decision.get(did, []) if a not in skip]
    return items
