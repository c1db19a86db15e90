"""What a search must answer, computed another way: the store's rows read with DuckDB, words
found with a regular expression, and memory lines from the memory the store rebuilds at every
step. The search's answers are compared with these."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from automem_core.memory.state import keyed_line
from automem_core.search import SearchFilters, search
from automem_core.store.catalog import locate_episode
from automem_core.store.memory_at import memory_state_in
from automem_core.store.reader import connect

Key = tuple[object, ...]


def words(text: str) -> list[str]:
    return [w for w in re.findall(r"[^\W_]+", (text or "").lower()) if len(w.encode()) < 40]


def holds(text: str, phrase: list[str], prefix: bool = False) -> bool:
    """Whether the words of ``phrase`` occur one after the other in ``text``."""
    got, n = words(text), len(phrase)
    for i in range(len(got) - n + 1):
        head = all(got[i + k] == phrase[k] for k in range(n - 1))
        last = got[i + n - 1]
        if head and (last.startswith(phrase[-1]) if prefix else last == phrase[-1]):
            return True
    return False


@dataclass(frozen=True)
class Text:
    """One text unit as the search indexes it, with its key."""

    key: Key
    fields: dict[str, str]
    props: dict[str, object]


def texts(root: Path) -> list[Text]:
    """Every observation, completion, op and memory line of the store."""
    con = connect(root)
    episodes = {
        e: (r, t, s, seed, v, g, ss)
        for e, r, t, s, seed, v, g, ss in con.execute(
            "SELECT e.episode_id, e.run_id, e.task, e.status, e.seed, "
            "e.scaffold_id || '@' || left(e.scaffold_hash, 8), r.game, coalesce(r.seed_set, '') "
            "FROM episodes e JOIN runs r USING (run_id)"
        ).fetchall()
    }

    def props(e: str, step: int, phase: str, **more: object) -> dict[str, object]:
        run, task, status, seed, version, game, seed_set = episodes[e]
        return dict(run_id=run, task=task, status=status, seed=seed, version=version, game=game,
                    seed_set=seed_set, step=step, phase=phase, **more)  # fmt: skip

    out = []
    for e, step, obs, action in con.execute(
        "SELECT episode_id, step, observation, action FROM steps"
    ).fetchall():
        out.append(Text(("observation", e, step), {"observation": obs, "action": action},
                        props(e, step, "observation")))  # fmt: skip
    for e, step, phase, turn, completion in con.execute(
        "SELECT episode_id, step, phase, turn, completion FROM turns WHERE completion <> ''"
    ).fetchall():
        out.append(Text(("turn", e, step, phase, turn), {"completion": completion},
                        props(e, step, phase)))  # fmt: skip
    for e, step, phase, turn, kind, file, args, result in con.execute(
        "SELECT episode_id, step, phase, turn, kind, file, args, result FROM memory_ops"
    ).fetchall():
        out.append(Text(("op", e, step, phase, turn, kind, file),
                        {"op": "|".join(args), "result": result},
                        props(e, step, phase, kind=kind, file=file)))  # fmt: skip
    writers: dict[tuple[str, int, str], list[tuple[str, str]]] = {}
    for e, step, kind, mutations in con.execute(
        "SELECT episode_id, step, kind, mutations_json FROM memory_ops ORDER BY seq"
    ).fetchall():
        for m in json.loads(mutations):
            written = keyed_line(m["key"], m["text"]) if m["kind"] == "upsert" else m["text"]
            writers.setdefault((e, step, m["file"]), []).append((kind, written))
    for line in memory_lines(root, list(episodes)):
        e, file, written, text, _first, last = line
        kinds = [k for k, w in writers.get((e, written, file), []) if text in w.split("\n")]
        more = {"kind": kinds[-1]} if kinds else {}
        out.append(Text(("memory", e, written, file, text), {"memory": text},
                        props(e, written, "", file=file, until=last, **more)))  # fmt: skip
    return out


def memory_lines(root: Path, episodes: list[str]) -> list[tuple[str, str, int, str, int, int]]:
    """(episode, file, written, text, first step, last step) of every line that was in memory
    at the end of some step, from the memory the store rebuilds at each step (up to the last
    step an op ran in: an episode that failed mid-step logged ops of a step it did not end)."""
    con = connect(root)
    lengths = dict(con.execute(
        "SELECT e.episode_id, greatest(coalesce(any_value(e.fork_step), 0) + any_value(e.steps)"
        " - 1, max(o.step)) FROM episodes e "
        "LEFT JOIN memory_ops o USING (episode_id) GROUP BY e.episode_id"
    ).fetchall())  # fmt: skip
    out = []
    for e in episodes:
        seen: dict[tuple[str, int, str, int], list[int]] = {}
        where = locate_episode(root, e)
        for step in range(-1, lengths[e] + 1):
            counts: Counter[tuple[str, int, str]] = Counter()
            for name, f in memory_state_in(where, step).items():
                for text, origin in zip(f.lines, f.origins, strict=True):
                    counts[(name, origin, text)] += 1
                    seen.setdefault((name, origin, text, counts[(name, origin, text)]), []).append(
                        step
                    )
        for (name, origin, text, _), steps in seen.items():
            out.append((e, name, origin, text, min(steps), max(steps)))
    return out


def hit_key(hit) -> Key:  # type: ignore[no-untyped-def]
    if hit.source == "observation":
        return ("observation", hit.episode_id, hit.step)
    if hit.source == "turn":
        return ("turn", hit.episode_id, hit.step, hit.phase, hit.turn)
    if hit.source == "op":
        return ("op", hit.episode_id, hit.step, hit.phase, hit.turn, hit.kind, hit.file)
    if hit.source == "memory":
        text = hit.snippets[0].text if hit.snippets else ""
        return ("memory", hit.episode_id, hit.step, hit.file, text)
    return (hit.source, hit.ref)


def found(root: Path, query: str, filters: SearchFilters | None = None, **kw) -> Counter[Key]:  # type: ignore[no-untyped-def]
    """Every hit of ``query`` (all of them: the count must equal the hits listed)."""
    result = search(root, query, filters, limit=1000, **kw)
    assert result.total == len(result.hits) < 1000
    return Counter(hit_key(h) for h in result.hits)


def expected(pool: list[Text], keep) -> Counter[Key]:  # type: ignore[no-untyped-def]
    return Counter(t.key for t in pool if keep(t))
