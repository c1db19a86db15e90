"""Hostile completions through the real agent step and episode writer: every row stores and reads
back from Parquet, nothing is written outside the episode folder, caps hold, and what the parser
rejects is shown to the model."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from automem_core.agent.episode import EpisodeSpec, run_episode
from automem_core.agent.step import AgentSetup
from automem_core.envs.base import Frame, Observation, Outcome
from automem_core.llm.base import Completion, TurnRequest
from automem_core.scaffold import resolve_scaffold
from automem_core.store.layout import Layout
from automem_core.store.writer import EpisodeWriter

ACTIONS = {"Noop": "nothing", "Move West": "west", "Do": "interact"}
SCAFFOLD = resolve_scaffold("crafter-keyed-status", "crafter")  # status file, keyed files
LIMITS = SCAFFOLD.spec.limits

Answer = Callable[[TurnRequest, Path], str]


class Corridor:
    """A one-row world: Move West walks, everything else stands still."""

    game, task, default_action, max_steps = "crafter", "corridor", "Noop", 1000

    def __init__(self) -> None:
        self.x = 0

    def actions(self) -> dict[str, str]:
        return dict(ACTIONS)

    def _observe(self) -> Observation:
        facts: dict[str, object] = {"pos": (self.x, 0), "status": {"health": 9}}
        return Observation(f"You see grass. x={self.x}", Frame("tty", b" " * 16), facts)

    def reset(self, seed: int) -> Observation:
        self.x = 0
        return self._observe()

    def step(self, action: str) -> Outcome:
        self.x -= action == "Move West"
        return Outcome(self._observe(), 0.0, False, 0.0)

    def progression(self) -> float:
        return 0.0

    def close(self) -> None:
        pass


@dataclass
class Scripted:
    """A model answering from a script; it sees the episode's memory folder, so it can plant
    links and folders there between its turns, as a hostile process beside the agent could."""

    answer: Answer
    memory_dir: Path = Path()
    label: str = "hostile"
    requests: list[TurnRequest] = field(default_factory=list)

    async def complete(self, request: TurnRequest) -> Completion:
        self.requests.append(request)
        return Completion(text=self.answer(request, self.memory_dir))

    async def aclose(self) -> None:
        pass

    def shown_after(self, step: int, phase: str, turn: int) -> str:
        """What the model read after its completion at (step, phase, turn)."""
        for r in self.requests:
            if (r.step, r.phase, r.turn) == (step, phase, turn + 1):
                return r.messages[-1]["content"]
        raise AssertionError(f"no turn after {(step, phase, turn)}")


@dataclass
class Played:
    tables: dict[str, pa.Table]
    model: Scripted
    folder: Path  # the published episode folder
    status: str
    error: str | None

    def rows(self, table: str) -> list[dict[str, object]]:
        return self.tables[table].to_pylist()


def _tree(root: Path, skip: Path) -> dict[str, bytes | str]:
    """Every path under ``root`` but ``skip``: file bytes, link targets, folders."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in [*dirnames, *filenames]:
            path = here / name
            if path.is_symlink():
                found[str(path)] = f"-> {os.readlink(path)}"
            elif path.is_file():
                found[str(path)] = path.read_bytes()
            else:
                found[str(path)] = "dir"
    return found


def play(tmp_path: Path, answer: Answer, steps: int) -> Played:
    """Run one episode of ``steps`` steps against ``answer`` and read every table back."""
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("do not touch\n")
    (outside / "linked.txt").write_text("do not touch either\n")
    layout = Layout(tmp_path / "data")
    writer = EpisodeWriter(layout, "r", "r.hostile.s0")
    model = Scripted(answer, writer.memory_dir)
    before = _tree(tmp_path, writer.dir)
    setup = AgentSetup("crafter", SCAFFOLD, model, None, ACTIONS, "Noop")
    spec = EpisodeSpec("e", "r", "crafter", "corridor", 0, steps)
    episode = asyncio.run(run_episode(Corridor(), setup, writer, spec))
    assert _tree(tmp_path, writer.dir) == before, "something was written outside the episode"
    folder = writer.commit(episode)
    tables = {p.stem: pq.read_table(p) for p in sorted(folder.glob("*.parquet"))}
    return Played(tables, model, folder, episode.status, episode.error)


def log_script(by_step: dict[int, str], plan: str = "<|ACTION|>Noop<|END|>") -> Answer:
    """LOG turn 0 of step s answers ``by_step[s]``; later LOG turns end; PLAN answers ``plan``."""

    def answer(request: TurnRequest, memory_dir: Path) -> str:
        if request.phase == "log":
            return by_step.get(request.step, "<|DONE|>") if request.turn == 0 else "<|DONE|>"
        return plan

    return answer


# --------------------------------------------------------------------------- lone surrogates


def test_lone_surrogates_become_replacement_characters_in_every_row(tmp_path: Path) -> None:
    bad = "\ud800"
    answer = log_script(
        {
            1: f"<|APPEND|>survival_log|water {bad} here<|END|>"
            f"<|UPSERT|>map_notes|tree{bad}|near (1,2)<|END|><|READ|>no{bad}pe<|END|>"
            f"<|TAIL|>survival_log|{bad}<|END|>",
        },
        plan=f"<|ACTION|>Mo{bad}ve<|END|>",
    )
    played = play(tmp_path, answer, steps=3)
    assert played.status == "ok", played.error
    turns = played.rows("turns")
    assert len(turns) == len(played.model.requests)
    log_turn = next(t for t in turns if (t["step"], t["phase"]) == (1, "log"))
    assert "water \ufffd here" in log_turn["completion"]
    assert any("\ufffd" in e for e in log_turn["parse_errors"])  # the TAIL with a surrogate N
    ops = [o for o in played.rows("memory_ops") if o["phase"] == "log"]
    assert [(o["kind"], o["ok"]) for o in ops] == [
        ("APPEND", True),
        ("UPSERT", True),
        ("READ", False),
    ]
    assert ops[1]["args"] == ["map_notes", "tree\ufffd", "near (1,2)"]
    assert "no\ufffdpe" in ops[2]["result"]
    steps = played.rows("steps")
    assert len(steps) == 3
    assert {s["raw_action"] for s in steps} == {"Mo\ufffdve"}
    memory = played.folder / "memory"
    assert (memory / "survival_log").read_text() == "water \ufffd here"


# --------------------------------------------------------------------------- floods of ops

FLOOD = 100_000


def test_a_flood_of_ops_gives_a_bounded_number_of_rows_and_results(tmp_path: Path) -> None:
    cap = LIMITS.max_ops_per_turn
    flood = "<|APPEND|>survival_log|spam<|END|>" * FLOOD + "<|DONE|>"
    played = play(tmp_path, log_script({1: flood}, plan=flood), steps=2)
    assert played.status == "ok", played.error
    turns = played.rows("turns")
    ops = played.rows("memory_ops")
    for t in turns:
        if t["n_ops"] == 0:
            continue
        mine = [
            o
            for o in ops
            if (o["step"], o["phase"], o["turn"]) == (t["step"], t["phase"], t["turn"])
        ]
        assert len(mine) <= 2 * cap  # not FLOOD rows
        assert sum(o["ok"] for o in mine) <= cap
        [dropped] = [e for e in t["parse_errors"] if e.startswith("too many ops")]
        assert f"read the first {2 * cap}" in dropped and f"about {FLOOD - 2 * cap} more" in dropped
    # what the model reads next is bounded too: its own completion comes back without the flood
    after = played.model.shown_after(1, "log", 0)
    assert "too many ops in one completion" in after
    echoed = next(r for r in played.model.requests if (r.step, r.phase, r.turn) == (1, "log", 1))
    assert len(echoed.messages[-2]["content"]) < 100 * cap
    assert (played.folder / "memory" / "survival_log").read_text().count("\n") < 80  # line cap


# --------------------------------------------------------------------------- rejected ops

MALFORMED = ["<|TAIL|>survival_log|-5<|END|>", "<|APPEND|><|END|>", "<|COUNT|>survival_log<|END|>"]


def test_ops_the_parser_rejects_are_shown_to_the_model_and_recorded(tmp_path: Path) -> None:
    def answer(request: TurnRequest, memory_dir: Path) -> str:
        if request.step == 1 and request.turn == 0:
            return "".join(MALFORMED) + ("<|FOO|>x<|END|>" if request.phase == "plan" else "")
        return "<|DONE|>" if request.phase == "log" else "<|ACTION|>Noop<|END|>"

    played = play(tmp_path, answer, steps=2)
    assert played.status == "ok", played.error
    for phase in ("log", "plan"):
        shown = played.model.shown_after(1, phase, 0)  # a turn of only rejected ops goes on
        assert shown.startswith("── PARSE ERROR ──\n[ERROR: TAIL needs file|N with N a positive")
        for op in MALFORMED:
            assert f"{op}]" in shown
        [turn] = [
            t for t in played.rows("turns") if (t["step"], t["phase"], t["turn"]) == (1, phase, 0)
        ]
        assert len(turn["parse_errors"]) == len(MALFORMED) + (phase == "plan")
    assert "[ERROR: unknown op FOO: <|FOO|>x<|END|>]" in played.model.shown_after(1, "plan", 0)


# --------------------------------------------------------------------------- planted files


def test_a_folder_planted_at_the_status_file_is_a_recorded_visible_failure(tmp_path: Path) -> None:
    def answer(request: TurnRequest, memory_dir: Path) -> str:
        if (request.step, request.phase) == (1, "plan"):
            (memory_dir / "status").unlink()
            (memory_dir / "status").mkdir()
        return "<|DONE|>" if request.phase == "log" else "<|ACTION|>Move West<|END|>"

    played = play(tmp_path, answer, steps=4)
    assert played.status == "ok", played.error
    helper = [o for o in played.rows("memory_ops") if o["phase"] == "helper"]
    assert [(o["step"], o["ok"]) for o in helper] == [(0, True), (1, True), (2, False), (3, False)]
    assert "[ERROR: could not change file 'status': Is a directory]" in helper[-1]["result"]
    warning = "The status helper failed: could not change file 'status': Is a directory"
    steps = played.rows("steps")
    assert [warning in s["warnings"] for s in steps] == [False, False, True, True]
    log_prompt = next(r for r in played.model.requests if (r.step, r.phase) == (2, "log"))
    assert warning in log_prompt.messages[1]["content"]


# --------------------------------------------------------------------------- the whole corpus


def plant_links(memory_dir: Path) -> None:
    """Links into the world outside, planted in the folder after it was initialised."""
    outside = memory_dir.parents[5] / "outside"  # tmp/data/runs/r/.partial/<episode>/memory
    os.symlink(outside / "secret.txt", memory_dir / "evil")
    os.symlink(outside, memory_dir / "evil_dir")
    os.link(outside / "linked.txt", memory_dir / "hard")


CORPUS: dict[int, str | list[str]] = {
    1: "<|APPEND|>survival_log|lone \ud800 surrogate<|END|><|UPSERT|>map_notes|k\udc00|v<|END|>",
    2: "<|APPEND|>survival_log|spam<|END|>" * FLOOD,
    3: "".join(MALFORMED),
    4: "<|APPEND|>../x|a<|END|><|WRITE|>/etc/passwd|root::0:0<|END|><|CREATE|>a\x00b<|END|>"
    "<|APPEND|>..|x<|END|><|READ|>../../outside/secret.txt<|END|><|WRITE|>a/b|x<|END|>",
    5: "<|APPEND|>evil|through a symlink<|END|><|WRITE|>hard|through a hard link<|END|>"
    "<|READ|>hard<|END|><|APPEND|>evil_dir|x<|END|><|CREATE|>evil<|END|>",
    6: "<|CREATE|>STATUS<|END|><|WRITE|>Strategy|x<|END|><|APPEND|>SURVIVAL_LOG|x<|END|>",
    7: "<|WRITE|>notes|" + "x" * 1_000_000 + "<|END|><|APPEND|>" + "n" * 100_000 + "|x<|END|>"
    "<|UPSERT|>map_notes|"
    + "k" * 100_000
    + "|v<|END|><|SEARCH|>strategy|"
    + "w" * 100_000
    + "<|END|><|APPEND|>survival_log|"
    + "line\n" * 500
    + "<|END|>",
    8: "<|APPEND|>notes|" + "\x00\x1b[2J\r\u202e" * 50 + "<|END|><|READ|>notes<|END|>",
    9: ["".join(f"<|CREATE|>f{turn}_{i}<|END|>" for i in range(16)) for turn in range(3)],
}


def corpus_answer(request: TurnRequest, memory_dir: Path) -> str:
    if (request.step, request.phase) == (0, "plan"):
        plant_links(memory_dir)
    if request.phase == "plan":
        return "<|READ|>hard<|END|><|ACTION|>Mo\udfffve West<|END|>"
    script = CORPUS.get(request.step, "<|DONE|>")
    turns = script if isinstance(script, list) else [script]
    return turns[request.turn] if request.turn < len(turns) else "<|DONE|>"


def test_the_hostile_corpus_stays_in_the_folder_within_caps_and_stores(tmp_path: Path) -> None:
    played = play(tmp_path, corpus_answer, steps=len(CORPUS) + 2)  # play() checks outside
    assert played.status == "ok", played.error
    assert len(played.rows("steps")) == len(CORPUS) + 2
    assert len(played.rows("turns")) == len(played.model.requests)
    assert (tmp_path / "outside" / "linked.txt").read_text() == "do not touch either\n"

    memory = played.folder / "memory"
    planted = {"evil", "evil_dir", "hard"}
    assert {p.name for p in memory.iterdir() if p.is_symlink()} == {"evil", "evil_dir"}
    assert (memory / "hard").stat().st_nlink == 2  # still the planted link, never written
    files = {p.name: p.read_bytes() for p in memory.iterdir() if p.name not in planted}
    assert all((memory / name).is_file() for name in files)
    assert len(files) <= LIMITS.max_files
    declared = {f.name: f.max_lines for f in SCAFFOLD.spec.files}
    for name, data in files.items():
        assert len(data) <= LIMITS.max_file_bytes, name
        assert data.count(b"\n") < (declared.get(name) or 200), name
        assert name.casefold() not in {n.casefold() for n in files if n != name}, name

    cap = LIMITS.max_ops_per_turn
    for t in played.rows("turns"):
        mine = [
            o
            for o in played.rows("memory_ops")
            if (o["step"], o["phase"], o["turn"]) == (t["step"], t["phase"], t["turn"])
        ]
        assert len(mine) <= 2 * cap and sum(o["ok"] for o in mine) <= cap
    for r in played.model.requests:
        if r.turn > 0:  # what the model read back is capped
            assert len(r.messages[-1]["content"]) <= LIMITS.max_result_chars + 100

    refused = {
        (o["step"], o["kind"], o["file"]): o["error"]
        for o in played.rows("memory_ops")
        if not o["ok"] and o["step"] in (4, 5, 6)
    }
    assert "invalid file name" in refused[(4, "APPEND", "../x")]
    assert "could not change file 'evil'" in refused[(5, "APPEND", "evil")]
    assert "has 2 links" in refused[(5, "WRITE", "hard")]
    assert "does not exist" in refused[(5, "READ", "hard")]
    assert "differs only by case from 'status'" in refused[(6, "CREATE", "STATUS")]
    shown_7 = played.model.shown_after(7, "log", 0)
    assert "exceed 64000 bytes" in shown_7 and "longer than 64 characters" in shown_7
    assert "── READ notes ──\n\x00\x1b[2J" in played.model.shown_after(8, "log", 0)
    assert "[ERROR: too many files (max 32)]" in played.model.shown_after(9, "log", 1)
