"""Row classes of the append-only record tables (``store/records.py``): labels, decisions and
their alternatives, proposals, evaluations, exports and trainings. People and the loops add rows;
the latest row per id is current. ``schema.py`` lists them with the other tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# The role a run's seeds play; the loops keep the sets apart (the gate never tests on the seeds
# that inspired a proposal, and nothing trains on the seeds that measure it).
SeedSet = Literal["mining", "review", "gating", "heldout"]
SEED_SETS: tuple[SeedSet, ...] = get_args(SeedSet)
LabelTarget = Literal["decision", "alternative"]
# cleared: an undo (no label any more); malformed: a judge answer that held no verdict
Verdict = Literal["good", "bad", "unsure", "cleared", "malformed"]
HumanVerdict = Literal["good", "bad", "unsure"]
# How several people's labels of one decision become its label (analysis/label_policy.py).
LabelPolicy = Literal["latest", "majority", "adjudicated"]
LABEL_POLICIES: tuple[LabelPolicy, ...] = get_args(LabelPolicy)
HUMAN_VERDICTS: tuple[HumanVerdict, ...] = get_args(HumanVerdict)
DecisionPhase = Literal["log", "plan"]
ProposalEvent = Literal[
    "proposed",  # valid, waiting for a person (or --auto-approve)
    "invalid",  # refused by validation; ``reason`` says why
    "approved",
    "rejected",
    "edited",  # approved with a person's edit; ``patch_json`` is the edited patch
    "accepted",  # the gate kept it
    "declined",  # the gate did not
]
EvaluationSet = Literal["review", "gating", "heldout"]
# How the gate decides: the mean must rise (as in the paper), or a paired bootstrap's bound.
GateRule = Literal["strict", "bootstrap"]
GATE_RULES: tuple[GateRule, ...] = get_args(GateRule)


@dataclass(frozen=True)
class LabelRow:
    """A verdict on a decision (or on an alternative answer to its prompt). The current label
    of a decision is its latest human label, or, with none, its latest judge label."""

    label_id: str
    target_kind: LabelTarget
    target_id: str
    verdict: Verdict
    note: str
    author: str
    source: str  # "human" or "llm:<model>"
    scaffold_version: str  # id@hash8 of the scaffold that produced the turn
    tokens_in: int
    tokens_out: int
    cost_usd: float
    created_at: str


@dataclass(frozen=True)
class DecisionRow:
    """A mined memory decision: a LOG turn or a PLAN consultation, with signals from the log."""

    decision_id: str  # <episode_id>:<step>:<phase>:<turn>
    run_id: str
    episode_id: str
    game: str
    task: str
    seed: int
    scaffold_version: str
    step: int
    phase: DecisionPhase
    turn: int
    op_kinds: list[str]
    lines_written: int
    retrieved: bool  # a line it wrote was returned by a later SEARCH/READ/TAIL
    retrieved_by: list[str]  # e.g. "SEARCH@14"
    retrieval_delay: int | None  # steps until the first such read
    progress_after: bool  # its retrieval (or its own reads) came before reward or progress
    redundant_write: bool
    never_read: bool
    empty_search: bool
    early_outcome: bool  # logged an outcome it could not have observed yet
    percentile: float  # the episode's progression percentile within its task
    score: float
    mined_at: str


@dataclass(frozen=True)
class AlternativeRow:
    """Another answer to a decision's exact prompt, sampled from a model (for preferences)."""

    alternative_id: str
    decision_id: str
    model: str
    sample: int
    completion: str
    results_json: str  # its ops' results on the memory as it was
    tokens_in: int
    tokens_out: int
    cost_usd: float
    created_at: str


@dataclass(frozen=True)
class CausalValueRow:
    """What a decision was worth, measured by forks (``mining/causal.py``): the paired difference,
    at the horizon, between forks that keep it as logged and forks that drop it. The latest row
    per decision is current."""

    causal_id: str
    decision_id: str
    run_id: str  # the decision's run
    fork_run_id: str  # the run holding the forks
    fork_step: int
    horizon: int  # steps each fork played at most
    samples: int  # kept/dropped pairs that ended clean
    causal_value: float  # mean of (kept - dropped) progression at the horizon
    causal_stderr: float | None  # None with one pair (exact for deterministic clients)
    reward_value: float  # mean of (kept - dropped) reward over the horizon
    reward_stderr: float | None
    kept_episodes: list[str]
    dropped_episodes: list[str]
    memory_client: str
    scaffold_version: str  # what the forks played with
    created_at: str


@dataclass(frozen=True)
class ProposalRow:
    """One event in a scaffold proposal's life; the latest row per proposal is its state."""

    proposal_id: str
    event: ProposalEvent
    parent_version: str
    candidate_version: str | None  # None while invalid
    summary: str
    rationale: str
    patch_json: str  # RFC 6902 JSON Patch over the parent's canonical document
    citations_json: str  # [{episode_id, step, diagnostic, shows}]
    expected_effect: str
    reason: str  # why it was refused, approved or rejected
    raw_output: str  # what the reviewer returned
    reviewer: str  # "embedded" or the model's label
    author: str  # who caused this event
    review_runs: list[str]
    same_seeds: bool
    tokens_in: int
    tokens_out: int
    calls: int
    tool_calls: int
    cost_usd: float
    created_at: str


@dataclass(frozen=True)
class EvaluationRow:
    """A version played on a seed set beside its parent: the gate's verdict, or a report."""

    evaluation_id: str
    proposal_id: str | None
    version: str
    parent_version: str | None
    seed_set: EvaluationSet
    run_id: str
    parent_run_id: str | None
    rule: str  # "strict" or "bootstrap"
    pairs: int
    dropped_pairs: int
    mean: float  # the version's clean progression, ×100
    parent_mean: float | None
    delta: float | None
    delta_stderr: float | None
    delta_low: float | None  # the interval the rule used
    delta_high: float | None
    degraded: int
    parent_degraded: int | None
    verdict: str  # "accepted", "declined" ("rejected" in older rows) or "reported"
    reason: str
    pairs_json: str  # [{task, seed, version, parent}]
    created_at: str


@dataclass(frozen=True)
class ExportRow:
    export_id: str
    out_dir: str
    formats: list[str]
    selection: str  # the selection query, as shown on the dataset card
    decision_ids: list[str]
    examples: int
    pairs: int
    card_json: str
    author: str
    created_at: str


@dataclass(frozen=True)
class TrainingRow:
    """A training of the memory specialist (the ledger), and later what evaluated it."""

    training_id: str
    export_id: str | None
    export_dir: str
    backend: str  # "trl" or "openai"
    base_model: str
    recipe_json: str
    status: str  # "running", "finished", "failed", or the OpenAI job's status
    job_id: str | None
    steps: int
    final_loss: float | None
    heldout_loss_before: float | None
    heldout_loss_after: float | None
    adapter_path: str | None  # the LoRA adapter folder, or the fine-tuned OpenAI model's name
    wall_s: float
    created_at: str
    examples: int  # the export's training examples
    out_dir: str | None  # the training's folder (loss curve, result)
    error: str | None  # why it failed, in one line
