"""What NetHack and MiniHack share: text action names, seeding, ``--More--`` skipping, frames.

Subclasses build the NLE environment and say how to seed it, when an episode stops early and
how far it got. Actions are named by the key NetHack reads, so one table serves every action set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from automem_core.envs.base import Frame, Observation, Outcome
from automem_core.envs.nle_cells import surroundings
from automem_core.envs.nle_text import (
    MORE,
    describe_inventory,
    join_messages,
    read_message,
    render_nle_text,
)

MORE_KEY = 13  # Enter: continues past --More-- and confirms menus
MAX_MORE_PRESSES = 64  # a --More-- chain longer than this is left on screen
# Observations every adapter asks NLE for.
OBSERVATION_KEYS: tuple[str, ...] = (
    "glyphs",
    "blstats",
    "message",
    "inv_strs",
    "inv_letters",
    "tty_chars",
    "tty_colors",
    "tty_cursor",
)
# blstats indices (nle.nethack.NLE_BL_*), fixed by NLE 1.3.
BL_X, BL_Y, BL_HP, BL_HPMAX, BL_DEPTH, BL_XP, BL_TIME, BL_DLEVEL = 0, 1, 10, 11, 12, 18, 20, 24


def _meta(key: str) -> int:
    return 0x80 | ord(key)


def _ctrl(key: str) -> int:
    return 0x1F & ord(key)


_MOVES = (
    ("north", "k"),
    ("east", "l"),
    ("south", "j"),
    ("west", "h"),
    ("northeast", "u"),
    ("southeast", "n"),
    ("southwest", "b"),
    ("northwest", "y"),
)
# Movement and waiting, shared by every NLE action list in this order (BALROG's).
MOVEMENT_NAMES: tuple[str, ...] = (
    *(name for name, _key in _MOVES),
    *(f"far {name}" for name, _key in _MOVES),
    "up",
    "down",
    "wait",
    "more",
)
# (name, key, description) for every named action, in the order agents see them.
NAMED_ACTIONS: tuple[tuple[str, int, str], ...] = (
    *((name, ord(key), f"move {name}") for name, key in _MOVES),
    *((f"far {name}", ord(key.upper()), f"move far {name}") for name, key in _MOVES),
    ("up", ord("<"), "go up a staircase"),
    ("down", ord(">"), "go down a staircase (only when standing on one)"),
    ("wait", ord("."), "rest one move while doing nothing"),
    ("more", MORE_KEY, "press Enter: confirm a menu choice (--More-- is skipped for you)"),
    ("annotate", _meta("A"), "leave a note about the level"),
    ("apply", ord("a"), "apply (use) a tool"),
    ("call", ord("C"), "name a monster or object, or add an annotation"),
    ("cast", ord("Z"), "cast a spell"),
    ("close", ord("c"), "close an adjacent door"),
    ("open", ord("o"), "open an adjacent door"),
    ("dip", _meta("d"), "dip an object into something"),
    ("drop", ord("d"), "drop an item"),
    ("droptype", ord("D"), "drop specific item types (choose them at the next prompt)"),
    ("eat", ord("e"), "eat something (replenish food when hungry)"),
    ("esc", 27, "exit a menu, prompt or message"),
    ("engrave", ord("E"), "engrave writing on the floor (e.g. Elbereth)"),
    ("enhance", _meta("e"), "advance or check weapon skills"),
    ("fire", ord("f"), "fire ammunition from the quiver"),
    ("fight", ord("F"), "fight a monster (even one you only guess is there)"),
    ("force", _meta("f"), "force a lock"),
    ("inventory", ord("i"), "show your inventory"),
    ("invoke", _meta("i"), "invoke an object's special power"),
    ("jump", _meta("j"), "jump to a location"),
    ("kick", _ctrl("d"), "kick a monster, a locked door or a chest"),
    ("look", ord(":"), "look at what is here"),
    ("loot", _meta("l"), "loot a box on the floor"),
    ("monster", _meta("m"), "use a monster's special ability (when polymorphed)"),
    ("offer", _meta("o"), "offer a sacrifice to the gods (on an altar)"),
    ("pay", ord("p"), "pay your shopping bill"),
    ("pickup", ord(","), "pick up things at the current location"),
    ("pray", _meta("p"), "pray to the gods for help"),
    ("puton", ord("P"), "put on an accessory"),
    ("quaff", ord("q"), "quaff (drink) something"),
    ("quiver", ord("Q"), "select ammunition for the quiver"),
    ("read", ord("r"), "read a scroll or spellbook"),
    ("remove", ord("R"), "remove an accessory"),
    ("rub", _meta("r"), "rub a lamp or a stone"),
    ("search", ord("s"), "search for hidden doors and passages"),
    ("swap", ord("x"), "swap wielded and secondary weapons"),
    ("takeoff", ord("T"), "take off one piece of armor"),
    ("takeoffall", ord("A"), "take off all armor"),
    ("teleport", _ctrl("t"), "teleport (if you have the ability)"),
    ("throw", ord("t"), "throw something (e.g. a dagger or dart)"),
    ("travel", ord("_"), "travel to a map location (then e.g. < or > for stairs)"),
    ("twoweapon", ord("X"), "toggle two-weapon combat"),
    ("untrap", _meta("u"), "untrap something"),
    ("wear", ord("W"), "wear a piece of armor"),
    ("wield", ord("w"), "wield a weapon"),
    ("wipe", _meta("w"), "wipe off your face"),
    ("zap", ord("z"), "zap a wand"),
    ("minus", ord("-"), "type '-' (e.g. bare hands or nothing at a prompt)"),
    ("space", ord(" "), "type a space"),
    ("apos", ord("'"), "type an apostrophe"),
    *((str(d), ord(str(d)), f"type the digit {d} (e.g. a count)") for d in range(10)),
)
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Commands that ask for an inventory letter: where one exists, the letters are offered too.
ITEM_COMMANDS = frozenset(ord(k) for k in "adeEfPqQrRtTwWz") | {_meta("d"), _meta("r")}


def letter_description(letter: str) -> str:
    if letter == "y":
        return "type 'y' (yes at a prompt)"
    if letter == "n":
        return "type 'n' (no at a prompt)"
    return f"type '{letter}' (choose that item or menu entry at a prompt)"


def build_actions(
    available: Iterable[int], names: Iterable[str], letters: bool
) -> tuple[dict[str, int], dict[str, str]]:
    """Name → index into the env's action set, and name → description, for ``names`` (and the
    letters a–z, A–Z when ``letters``) wherever the env's action set has the key."""
    index: dict[int, int] = {}
    for i, key in enumerate(available):
        index.setdefault(int(key), i)
    wanted = set(names)
    table = [(n, k, d) for n, k, d in NAMED_ACTIONS if n in wanted]
    if letters:
        table += [(c, ord(c), letter_description(c)) for c in LETTERS]
    to_index = {n: index[k] for n, k, _ in table if k in index}
    return to_index, {n: d for n, k, d in table if k in index}


def derive_seeds(seed: int) -> tuple[int, int]:
    """NetHack's core and display RNG seeds for an episode seed (same on every machine)."""
    core, disp = np.random.SeedSequence(int(seed) % 2**64).generate_state(2, dtype=np.uint64)
    return int(core) >> 1, int(disp) >> 1


def make_registered(env_id: str, **kwargs: Any) -> Any:
    """Build a registered gymnasium environment without gym.make's wrappers (the adapters
    count steps and check observations themselves), its registered kwargs under ``kwargs``."""
    import gymnasium
    from gymnasium.envs.registration import load_env_creator

    spec = gymnasium.spec(env_id)
    entry = spec.entry_point
    creator = entry if callable(entry) else load_env_creator(str(entry))
    return creator(**{**spec.kwargs, **kwargs})


def tty_frame(obs: dict[str, Any]) -> Frame:
    return Frame("tty", obs["tty_chars"].tobytes() + obs["tty_colors"].tobytes())


def nle_facts(obs: dict[str, Any], message: str, inventory: str) -> dict[str, object]:
    """What the helpers may use: position, level, vitals, the inventory's lines and what
    stands around the agent (the map-analysis helper's input); never part of the text."""
    bl = obs["blstats"]
    row, col = (int(v) for v in obs["tty_cursor"])
    return {
        "pos": (int(bl[BL_X]), int(bl[BL_Y])),  # NetHack's map coordinates (map line = y)
        "cursor": (col, row),  # terminal coordinates, as the observation's cursor line shows
        "dlvl": int(bl[BL_DLEVEL]),
        "depth": int(bl[BL_DEPTH]),
        "xp": int(bl[BL_XP]),
        "hp": int(bl[BL_HP]),
        "hp_max": int(bl[BL_HPMAX]),
        "time": int(bl[BL_TIME]),
        "message": message,
        "inventory": tuple(inventory.split("\n")) if inventory else (),
        "surroundings": surroundings(obs["glyphs"], int(bl[BL_X]), int(bl[BL_Y])),
    }


def render_observation(obs: dict[str, Any], message: str, replaying: bool = False) -> Observation:
    """The text, the terminal as the frame, and the facts; while ``replaying`` (envs/base.py),
    no frame and only the position among the facts."""
    bl = obs["blstats"]
    row, col = (int(v) for v in obs["tty_cursor"])
    inventory = describe_inventory(obs["inv_letters"], obs["inv_strs"])
    text = render_nle_text(
        message=message,
        glyphs=obs["glyphs"],
        player=(int(bl[BL_X]), int(bl[BL_Y])),
        tty_chars=obs["tty_chars"],
        tty_cursor=(row, col),
        inventory=inventory,
    )
    if replaying:
        return Observation(text, Frame("tty", b""), {"pos": (int(bl[BL_X]), int(bl[BL_Y]))})
    return Observation(text, tty_frame(obs), nle_facts(obs, message, inventory))


class NLEAdapter:
    """The ``GameEnv`` loop over an unwrapped NLE environment; subclasses add the game rules."""

    game = "nle"

    def __init__(self, env: Any, task: str, max_steps: int, default_action: str) -> None:
        self._env = env
        self.task = task
        self.max_steps = max_steps
        self.default_action = default_action
        self._index: dict[str, int] = {}
        self._descriptions: dict[str, str] = {}
        keys = [int(a) for a in env.actions]
        self._more = keys.index(MORE_KEY) if MORE_KEY in keys else None
        self._steps = 0
        self._done = True
        self.replaying = False  # on: a fork's replay only checks the text (envs/base.py)

    def _set_actions(self, names: Iterable[str], letters: bool) -> None:
        keys = [int(a) for a in self._env.actions]
        self._index, self._descriptions = build_actions(keys, names, letters)

    # Hooks for the games.
    def _seed_game(self, core: int, disp: int) -> None:
        raise NotImplementedError

    def _reset_game(self) -> dict[str, Any]:
        obs, _ = self._env.reset()
        return dict(obs)

    def _begin(self, obs: dict[str, Any]) -> None:
        """A new episode starts with this observation."""

    def _record(self, obs: dict[str, Any], done: bool, info: dict[str, Any]) -> str | None:
        """Track the step; return why the episode stops early, or None."""
        return None

    def progression(self) -> float:
        raise NotImplementedError

    # The interface.
    def actions(self) -> dict[str, str]:
        return dict(self._descriptions)

    def reset(self, seed: int) -> Observation:
        self._seed_game(*derive_seeds(seed))
        obs = self._reset_game()
        self._steps = 0
        self._done = False
        obs, message, _, done, _ = self._skip_more(obs, 0.0, False, {})
        self._begin(obs)
        self._done = done
        return render_observation(obs, message, self.replaying)

    def step(self, action: str) -> Outcome:
        if action not in self._index:
            raise ValueError(f"unknown {self.game} action {action!r}")
        if self._done:
            raise RuntimeError("the episode is over; call reset(seed) first")
        obs, reward, terminated, truncated, info = self._env.step(self._index[action])
        obs, message, reward, done, info = self._skip_more(
            dict(obs), float(reward), terminated or truncated, info
        )
        self._steps += 1
        reason = self._record(obs, done, info)
        status = getattr(info.get("end_status"), "name", "RUNNING")
        if done:  # the game's own end: death, task success, ...
            reason = status.lower().replace("_", " ") if status != "RUNNING" else "game over"
        elif reason is None and self._steps >= self.max_steps:
            reason = "step cap"
        self._done = reason is not None
        details: dict[str, object] = {
            "end_status": status,
            "end_reason": reason,
            "truncated": self._done and not done,
        }
        observation = render_observation(obs, message, self.replaying)
        return Outcome(observation, reward, self._done, self.progression(), details)

    def close(self) -> None:
        self._env.close()

    def _skip_more(
        self, obs: dict[str, Any], reward: float, done: bool, info: dict[str, Any]
    ) -> tuple[dict[str, Any], str, float, bool, dict[str, Any]]:
        """Press Enter while the message ends in ``--More--``, collecting every page's message
        (BALROG's ``AutoMore``: each prompt becomes a line break in the joined message)."""
        pages = [read_message(obs["tty_chars"])]
        while (
            not done
            and self._more is not None
            and len(pages) <= MAX_MORE_PRESSES
            and MORE in pages[-1]
        ):
            obs, more_reward, terminated, truncated, info = self._env.step(self._more)
            obs = dict(obs)
            reward += float(more_reward)
            done = bool(terminated or truncated)
            pages.append(read_message(obs["tty_chars"]))
        return obs, join_messages(pages), reward, done, info
