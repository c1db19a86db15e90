"""One label per decision from several people's labels, by a stated policy.

Each person's current label of a target (a decision or an alternative answer) is their own
latest row (``store/current.py``); a withdrawn label (an undo back to nothing) is no label. How
those become the target's one label is a policy, recorded on every export's card:

- ``latest``: the most recent person's label wins.
- ``majority``: the verdict most people gave; a tie is unresolved (a conflict).
- ``adjudicated``: where people agree, their verdict; where they differ, the latest label of an
  adjudicator (a person named as one); until an adjudicator labels it, a conflict.

A person's label beats the judge's; a conflict has no label at all (not the judge's), so it is
neither trained on nor silently decided.

Examples:
    >>> import pandas as pd
    >>> people = pd.DataFrame({"target_kind": ["decision"] * 3, "target_id": ["d1"] * 3,
    ...     "author": ["ana", "ben", "cy"], "verdict": ["good", "bad", "good"],
    ...     "created_at": ["1", "2", "3"]})
    >>> resolve(people, "majority")[["human", "conflict"]].values.tolist()
    [['good', False]]
    >>> resolve(people, "latest")["human_author"].tolist()
    ['cy']
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from automem_core.store.record_rows import LabelPolicy

KEY = ["target_kind", "target_id"]
COLUMNS = [*KEY, "human", "human_author", "labellers", "disagree", "conflict"]


def describe(policy: LabelPolicy, adjudicators: Sequence[str] = ()) -> str:
    """The policy in words, as the card and the page state it."""
    if policy == "majority":
        return "majority: the verdict most labellers gave (a tie is left out), else the judge's"
    if policy == "adjudicated":
        names = ", ".join(adjudicators) or "none named"
        return (
            "adjudicated: the labellers' verdict where they agree, else an adjudicator's "
            f"({names}); a disagreement no adjudicator settled is left out"
        )
    return "latest: a person's latest label, else the judge's latest verdict"


def resolve(
    people: pd.DataFrame, policy: LabelPolicy, adjudicators: Sequence[str] = ()
) -> pd.DataFrame:
    """Per target of ``people`` (each person's current label: ``target_kind``, ``target_id``,
    ``author``, ``verdict``, ``created_at``): the resolved ``human`` verdict (None when in
    conflict), its ``human_author`` (the person whose label decided, or ``majority``), how many
    ``labellers``, whether they ``disagree``, and whether it is a ``conflict`` (unresolved)."""
    if people.empty:
        return pd.DataFrame(columns=COLUMNS)
    ordered = people.sort_values("created_at", kind="stable")
    groups = ordered.groupby(KEY, sort=False)
    out = groups.agg(
        labellers=("author", "nunique"),
        kinds=("verdict", "nunique"),
    ).reset_index()
    out["disagree"] = out.pop("kinds") > 1
    newest = groups.tail(1).set_index(KEY)
    if policy == "latest":
        picked = newest
        human = picked["verdict"]
        author = picked["author"]
    elif policy == "majority":
        counts = ordered.groupby([*KEY, "verdict"]).size().rename("n").reset_index()
        counts = counts.sort_values([*KEY, "n"], ascending=[True, True, False])
        top = counts.groupby(KEY).nth(0).set_index(KEY)
        second = counts.groupby(KEY).nth(1).set_index(KEY)["n"]
        tie = second.reindex(top.index).eq(top["n"])
        human = top["verdict"].where(~tie)
        author = pd.Series("majority", index=top.index).where(~tie)
    else:
        agreed = out.set_index(KEY)
        unanimous = newest["verdict"].where(~agreed["disagree"].reindex(newest.index))
        judged = ordered[ordered["author"].isin(list(adjudicators))]
        adjudicated = judged.groupby(KEY, sort=False).tail(1).set_index(KEY)
        human = unanimous.copy()
        author = pd.Series("unanimous", index=newest.index).where(unanimous.notna())
        human.loc[adjudicated.index] = adjudicated["verdict"]
        author.loc[adjudicated.index] = adjudicated["author"]
    out = out.set_index(KEY)
    out["human"] = human.reindex(out.index)
    out["human_author"] = author.reindex(out.index)
    out["conflict"] = out["human"].isna()
    out = out.reset_index()
    for column in ("human", "human_author"):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out[COLUMNS]
