"""The declarative scaffold format, validated at the trust boundary.

``ScaffoldSpec`` is the scaffold's *canonical document*: scaffold.yaml with every prompt text and
every initial file content inlined. It is what gets hashed, diffed and (in Loop 1) patched; the
folder form with separate text files is only how it is stored (see ``folder.py``). Every helper
is a plain parameterised field, off unless the document turns it on, so a JSON Patch can enable
and tune it; no helper runs code a proposal supplies.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from automem_core.memory.files import PruneRule
from automem_core.memory.parser import OpKind

OpName = OpKind  # the ops a scaffold can enable are the ops the parser knows
CORE_OPS: tuple[OpName, ...] = ("SEARCH", "READ", "TAIL", "COUNT", "APPEND", "WRITE", "CREATE")

OP_SYNTAX: dict[str, str] = {
    "SEARCH": "<|SEARCH|>file|keyword<|END|>",
    "READ": "<|READ|>file<|END|>",
    "TAIL": "<|TAIL|>file|N<|END|>",
    "COUNT": "<|COUNT|>file|keyword<|END|>",
    "APPEND": "<|APPEND|>file|text<|END|>",
    "WRITE": "<|WRITE|>file|content<|END|>",
    "CREATE": "<|CREATE|>file<|END|>",
    "UPSERT": "<|UPSERT|>file|key|text<|END|>",
    "UPSERT_MAP": "<|UPSERT_MAP|>x,y|description<|END|>",
    "REPLACE": "<|REPLACE|>file|old|new<|END|>",
    "DELETE": "<|DELETE|>file<|END|>",
}
OP_DEFAULT_HELP: dict[str, str] = {
    "SEARCH": "lines of a file containing the keyword (case-insensitive), newest last",
    "READ": "the whole file",
    "TAIL": "the last N lines of a file",
    "COUNT": "how many lines of a file contain the keyword",
    "APPEND": "add one line to a file",
    "WRITE": "replace a file's whole content",
    "CREATE": "make a new empty file",
    "UPSERT": "replace the line that starts with 'key:' in a keyed file, or add it",
    "UPSERT_MAP": "record what is at map position (x,y) in the map file",
    "REPLACE": "replace text inside a file",
    "DELETE": "remove a file",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemoryFileSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    purpose: str
    line_format: str = ""
    initial: str = ""  # the file's content when an episode starts
    keyed: bool = False
    max_lines: int | None = Field(default=None, ge=1, le=100_000)  # None: no line cap
    prune: PruneRule = "drop_oldest"  # what a write past max_lines does; "none": no cap
    writer: Literal["agent", "helper"] = "agent"

    @model_validator(mode="after")
    def _cap_and_rule_agree(self) -> MemoryFileSpec:
        if self.prune == "none" and self.max_lines is not None:
            raise ValueError(
                f"file {self.name!r}: prune 'none' means no line cap; remove max_lines or "
                "set prune to drop_oldest or reject"
            )
        return self


class Limits(_Strict):
    max_log_turns: int = Field(default=3, ge=1, le=20)
    max_plan_turns: int = Field(default=3, ge=1, le=20)
    max_files: int = Field(default=32, ge=1, le=1000)
    max_file_bytes: int = Field(default=64_000, ge=256)
    max_ops_per_turn: int = Field(default=16, ge=1, le=200)
    max_result_chars: int = Field(default=4_000, ge=200)
    search_cap: int = Field(default=20, ge=1, le=1000)


# --------------------------------------------------------------------------- warnings


class UnchangedObservation(_Strict):
    """The paper's notice: a warning when an action left the observation as it was, a STUCK
    warning once that has happened ``stuck_after`` times in a row."""

    enabled: bool = False
    stuck_after: int = Field(default=3, ge=1, le=100)


class StuckWarning(_Strict):
    enabled: bool = True
    after_steps: int = Field(default=5, ge=2)


class OscillationWarning(_Strict):
    enabled: bool = True
    window: int = Field(default=8, ge=4)


class SizeReminder(_Strict):
    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0, le=1)


# --------------------------------------------------------------------------- written files


class StatusFile(_Strict):
    """Position, vitals or level, rewritten by the engine every step."""

    enabled: bool = True
    file: str = "status"


class InventoryFile(_Strict):
    """The inventory, rewritten from the observation every step (``file`` must be declared
    with ``writer: helper``)."""

    enabled: bool = False
    file: str = "inventory"


class ActionLog(_Strict):
    """The engine appends ``Step N action 'X': outcome`` to ``file`` once the outcome of the
    action played at step N has been observed (never before)."""

    enabled: bool = False
    file: str = "actions_log"
    skip_routine_moves: bool = False  # leave out moves whose only effect was the position


class Pruning(_Strict):
    """When one of ``files`` grows past ``trigger_lines``, its oldest lines are dropped down to
    ``keep_lines`` under a first line saying what was dropped, e.g.
    ``[pruned 40 oldest lines at step 812]``."""

    enabled: bool = False
    files: list[str] = Field(default_factory=list)
    trigger_lines: int = Field(default=300, ge=2, le=100_000)
    keep_lines: int = Field(default=200, ge=1, le=100_000)


# --------------------------------------------------------------------------- prompt blocks


class PlanInjection(_Strict):
    file: str | None = None  # content of this file is shown in every PLAN prompt


class GoalsFile(_Strict):
    """An agent-written goals file shown in every PLAN prompt; LOG is reminded to keep it
    current."""

    file: str | None = None


class PlanTail(_Strict):
    """The last ``lines`` lines of ``file`` shown in every PLAN prompt."""

    file: str | None = None
    lines: int = Field(default=10, ge=1, le=500)


class MapAnalysis(_Strict):
    """A block per direction (can move / blocked / stairs / monsters / doors / danger) that the
    engine computes from the game state (NetHack and MiniHack facts). Things further than
    ``reach`` steps are left out, except stairs."""

    enabled: bool = False
    reach: int = Field(default=8, ge=1, le=80)


class Helpers(_Strict):
    unchanged_observation: UnchangedObservation = UnchangedObservation()
    stuck_warning: StuckWarning = StuckWarning()
    oscillation_warning: OscillationWarning = OscillationWarning()
    size_reminder: SizeReminder = SizeReminder()
    status_file: StatusFile = StatusFile()
    inventory_file: InventoryFile = InventoryFile()
    action_log: ActionLog = ActionLog()
    pruning: Pruning = Pruning()
    plan_injection: PlanInjection = PlanInjection()
    goals_file: GoalsFile = GoalsFile()
    plan_tail: PlanTail = PlanTail()
    map_analysis: MapAnalysis = MapAnalysis()

    def named_files(self) -> dict[str, str]:
        """``helpers.<field>`` → the memory file each enabled helper names."""
        out: dict[str, str] = {}
        for field, cfg in (
            ("status_file", self.status_file),
            ("inventory_file", self.inventory_file),
            ("action_log", self.action_log),
        ):
            if cfg.enabled:
                out[f"helpers.{field}.file"] = cfg.file
        for field, name in (
            ("plan_injection", self.plan_injection.file),
            ("goals_file", self.goals_file.file),
            ("plan_tail", self.plan_tail.file),
        ):
            if name is not None:
                out[f"helpers.{field}.file"] = name
        if self.pruning.enabled:
            for i, name in enumerate(self.pruning.files):
                out[f"helpers.pruning.files.{i}"] = name
        return out


class Prompts(_Strict):
    """The prompt templates' texts (``$name`` placeholders, see ``prompts.py``)."""

    system: str
    log: str
    plan: str
    action: str


def _has_placeholder(template: str, name: str) -> bool:
    return f"${name}" in template or f"${{{name}}}" in template


class ScaffoldSpec(_Strict):
    """The whole scaffold as one document: settings, prompt texts, initial file contents."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    game: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")  # a game of the envs registry
    parent: str | None = None  # the version it was derived from, ``id@hash8``
    description: str = ""
    ops: list[OpName] = Field(default_factory=lambda: list(CORE_OPS))
    op_help: dict[str, str] = Field(default_factory=dict)
    files: list[MemoryFileSpec]
    map_file: str | None = None
    limits: Limits = Limits()
    helpers: Helpers = Helpers()
    prompts: Prompts

    @field_validator("ops")
    @classmethod
    def _ops_unique(cls, ops: list[OpName]) -> list[OpName]:
        if len(set(ops)) != len(ops):
            raise ValueError("each op may be listed once")
        return ops

    def file(self, name: str) -> MemoryFileSpec | None:
        return next((f for f in self.files if f.name == name), None)

    @model_validator(mode="after")
    def _consistent(self) -> ScaffoldSpec:
        names = [f.name for f in self.files]
        if len(set(names)) != len(names):
            raise ValueError(f"memory file names must be unique: {names}")
        if len(names) > self.limits.max_files:
            raise ValueError(
                f"{len(names)} files declared but limits.max_files is {self.limits.max_files}"
            )
        if self.map_file is not None and self.map_file not in names:
            raise ValueError(f"map_file {self.map_file!r} is not one of the declared files")
        if "UPSERT_MAP" in self.ops and self.map_file is None:
            raise ValueError("op UPSERT_MAP needs map_file to name the map file")
        unknown_help = set(self.op_help) - set(self.ops)
        if unknown_help:
            raise ValueError(f"op_help names ops that are not enabled: {sorted(unknown_help)}")
        self._helpers_consistent(set(names))
        return self

    def _helpers_consistent(self, names: set[str]) -> None:
        helpers = self.helpers
        for field, name in helpers.named_files().items():
            if name not in names:
                raise ValueError(f"{field} {name!r} is not a declared file; declare it in files")
        inventory = helpers.inventory_file
        spec = self.file(inventory.file)
        if inventory.enabled and spec is not None and spec.writer != "helper":
            raise ValueError(
                f"helpers.inventory_file.file {inventory.file!r} is rewritten every step; "
                "declare it with writer: helper"
            )
        pruning = helpers.pruning
        if pruning.enabled and not pruning.files:
            raise ValueError("helpers.pruning.files is empty; name the files to prune")
        if pruning.keep_lines >= pruning.trigger_lines:
            raise ValueError(
                f"helpers.pruning.keep_lines ({pruning.keep_lines}) must be below "
                f"trigger_lines ({pruning.trigger_lines})"
            )
        injected = (helpers.plan_injection.file, helpers.goals_file.file, helpers.plan_tail.file)
        if any(injected) and not _has_placeholder(self.prompts.plan, "injected"):
            raise ValueError(
                "prompts.plan has no $injected placeholder for the files the helpers show in PLAN"
            )
        if helpers.map_analysis.enabled and not any(
            _has_placeholder(getattr(self.prompts, p), "map_analysis")
            for p in ("log", "plan", "action")
        ):
            raise ValueError(
                "helpers.map_analysis is on but no prompt has a $map_analysis placeholder"
            )
