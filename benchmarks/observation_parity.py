"""Observation parity with BALROG: the project's text against BALROG's own code, same raw states.

The project's adapters play each game with random actions over several seeds; every raw
observation they turn into text (the arrays, and for NetHack / MiniHack every ``--More--`` page
on the way) is saved with the project's text. A second virtualenv, built once in a scratch
folder, holds BALROG's Python source and the ``balrog-nle`` wheel (its ``nle_language_obsv``
language wrapper and its own ``nle``); there this same file renders BALROG's text from the saved
arrays through BALROG's own wrappers (``describe_frame`` for Crafter; ``AutoMore`` and
``NLELanguageWrapper`` in hybrid mode for NLE). Printed per game: identical lines overall, in
the language observation (Crafter: the ``You see`` list) and in the cursor section, and fully
identical observations, in percent.

    .venv/bin/python benchmarks/observation_parity.py [--seeds 5] [--steps 300]

BALROG's source is read from ``--balrog-src`` (a git directory or a checkout); none of it is
copied into this repository. ``--write-fixtures DIR`` saves a few observations with BALROG's
text as the golden files ``tests/envs/test_balrog_parity.py`` checks.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_BALROG_SRC = "/work/.mirror/balrog-ai+BALROG/repo"
GET_BALROG = (
    "clone it (git clone https://github.com/balrog-ai/BALROG; the reference is commit af7d1f1) "
    "and pass the checkout, or a bare git directory of it, as --balrog-src"
)
ORACLE_PACKAGES = (
    "numpy==1.26.4",
    "gym==0.23.0",
    "balrog-nle==0.9.0",
    "gymnasium==1.2.0",
    "pillow==10.4.0",
    "scipy==1.14.1",
    "crafter==1.8.3",
)
MINIHACK_TASKS = (
    "MazeWalk-9x9",
    "MazeWalk-15x15",
    "Corridor-R3",
    "CorridorBattle-Dark",
    "Quest-Easy",
    "Quest-Medium",
    "Boxoban-Medium",
    "Boxoban-Hard",
)
NLE_KEYS = ("glyphs", "blstats", "tty_chars", "tty_cursor", "inv_strs", "inv_letters")
CRAFTER_KEYS = ("semantic", "pos", "facing", "sleeping", "dead", "inventory")
FIXTURE_SIZE = 12
# What the golden files must show where the recording has it (regular expressions).
FIXTURE_MUST = {
    "crafter": (r"^You are sleeping", r"^You died", r"You see nothing", r"^Error"),
    "nle": (r"Points", r"cursor:\n\n\(x=", r"message:\n[^\n]+\n[^\n]+\n\nlanguage", r"statue"),
}
NLE_SECTIONS = ("message", "language observation", "cursor", "map", "inventory")


# ---- the project's side: play and record -------------------------------------------------


class _RecordingEnv:
    """Stands in for an adapter's NLE environment and keeps every observation it returns."""

    def __init__(self, env: Any) -> None:
        self._inner = env
        self.pages: list[tuple[dict[str, Any], bool]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def reset(self, *args: Any, **kwargs: Any) -> Any:
        obs, info = self._inner.reset(*args, **kwargs)
        self.pages.append(({k: np.array(obs[k]) for k in NLE_KEYS}, False))
        return obs, info

    def step(self, action: int) -> Any:
        obs, reward, terminated, truncated, info = self._inner.step(action)
        keep = {k: np.array(obs[k]) for k in NLE_KEYS}
        self.pages.append((keep, bool(terminated or truncated)))
        return obs, reward, terminated, truncated, info


def _nle_adapter(game: str, task: str) -> Any:
    if game == "nethack":
        from automem_core.envs.nethack_env import NetHackEnv

        return NetHackEnv(max_steps=10**6)
    from automem_core.envs.minihack_env import MiniHackEnv

    return MiniHackEnv(task)


def record_nle(game: str, tasks: list[str], seeds: int, steps: int) -> dict[str, Any]:
    """Random play; per observation the pages' screens, the final arrays and the text."""
    finals: dict[str, list[Any]] = {k: [] for k in NLE_KEYS}
    page_tty, page_done, page_count, texts, reset_flags, labels = [], [], [], [], [], []
    for task in tasks:
        adapter = _nle_adapter(game, task)
        recorder = _RecordingEnv(adapter._env)
        adapter._env = recorder
        names = sorted(adapter.actions())
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            recorder.pages = []
            observation = adapter.reset(seed)
            outcomes = [(observation.text, True)]
            pages = [recorder.pages]
            for _ in range(steps):
                recorder.pages = []
                outcome = adapter.step(names[rng.integers(len(names))])
                outcomes.append((outcome.observation.text, False))
                pages.append(recorder.pages)
                if outcome.done:
                    break
            for (text, is_reset), chain in zip(outcomes, pages, strict=True):
                for k in NLE_KEYS:
                    finals[k].append(chain[-1][0][k])
                page_tty += [page["tty_chars"] for page, _ in chain]
                page_done += [done for _, done in chain]
                page_count.append(len(chain))
                texts.append(text)
                reset_flags.append(is_reset)
                labels.append(f"{task} seed {seed}")
        adapter.close()
    return {
        **{k: np.stack(v) for k, v in finals.items()},
        "page_tty": np.stack(page_tty),
        "page_done": np.array(page_done),
        "page_count": np.array(page_count),
        "is_reset": np.array(reset_flags),
        "texts": np.array(texts),
        "labels": np.array(labels),
    }


def _crafter_state(env: Any) -> dict[str, Any]:
    game = env._env
    player = game._player
    return {
        "semantic": np.array(game._sem_view(), dtype=np.uint8),
        "pos": np.array(player.pos, dtype=np.int64),
        "facing": np.array(player.facing, dtype=np.int64),
        "sleeping": bool(player.sleeping),
        "dead": bool(player.health <= 0),
        "inventory": np.array(list(player.inventory.values()), dtype=np.int64),
    }


def record_crafter(seeds: int, steps: int) -> dict[str, Any]:
    from automem_core.envs.crafter_env import CrafterEnv

    env = CrafterEnv()
    names = sorted(env.actions())
    rows: dict[str, list[Any]] = {k: [] for k in CRAFTER_KEYS}
    texts, labels = [], []
    inventory_names: list[str] = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        text = env.reset(seed).text
        inventory_names = list(env._env._player.inventory)
        for step in range(steps + 1):
            for k, v in _crafter_state(env).items():
                rows[k].append(v)
            texts.append(text)
            labels.append(f"seed {seed}")
            if step == steps:
                break
            outcome = env.step(names[rng.integers(len(names))])
            text = outcome.observation.text
            if outcome.done:
                for k, v in _crafter_state(env).items():
                    rows[k].append(v)
                texts.append(text)
                labels.append(f"seed {seed}")
                break
    env.close()
    return {
        **{k: np.stack(v) for k, v in rows.items()},
        "inventory_names": np.array(inventory_names),
        "texts": np.array(texts),
        "labels": np.array(labels),
    }


# ---- the oracle's side: BALROG's own code, run in the second virtualenv ---------------------


def oracle_crafter(data: Any) -> list[str]:
    from balrog.environments.crafter.env import describe_frame

    names = [str(n) for n in data["inventory_names"]]
    texts = []
    for i in range(len(data["texts"])):
        info = {
            "semantic": data["semantic"][i],
            "player_pos": data["pos"][i],
            "player_facing": tuple(int(v) for v in data["facing"][i]),
            "sleeping": bool(data["sleeping"][i]),
            "dead": bool(data["dead"][i]),
            "view": np.array((9, 9)),  # BALROG's default crafter_kwargs.view
            "inventory": dict(zip(names, (int(v) for v in data["inventory"][i]), strict=True)),
        }
        long_term, short_term = describe_frame(info, True, False, [], [])
        texts.append(f"{long_term}\n\n{short_term}")
    return texts


def oracle_nle(data: Any) -> tuple[list[str], int]:
    """BALROG's text for each observation, and how many ``--More--`` chains it would have
    walked differently from the recorded one."""
    import gym
    from balrog.environments.nle import AutoMore, NLELanguageWrapper
    from nle import nle_language_obsv
    from nle.nethack import actions as nethack_actions

    class Replay(gym.Env):  # type: ignore[misc]
        """Serves recorded pages in order, as the game served them to the project."""

        actions = (nethack_actions.MiscAction.MORE,)

        def load(self, pages: list[tuple[dict[str, Any], bool]]) -> None:
            self.pages, self.served = pages, 0

        def _next(self) -> tuple[dict[str, Any], bool]:
            if self.served >= len(self.pages):  # BALROG would press on: stop its loop here
                self.served += 1
                return dict(self.pages[-1][0]), True
            page = self.pages[self.served]
            self.served += 1
            return dict(page[0]), page[1]

        def reset(self, **kwargs: Any) -> dict[str, Any]:
            return self._next()[0]

        def step(self, action: int) -> tuple[dict[str, Any], float, bool, dict[str, Any]]:
            obs, done = self._next()
            return obs, 0.0, done, {}

    replay = Replay()
    more = AutoMore(replay)
    wrapper = NLELanguageWrapper.__new__(NLELanguageWrapper)
    wrapper.nle_language = nle_language_obsv.NLELanguageObsv()
    wrapper.prompt_mode, wrapper.vlm = "hybrid", False
    texts, differing, first = [], 0, 0
    for i, count in enumerate(data["page_count"].tolist()):
        pages = [
            ({"tty_chars": data["page_tty"][first + k]}, bool(data["page_done"][first + k]))
            for k in range(count)
        ]
        first += count
        final = {k: data[k][i] for k in NLE_KEYS}
        pages[-1] = (final, pages[-1][1])
        replay.load(pages)
        obs = more.reset() if data["is_reset"][i] else more.step(0)[0]
        differing += replay.served != count
        text = wrapper.nle_process_obsv({**final, "text_message": obs["text_message"]})["text"]
        full = text["long_term_context"] + text["short_term_context"]
        texts.append(full.removesuffix("\n"))  # the project's text has no final line break
    return texts, differing


def run_oracle(recording: Path, output: Path) -> None:
    with np.load(recording) as stored:
        data = {k: stored[k] for k in stored.files}
    if "semantic" in data:
        result = {"texts": oracle_crafter(data), "chains_differing": 0}
    else:
        texts, differing = oracle_nle(data)
        result = {"texts": texts, "chains_differing": differing}
    output.write_text(json.dumps(result))


# ---- building the oracle's virtualenv --------------------------------------------------------


def balrog_source(src: str, scratch: Path) -> Path:
    """A folder holding BALROG's ``balrog`` package, from a checkout or a git directory."""
    path = Path(src)
    if (path / "balrog" / "environments").is_dir():
        return path
    target = scratch / "balrog-src"
    if (target / "balrog" / "environments").is_dir():
        return target
    if not path.exists():
        sys.exit(f"BALROG's source is missing at {path}: {GET_BALROG}")
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", f"--git-dir={path}", "archive", "HEAD", "balrog"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        sys.exit(f"{path} is not BALROG's source ({archive.stderr.decode().strip()}): {GET_BALROG}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def oracle_python(scratch: Path) -> Path:
    """The second virtualenv's python, built on first use (a minute or two)."""
    venv = scratch / "venv"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists() and marker.read_text() == "\n".join(ORACLE_PACKAGES):
        return python
    print(f"Building BALROG's virtualenv in {venv} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *ORACLE_PACKAGES], check=True)
    marker.write_text("\n".join(ORACLE_PACKAGES))
    return python


def render_with_oracle(python: Path, source: Path, recording: Path) -> dict[str, Any]:
    output = recording.with_suffix(".balrog.json")
    env = {**os.environ, "PYTHONPATH": str(source), "PYTHONWARNINGS": "ignore"}
    command = [str(python), str(Path(__file__).resolve()), "--oracle", str(recording), str(output)]
    subprocess.run(command, check=True, env=env, cwd=str(recording.parent))
    result: dict[str, Any] = json.loads(output.read_text())
    return result


# ---- comparing ------------------------------------------------------------------------------


def sections(game: str, text: str) -> dict[str, str]:
    """The language observation and the cursor section of one text."""
    if game == "crafter":
        match = re.search(r"^You see:\n((?:- .*\n?)*)", text, re.M)
        return {"language": match.group(1).rstrip("\n") if match else "", "cursor": ""}
    heads = "|".join(re.escape(s) for s in NLE_SECTIONS[1:])
    parts = re.split(rf"\n\n({heads}):\n", text)
    found = dict(zip(parts[1::2], parts[2::2], strict=True))
    return {"language": found.get("language observation", ""), "cursor": found.get("cursor", "")}


def same_lines(ours: str, theirs: str) -> tuple[int, int]:
    """Lines in common (in order) and the longer text's line count."""
    a, b = ours.split("\n"), theirs.split("\n")
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()), max(len(a), len(b))


def compare(game: str, ours: list[str], theirs: list[str]) -> dict[str, float]:
    """Percent of identical lines (whole text, language observation, cursor) and of texts."""
    totals = {"lines": [0, 0], "language": [0, 0], "cursor": [0, 0]}
    parts = ("language",) if game == "crafter" else ("language", "cursor")
    for mine, balrog in zip(ours, theirs, strict=True):
        pairs = [("lines", mine, balrog)]
        left, right = sections(game, mine), sections(game, balrog)
        pairs += [(key, left[key], right[key]) for key in parts]
        for key, a, b in pairs:
            same, count = same_lines(a, b)
            totals[key][0] += same
            totals[key][1] += count
    result = {k: 100.0 * s / n if n else float("nan") for k, (s, n) in totals.items()}
    same_texts = sum(a == b for a, b in zip(ours, theirs, strict=True))
    result["full"] = 100.0 * same_texts / max(len(ours), 1)
    return result


def show_differences(ours: list[str], theirs: list[str], labels: list[str], count: int) -> None:
    shown = 0
    for i, (mine, balrog) in enumerate(zip(ours, theirs, strict=True)):
        if mine == balrog or shown >= count:
            continue
        shown += 1
        print(f"--- observation {i} ({labels[i]}): project vs BALROG")
        diff = difflib.unified_diff(mine.split("\n"), balrog.split("\n"), lineterm="", n=1)
        print("\n".join(list(diff)[2:]))


def pick_observations(game: str, theirs: list[str], count: int) -> list[int]:
    """Observations that between them show the most distinct lines of BALROG's text (map rows
    aside), the first observation always among them."""

    def lines(text: str) -> set[str]:
        if game != "crafter":
            text = re.sub(r"\n\nmap:\n.*?\n\ninventory:", "\n\ninventory:", text, flags=re.S)
        return set(re.sub(r"\d+", "#", text).split("\n"))

    picked = [0]
    for pattern in FIXTURE_MUST.get(game, FIXTURE_MUST["nle"]):
        has = [i for i, text in enumerate(theirs) if re.search(pattern, text)]
        if has and not any(re.search(pattern, theirs[i]) for i in picked):
            picked.append(has[0])
    covered = set().union(*(lines(theirs[i]) for i in picked))
    while len(picked) < min(count, len(theirs)):
        gains = [(len(lines(t) - covered), -i) for i, t in enumerate(theirs) if i not in picked]
        gain, best = max(gains)
        if gain == 0:
            break
        picked.append(-best)
        covered |= lines(theirs[-best])
    return sorted(picked)


def subset(data: dict[str, Any], picked: list[int]) -> dict[str, Any]:
    """The recording cut down to ``picked`` observations (their ``--More--`` pages with them)."""
    out = {
        k: v[picked] if k not in ("page_tty", "page_done", "inventory_names") else v
        for k, v in data.items()
    }
    if "page_count" in data:
        starts = np.concatenate([[0], np.cumsum(data["page_count"])[:-1]])
        rows = [starts[i] + k for i in picked for k in range(int(data["page_count"][i]))]
        out["page_tty"], out["page_done"] = data["page_tty"][rows], data["page_done"][rows]
    return out


def write_fixture(folder: Path, game: str, data: dict[str, Any], theirs: list[str]) -> None:
    """A few varied observations with BALROG's text, for the default test suite."""
    picked = pick_observations(game, theirs, FIXTURE_SIZE)
    small = subset(data, picked)
    small.pop("texts")
    small.pop("labels")
    path = folder / f"balrog_parity_{game}.npz"
    np.savez_compressed(path, **small, expected=np.array([theirs[i] for i in picked]))
    print(f"wrote {len(picked)} observations to {path} ({path.stat().st_size} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", default="crafter,minihack,nethack")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300, help="agent steps per seed at most")
    parser.add_argument("--minihack-tasks", default=",".join(MINIHACK_TASKS))
    parser.add_argument("--balrog-src", default=DEFAULT_BALROG_SRC)
    parser.add_argument("--scratch", default=str(Path(tempfile.gettempdir()) / "automem-parity"))
    parser.add_argument("--show", type=int, default=0, help="print this many differing texts")
    parser.add_argument("--write-fixtures", default=None, metavar="DIR")
    parser.add_argument(
        "--oracle", nargs=2, metavar=("RECORDING", "OUTPUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.oracle:
        run_oracle(Path(args.oracle[0]), Path(args.oracle[1]))
        return

    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    source = balrog_source(args.balrog_src, scratch)
    python = oracle_python(scratch)
    print(f"BALROG source: {source}; seeds 0-{args.seeds - 1}, up to {args.steps} steps each")
    header = f"{'game':<10}{'obs':>6}{'lines %':>9}{'language %':>12}{'cursor %':>10}{'full %':>8}"
    rows = []
    for game in args.games.split(","):
        started = time.perf_counter()
        if game == "crafter":
            data = record_crafter(args.seeds, args.steps)
        else:
            tasks = args.minihack_tasks.split(",") if game == "minihack" else ["NetHackChallenge"]
            data = record_nle(game, _available(game, tasks), args.seeds, args.steps)
        recording = scratch / f"{game}.npz"
        np.savez_compressed(recording, **data)
        oracle = render_with_oracle(python, source, recording)
        ours, theirs = [str(t) for t in data["texts"]], oracle["texts"]
        score = compare(game, ours, theirs)
        chains = oracle["chains_differing"]
        note = f"  ({chains} --More-- chains walked differently)" if chains else ""
        rows.append(
            f"{game:<10}{len(ours):>6}{_pct(score['lines']):>9}{_pct(score['language']):>12}"
            f"{_pct(score['cursor']):>10}{_pct(score['full']):>8}{note}"
            f"  [{time.perf_counter() - started:.0f} s]"
        )
        show_differences(ours, theirs, [str(x) for x in data["labels"]], args.show)
        if args.write_fixtures:
            write_fixture(Path(args.write_fixtures), game, data, theirs)
    print(header)
    print("\n".join(rows))


def _pct(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN: no such lines in this game


def _available(game: str, tasks: list[str]) -> list[str]:
    """MiniHack tasks whose levels are here (Boxoban's are downloaded separately)."""
    if game != "minihack":
        return tasks
    from automem_core.envs.base import EnvConfigError
    from automem_core.envs.minihack_env import build_minihack

    usable = []
    for task in tasks:
        try:
            build_minihack(task).close()
            usable.append(task)
        except EnvConfigError as exc:
            print(f"skipping {task}: {exc}")
    return usable


if __name__ == "__main__":
    main()
