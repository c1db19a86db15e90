"""The declarative scaffold format, validated at the trust boundary.

``ScaffoldSpec`` is the scaffold's *canonical document*: scaffold.yaml with every prompt text and
every initial file content inlined. It is what gets hashed, diffed and (in Loop 1) patched; the
folder form with separate text files is only how it is stored (see ``folder.py``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    max_lines: int = Field(default=200, ge=1, le=100_000)
    prune: Literal["drop_oldest", "reject"] = "drop_oldest"
    writer: Literal["agent", "helper"] = "agent"


class Limits(_Strict):
    max_log_turns: int = Field(default=3, ge=1, le=20)
    max_plan_turns: int = Field(default=3, ge=1, le=20)
    max_files: int = Field(default=32, ge=1, le=1000)
    max_file_bytes: int = Field(default=64_000, ge=256)
    max_ops_per_turn: int = Field(default=16, ge=1, le=200)
    max_result_chars: int = Field(default=4_000, ge=200)
    search_cap: int = Field(default=20, ge=1, le=1000)


class StuckWarning(_Strict):
    enabled: bool = True
    after_steps: int = Field(default=5, ge=2)


class OscillationWarning(_Strict):
    enabled: bool = True
    window: int = Field(default=8, ge=4)


class StatusFile(_Strict):
    enabled: bool = True
    file: str = "status"


class SizeReminder(_Strict):
    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0, le=1)


class PlanInjection(_Strict):
    file: str | None = None  # content of this file is shown in every PLAN prompt


class Helpers(_Strict):
    stuck_warning: StuckWarning = StuckWarning()
    oscillation_warning: OscillationWarning = OscillationWarning()
    status_file: StatusFile = StatusFile()
    size_reminder: SizeReminder = SizeReminder()
    plan_injection: PlanInjection = PlanInjection()


class Prompts(_Strict):
    """The prompt templates' texts (``$name`` placeholders, see ``prompts.py``)."""

    system: str
    log: str
    plan: str
    action: str


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
        injected = self.helpers.plan_injection.file
        if injected is not None and injected not in names:
            raise ValueError(f"helpers.plan_injection.file {injected!r} is not a declared file")
        status = self.helpers.status_file
        if status.enabled and status.file not in names:
            raise ValueError(f"helpers.status_file.file {status.file!r} is not a declared file")
        unknown_help = set(self.op_help) - set(self.ops)
        if unknown_help:
            raise ValueError(f"op_help names ops that are not enabled: {sorted(unknown_help)}")
        return self
