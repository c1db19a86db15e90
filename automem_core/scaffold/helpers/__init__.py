"""Built-in helpers a scaffold can switch on and tune (docs/architecture.md, "Scaffolds"), as
pure functions.

``warnings``: unchanged-observation notice, stuck and oscillation warnings, size reminders.
``files``: what the file-writing helpers write (status, inventory, action log, pruning).
``blocks``: the prompt blocks (map analysis, files shown in PLAN).
The agent applies them each step (``agent/helper_steps.py``).
"""

from automem_core.scaffold.helpers.blocks import render_injected, render_map_analysis
from automem_core.scaffold.helpers.files import (
    Outcome,
    Prune,
    action_log_line,
    describe_outcome,
    plan_prune,
    render_inventory,
    render_status,
)
from automem_core.scaffold.helpers.warnings import (
    HISTORY,
    History,
    collect_warnings,
    oscillation_warning,
    size_reminders,
    stuck_warning,
    unchanged_observation_notice,
)

__all__ = [
    "HISTORY",
    "History",
    "Outcome",
    "Prune",
    "action_log_line",
    "collect_warnings",
    "describe_outcome",
    "oscillation_warning",
    "plan_prune",
    "render_injected",
    "render_inventory",
    "render_map_analysis",
    "render_status",
    "size_reminders",
    "stuck_warning",
    "unchanged_observation_notice",
]
