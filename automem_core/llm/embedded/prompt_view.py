"""Reading a phase's chat messages back into the pieces a rule-based player needs.

Pure and forgiving: prompts may be rewritten by scaffold evolution, so every piece is found by
a marker and anything that cannot be found comes back empty rather than raising.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from automem_core.llm.base import Message

_HEADER_RE = re.compile(r"^──\s+([A-Z_]+)\s+(\S+)(?:\s+(.*?))?\s+──\s*$")
_STEP_RE = re.compile(r"\bstep\s+(\d+)", re.IGNORECASE)
_PREVIOUS_RE = re.compile(r"^\s*previous action:\s*(.*?)\s*$", re.IGNORECASE | re.MULTILINE)
_INDEX_LINE_RE = re.compile(r"^\s*-\s+(\S+)\s+\((\d+)\s+lines?\)\s*$")
_ACTION_LINE_RE = re.compile(r"^\s*-\s+([^:]+?):\s")
_SEARCH_DETAIL_RE = re.compile(r"^for\s+'(.*)'$")
_OBSERVATION_MARK = re.compile(r"^\s*observation\s*:\s*$", re.IGNORECASE)
_FILES_MARK = re.compile(r"^\s*memory files\s*:\s*$", re.IGNORECASE)
_OBSERVATION_END = re.compile(
    r"^\s*((memory files|what your memory says)\s*:\s*$|map analysis\b)", re.IGNORECASE
)
_MAP_ANALYSIS = re.compile(r"^\s*map analysis\b", re.IGNORECASE)
_OPS_MARK = re.compile(r"^\s*memory operations\b", re.IGNORECASE)
_OP_LINE_RE = re.compile(r"^\s*<\|([A-Z_]+)\|>")
_FILE_NOTE_RE = re.compile(r"^\s*-\s+([A-Za-z0-9][A-Za-z0-9._-]*):\s(.*)$")
_SHOWN_RE = re.compile(
    r"^(?:contents of (\S+)|last \d+ lines of (\S+)|your current goals \((\S+?);.*\)):$",
    re.IGNORECASE,
)
_ACTIONS_MARK = re.compile(r"^\s*game actions\s*:\s*$", re.IGNORECASE)
_CONTINUE_RE = re.compile(r"^(continue recording|consult more)", re.IGNORECASE)


@dataclass(frozen=True)
class ResultBlock:
    """One labelled op-result block, e.g. ``── SEARCH map_notes for 'water' ──`` and its lines."""

    kind: str
    file: str
    detail: str
    lines: tuple[str, ...]

    @property
    def error(self) -> str | None:
        for line in self.lines:
            if line.startswith("[ERROR:"):
                return line
        return None

    @property
    def keyword(self) -> str | None:
        """The keyword of a SEARCH or COUNT block."""
        match = _SEARCH_DETAIL_RE.match(self.detail)
        return match.group(1) if match else None

    @property
    def content(self) -> tuple[str, ...]:
        """The file lines the block returned (no markers such as ``[FILE IS EMPTY]``)."""
        return tuple(line for line in self.lines if line and not line.startswith("["))


@dataclass(frozen=True)
class PromptView:
    """What a player can see of one phase's conversation."""

    system: str
    prompt: str
    observation: str
    step: int | None
    previous_action: str | None
    notice: str | None
    files: dict[str, int] | None  # the ``Memory files:`` index; None when the prompt has none
    warnings: tuple[str, ...]
    results: tuple[ResultBlock, ...]
    actions: tuple[str, ...]  # game action names listed in the system message
    ops: frozenset[str] | None = None  # ops the system message offers; None: not listed
    file_notes: dict[str, str] = field(default_factory=dict)  # system's file lines, lowercased
    shown: dict[str, tuple[str, ...]] = field(default_factory=dict)  # files shown in the prompt
    map_analysis: tuple[str, ...] = ()  # the map-analysis block's lines

    def has_file(self, name: str) -> bool:
        """Whether ``name`` exists; an unknown index counts every file as present."""
        return self.files is None or name in self.files

    def can(self, op: str) -> bool:
        """Whether the scaffold offers ``op``; an unlisted op set counts every op as offered."""
        return self.ops is None or op in self.ops

    def keyed(self, name: str) -> bool:
        """Whether ``name`` is a keyed file that UPSERT can update line by line."""
        return self.can("UPSERT") and "keyed" in self.file_notes.get(name, "")

    def written_by_engine(self, name: str) -> bool:
        """Whether a helper writes ``name`` (read-only for the agent, or appended to by the
        engine after every action)."""
        notes = self.file_notes.get(name, "")
        return "read-only for you" in notes or "the engine appends" in notes

    def find(self, kind: str, file: str, keyword: str | None = None) -> ResultBlock | None:
        """The newest result block of ``kind`` on ``file`` (and ``keyword`` for searches)."""
        for block in reversed(self.results):
            same = block.kind == kind and block.file == file
            if same and (keyword is None or (block.keyword or "").lower() == keyword.lower()):
                return block
        return None

    @property
    def consulted(self) -> bool:
        """Whether earlier turns of this phase already got op results back."""
        return bool(self.results)

    @property
    def stuck(self) -> bool:
        """Warned of being stuck (the observation unchanged for steps) or of going back and
        forth; a single unchanged observation is not that."""
        return any("not changed" in w or "back and forth" in w for w in self.warnings)


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def extract_observation(prompt: str) -> str:
    """The text between ``Observation:`` and ``Memory files:``; the whole prompt otherwise."""
    lines = _lines(prompt)
    start = next((i for i, line in enumerate(lines) if _OBSERVATION_MARK.match(line)), None)
    if start is None:
        return prompt
    end = next((i for i in range(start + 1, len(lines)) if _OBSERVATION_END.match(lines[i])), None)
    return "\n".join(lines[start + 1 : end]).strip("\n")


def split_notice(observation: str) -> tuple[str | None, str]:
    """A leading ``[Notice: …]`` line (an invalid previous action) and the rest."""
    lines = _lines(observation)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if line.strip().startswith("[Notice"):
            return line.strip(), "\n".join(lines[i + 1 :])
        break
    return None, observation


def parse_file_index(prompt: str) -> dict[str, int] | None:
    """``- name (N lines)`` lines following ``Memory files:``."""
    lines = _lines(prompt)
    start = next((i for i, line in enumerate(lines) if _FILES_MARK.match(line)), None)
    if start is None:
        return None
    index: dict[str, int] = {}
    for line in lines[start + 1 :]:
        match = _INDEX_LINE_RE.match(line)
        if match is None:
            if line.strip() == "(no files)":
                continue
            break
        index[match.group(1)] = int(match.group(2))
    return index


def parse_action_names(system: str) -> tuple[str, ...]:
    """Action names from the ``- name: description`` lines after ``Game actions:``."""
    lines = _lines(system)
    start = next((i for i, line in enumerate(lines) if _ACTIONS_MARK.match(line)), None)
    if start is None:
        return ()
    names = []
    for line in lines[start + 1 :]:
        match = _ACTION_LINE_RE.match(line)
        if match is None:
            if line.strip():
                break
            continue
        names.append(match.group(1).strip())
    return tuple(names)


def parse_ops(system: str) -> frozenset[str] | None:
    """The ops listed under ``Memory operations`` (``<|SEARCH|>…`` lines); None without one."""
    lines = _lines(system)
    start = next((i for i, line in enumerate(lines) if _OPS_MARK.match(line)), None)
    if start is None:
        return None
    ops = set()
    for line in lines[start + 1 :]:
        match = _OP_LINE_RE.match(line)
        if match is None:
            break
        ops.add(match.group(1))
    return frozenset(ops)


def parse_file_notes(system: str) -> dict[str, str]:
    """``- name: purpose (notes)`` lines under the system message's ``Memory files:``."""
    lines = _lines(system)
    start = next((i for i, line in enumerate(lines) if _FILES_MARK.match(line)), None)
    notes: dict[str, str] = {}
    for line in lines[start + 1 :] if start is not None else []:
        match = _FILE_NOTE_RE.match(line)
        if match is None:
            break
        notes[match.group(1)] = match.group(2).lower()
    return notes


def parse_shown(prompt: str) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """The files a helper shows in the prompt (``Contents of f:``, ``Last N lines of f:``,
    ``Your current goals (f; …):`` then lines to a blank one) and the map-analysis lines."""
    shown: dict[str, tuple[str, ...]] = {}
    analysis: list[str] = []
    lines = _lines(prompt)
    for i, line in enumerate(lines):
        match = _SHOWN_RE.match(line.strip())
        if match is None and not (_MAP_ANALYSIS.match(line) and not analysis):
            continue
        body: list[str] = []
        for follow in lines[i + 1 :]:
            if not follow.strip():
                break
            body.append(follow)
        if match is None:
            analysis = [line, *body]
        else:
            name = next(g for g in match.groups() if g)
            shown[name] = tuple(b for b in body if b != "(empty)")
    return shown, tuple(analysis)


def parse_results(text: str) -> list[ResultBlock]:
    """Every result block in ``text`` (a user message that carries op results)."""
    blocks: list[ResultBlock] = []
    current: tuple[str, str, str] | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            while body and not body[-1].strip():
                body.pop()
            blocks.append(ResultBlock(*current, tuple(body)))

    for line in _lines(text):
        match = _HEADER_RE.match(line)
        if match is not None:
            close()
            current = (match.group(1), match.group(2), match.group(3) or "")
            body = []
        elif current is not None and not _CONTINUE_RE.match(line):
            body.append(line)
    close()
    return blocks


def _content(message: Message) -> str:
    return str(message.get("content", ""))


def parse_prompt(messages: Sequence[Message]) -> PromptView:
    """Split a phase's messages (``system, user, (assistant, user)*``) into a view."""
    system = next((_content(m) for m in messages if m.get("role") == "system"), "")
    users = [_content(m) for m in messages if m.get("role") == "user"]
    prompt = users[0] if users else ""
    notice, observation = split_notice(extract_observation(prompt))
    step_match = _STEP_RE.search(prompt.split("\n", 1)[0])
    previous = _PREVIOUS_RE.search(prompt)
    results: list[ResultBlock] = []
    for text in users:  # the first one holds blocks only in the action turn's consultation
        results.extend(parse_results(text))
    warnings = tuple(
        line.strip() for line in _lines(prompt) if line.strip().upper().startswith("WARNING")
    )
    shown, analysis = parse_shown(prompt)
    return PromptView(
        system=system,
        prompt=prompt,
        observation=observation,
        step=int(step_match.group(1)) if step_match else None,
        previous_action=previous.group(1) if previous else None,
        notice=notice,
        files=parse_file_index(prompt),
        warnings=warnings,
        results=tuple(results),
        actions=parse_action_names(system),
        ops=parse_ops(system),
        file_notes=parse_file_notes(system),
        shown=shown,
        map_analysis=analysis,
    )
