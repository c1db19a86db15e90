"""Applying a scaffold's helpers at each step: the writes before the LOG phase, the warnings,
and the blocks the prompts show.

Every write goes through the guarded op path (``execute_helper_write`` /
``execute_helper_prune``) and is recorded with :meth:`StepRecorder.helper_result`; a write that
fails becomes a recorded row and a warning the model sees, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from automem_core.agent.records import StepRecorder
from automem_core.memory import MemoryFiles, OpResult, execute_helper_prune, execute_helper_write
from automem_core.scaffold.helpers import (
    HISTORY,
    History,
    action_log_line,
    collect_warnings,
    describe_outcome,
    plan_prune,
    render_injected,
    render_inventory,
    render_map_analysis,
    render_status,
    size_reminders,
)
from automem_core.scaffold.spec import ScaffoldSpec


class StepHelpers:
    """One episode's helpers; keeps the few facts they compare across steps."""

    def __init__(
        self, game: str, spec: ScaffoldSpec, files: MemoryFiles, recorder: StepRecorder
    ) -> None:
        self.game = game
        self.spec = spec
        self.cfg = spec.helpers
        self.files = files
        self.rec = recorder
        self.history = History()
        self._last_facts: Mapping[str, object] | None = None

    def resume(
        self, seen: Sequence[tuple[str, object]], last_facts: Mapping[str, object] | None
    ) -> None:
        """Take up an episode at a later step (a fork): what the helpers would have recorded
        over the steps before, (observation text, position) oldest first, and the last facts."""
        for observation, position in seen[-HISTORY:]:
            self.history.record(observation, position)
        self._last_facts = last_facts

    # ----------------------------------------------------------------- before LOG

    def before_log(
        self, step: int, observation: str, facts: Mapping[str, object], previous: str | None
    ) -> list[str]:
        """Record the observation, run the file-writing helpers (the action log first: the
        outcome of the previous action is observed now) and return the warnings."""
        self.history.record(observation, facts.get("pos"))
        failures = [
            *self._log_previous_action(step, facts, previous),
            *self._write_status(step, facts),
            *self._write_inventory(step, facts),
            *self._prune(step),
        ]
        self._last_facts = facts
        return collect_warnings(self.history, self.cfg, previous) + failures

    def _record(self, step: int, helper: str, result: OpResult) -> list[str]:
        self.rec.helper_result(step, result)
        return [] if result.ok else [f"The {helper} helper failed: {result.error}"]

    def _rewrite(self, step: int, helper: str, file: str, text: str) -> list[str]:
        current = self.files.state.get(file)
        if current is not None and "\n".join(current.lines) == text:
            return []
        return self._record(step, helper, execute_helper_write(self.files, file, text, step))

    def _write_status(self, step: int, facts: Mapping[str, object]) -> list[str]:
        cfg = self.cfg.status_file
        if not cfg.enabled:
            return []
        return self._rewrite(step, "status", cfg.file, render_status(self.game, step, facts))

    def _write_inventory(self, step: int, facts: Mapping[str, object]) -> list[str]:
        cfg = self.cfg.inventory_file
        text = render_inventory(facts) if cfg.enabled else None
        return [] if text is None else self._rewrite(step, "inventory", cfg.file, text)

    def _log_previous_action(
        self, step: int, facts: Mapping[str, object], previous: str | None
    ) -> list[str]:
        cfg = self.cfg.action_log
        if not cfg.enabled or previous is None or self._last_facts is None or step < 1:
            return []
        outcome = describe_outcome(self._last_facts, facts, self.history.repeats > 0)
        if cfg.skip_routine_moves and outcome.moved_only:
            return []
        line = action_log_line(step - 1, previous, outcome)
        result = execute_helper_write(self.files, cfg.file, line, step, append=True)
        return self._record(step, "action log", result)

    def _prune(self, step: int) -> list[str]:
        cfg = self.cfg.pruning
        if not cfg.enabled:
            return []
        out: list[str] = []
        for name in cfg.files:
            f = self.files.state.get(name)
            plan = plan_prune(f.lines, cfg.trigger_lines, cfg.keep_lines, step) if f else None
            if plan is not None:
                result = execute_helper_prune(self.files, name, plan.count, plan.header, step)
                out += self._record(step, "pruning", result)
        return out

    # ----------------------------------------------------------------- prompt blocks

    def reminders(self) -> list[str]:
        """Warnings shown in PLAN besides the step's: files nearly full."""
        cfg = self.cfg.size_reminder
        if not cfg.enabled:
            return []
        return size_reminders(self.files.index(), self.spec.files, cfg.threshold)

    def map_analysis(self, facts: Mapping[str, object]) -> str:
        """The ``$map_analysis`` value: the block between blank lines, or nothing."""
        cfg = self.cfg.map_analysis
        return f"\n{render_map_analysis(facts, cfg.reach)}\n" if cfg.enabled else ""

    def injected(self) -> str:
        """The ``$injected`` value of a PLAN prompt: the files the helpers show there."""
        blocks: list[tuple[str, str]] = []
        inject, goals, tail = self.cfg.plan_injection, self.cfg.goals_file, self.cfg.plan_tail
        if inject.file and inject.file in self.files.state:
            blocks.append((f"Contents of {inject.file}", self._text(inject.file)))
        if goals.file and goals.file in self.files.state:
            title = f"Your current goals ({goals.file}; keep them current in the LOG phase)"
            blocks.append((title, self._text(goals.file)))
        if tail.file and tail.file in self.files.state:
            lines = self.files.state[tail.file].lines[-tail.lines :]
            blocks.append((f"Last {tail.lines} lines of {tail.file}", "\n".join(lines)))
        return render_injected(blocks)

    def _text(self, name: str) -> str:
        return "\n".join(self.files.state[name].lines)
