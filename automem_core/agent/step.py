"""One agent step: the LOG phase, then the PLAN phase, then a validated game action
(docs/architecture.md, "One agent step").

No chat history is carried between steps; the memory files are the only state. Within a phase
the turns form a short conversation: the model's ops, then their results, then its next turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from automem_core.agent.actions import ActionMatcher
from automem_core.agent.helper_steps import StepHelpers
from automem_core.agent.records import StepRecorder
from automem_core.llm.base import LLMClient, Message, Phase, TurnRequest
from automem_core.memory import (
    MemoryFiles,
    MemoryOp,
    OpResult,
    ParseResult,
    clean_text,
    execute_ops,
    make_error_result,
    parse_completion,
    render_results,
)
from automem_core.scaffold.prompts import (
    render_file_index,
    render_phase,
    render_system,
    render_warnings,
)
from automem_core.scaffold.value import Scaffold

CONTINUE_LOG = "Continue recording, or write <|DONE|> when finished."
CONTINUE_PLAN = "Consult more if needed, then commit one action with <|ACTION|>action name<|END|>."
# Ops read from one completion, as a multiple of max_ops_per_turn: the few past the cap each get
# a "not run" result; the rest are dropped unread, so a flood of ops costs a bounded turn.
PARSE_BOUND_PER_CAP = 2


def echoed(text: str, parsed: ParseResult) -> str:
    """A completion as it is sent back to the model in the next turn: without the part the
    parser dropped unread (the turn row keeps it whole), so a flood of ops is not resent."""
    if not parsed.unread_chars:
        return text
    return f"{text[: len(text) - parsed.unread_chars]}[… {parsed.unread_chars} characters dropped]"


@dataclass(frozen=True)
class AgentSetup:
    """Everything an agent needs that does not change during an episode."""

    game: str
    scaffold: Scaffold
    memory_client: LLMClient
    action_client: LLMClient | None  # None: the memory client also commits the action
    actions: Mapping[str, str]
    default_action: str

    @property
    def system_prompt(self) -> str:
        return render_system(self.scaffold, self.actions)


ActionSource = Literal["model", "invalid", "missing", "failure"]


@dataclass
class StepDecision:
    action: str
    raw_action: str | None
    source: ActionSource  # "model", or why the default action was played instead
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.source == "model"


class Agent:
    """Runs the LOG → PLAN routine for one episode against its memory folder."""

    def __init__(
        self, setup: AgentSetup, files: MemoryFiles, recorder: StepRecorder, episode_id: str
    ) -> None:
        self.setup = setup
        self.files = files
        self.rec = recorder
        self.episode_id = episode_id
        self.helpers = StepHelpers(setup.game, setup.scaffold.spec, files, recorder)
        self._system = setup.system_prompt
        self._matcher = ActionMatcher(setup.actions)
        self._spec = setup.scaffold.spec
        self._action_call_failed = False  # a PLAN or action call of this step failed
        self._parse_bound = PARSE_BOUND_PER_CAP * self._spec.limits.max_ops_per_turn

    async def act(
        self, step: int, observation: str, facts: Mapping[str, object], previous_action: str | None
    ) -> StepDecision:
        warnings = self.helpers.before_log(step, observation, facts, previous_action)
        map_block = self.helpers.map_analysis(facts)
        if step > 0:
            await self._log_phase(step, observation, previous_action or "none", warnings, map_block)
        warnings += self.helpers.reminders()
        self._action_call_failed = False
        raw = await self._plan_phase(step, observation, warnings, map_block)
        action = self._matcher.match(raw)
        if action is None:
            source: ActionSource = "invalid" if raw is not None else "missing"
            if raw is None and self._action_call_failed:
                source = "failure"  # the model never got to choose: its call failed
            return StepDecision(self.setup.default_action, raw, source, warnings)
        return StepDecision(action, raw if raw != action else None, "model", warnings)

    def _run_ops(self, ops: Sequence[MemoryOp], step: int, read_only: bool) -> list[OpResult]:
        """Run the ops the scaffold enables; any other op fails as a result the model sees."""
        enabled = self._spec.ops
        ran = iter(
            execute_ops(
                self.files, [op for op in ops if op.kind in enabled], step, read_only=read_only
            )
        )
        return [
            next(ran)
            if op.kind in enabled
            else make_error_result(
                self.files, op, f"{op.kind} is not enabled here; use {', '.join(enabled)}"
            )
            for op in ops
        ]

    async def _call(
        self, client: LLMClient, phase: Phase, step: int, turn: int, messages: list[Message]
    ) -> str:
        request = TurnRequest(list(messages), self.setup.game, phase, step, turn, self.episode_id)
        completion = await client.complete(request)
        self.rec.pending_turn(client.label, request, completion)
        if completion.error and phase != "log":
            self._action_call_failed = True
        # Cleaned once here, so the action, the ops, the chat sent back and every row agree.
        return clean_text(completion.text)

    async def _log_phase(
        self, step: int, observation: str, previous_action: str, warnings: list[str], map_block: str
    ) -> None:
        user = render_phase(
            self.setup.scaffold,
            "log",
            {
                "step": step,
                "previous_step": step - 1,
                "previous_action": previous_action,
                "observation": observation,
                "map_analysis": map_block,
                "file_index": render_file_index(self.files.index()),
                "warnings": render_warnings(warnings),
            },
        )
        messages: list[Message] = [
            {"role": "system", "content": self._system},
            {"role": "user", "content": user},
        ]
        for turn in range(self._spec.limits.max_log_turns):
            text = await self._call(self.setup.memory_client, "log", step, turn, messages)
            parsed = parse_completion(text, self._parse_bound)
            errors = list(parsed.errors)
            if parsed.action is not None:
                errors.append("ACTION ignored in the LOG phase; actions belong to PLAN")
            results = self._run_ops(parsed.ops, step, read_only=False)
            self.rec.finish_turn(step, "log", turn, text, parsed, errors, results)
            if parsed.done or not (parsed.ops or parsed.errors):
                return  # a turn of only rejected ops goes on, so the model sees why
            feedback = render_results(results, self._spec.limits.max_result_chars, errors)
            messages += [
                {"role": "assistant", "content": echoed(text, parsed)},
                {"role": "user", "content": f"{feedback}\n\n{CONTINUE_LOG}"},
            ]

    async def _plan_phase(
        self, step: int, observation: str, warnings: list[str], map_block: str
    ) -> str | None:
        user = render_phase(
            self.setup.scaffold,
            "plan",
            {
                "step": step,
                "observation": observation,
                "map_analysis": map_block,
                "file_index": render_file_index(self.files.index()),
                "injected": self.helpers.injected(),
                "warnings": render_warnings(warnings),
            },
        )
        messages: list[Message] = [
            {"role": "system", "content": self._system},
            {"role": "user", "content": user},
        ]
        split = self.setup.action_client is not None
        consulted: list[str] = []
        for turn in range(self._spec.limits.max_plan_turns):
            text = await self._call(self.setup.memory_client, "plan", step, turn, messages)
            parsed = parse_completion(text, self._parse_bound)
            errors = list(parsed.errors)
            if split and parsed.action is not None:
                errors.append("ACTION ignored from the memory client; the action client commits")
            results = self._run_ops(parsed.ops, step, read_only=True)
            self.rec.finish_turn(step, "plan", turn, text, parsed, errors, results)
            limit = self._spec.limits.max_result_chars
            feedback = render_results(results, limit, errors)
            if split and (results or parsed.errors):  # the action client sees no agent notes
                consulted.append(render_results(results, limit, parsed.errors))
            if not split and parsed.action is not None:
                return parsed.action
            if not (parsed.ops or parsed.errors):
                break
            messages += [
                {"role": "assistant", "content": echoed(text, parsed)},
                {"role": "user", "content": f"{feedback}\n\n{CONTINUE_PLAN}"},
            ]
        if split:
            return await self._action_turn(step, observation, consulted, map_block)
        return None

    async def _action_turn(
        self, step: int, observation: str, consulted: list[str], map_block: str
    ) -> str | None:
        assert self.setup.action_client is not None
        user = render_phase(
            self.setup.scaffold,
            "action",
            {
                "step": step,
                "observation": observation,
                "map_analysis": map_block,
                "consultation": "\n\n".join(consulted) or "(nothing consulted)",
            },
        )
        messages: list[Message] = [
            {"role": "system", "content": self._system},
            {"role": "user", "content": user},
        ]
        text = await self._call(self.setup.action_client, "action", step, 0, messages)
        parsed = parse_completion(text, self._parse_bound)
        errors = list(parsed.errors)
        if parsed.ops:
            errors.append("memory ops ignored in the action turn")
        self.rec.finish_turn(step, "action", 0, text, parsed, errors, [])
        return parsed.action
