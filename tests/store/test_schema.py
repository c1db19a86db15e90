"""The Arrow schema of every table, pinned as literal column lists, and the upgrade of files an
earlier version wrote. A change of columns must be a deliberate SCHEMA_VERSION bump: add the new
version's columns here and its upgrade to ``store/migrations.py``."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from automem_core.store.migrations import (
    CHANGED,
    UPGRADES,
    file_version,
    needs_upgrade,
    upgrade_store,
)
from automem_core.store.reader import connect
from automem_core.store.schema import METADATA_KEY, SCHEMA_VERSION, SCHEMAS, TABLES
from automem_core.store.summary import SUMMARY_COLUMNS
from automem_core.testing.sample_store import play_fake_run

S, N, F, B = "string", "int64", "double", "bool"
LS, LI = "list<item: string>", "list<item: int64>"
V1 = {
    "runs": [
        ("run_id", S), ("game", S), ("tasks", LS), ("seeds", LI), ("scaffold_id", S),
        ("scaffold_hash", S), ("memory_client", S), ("action_client", S),
        ("model_config_json", S), ("settings_hash", S), ("max_steps", N), ("status", S),
        ("created_at", S), ("updated_at", S), ("episodes_planned", N),
    ],
    "episodes": [
        ("episode_id", S), ("run_id", S), ("game", S), ("task", S), ("seed", N),
        ("scaffold_id", S), ("scaffold_hash", S), ("memory_client", S), ("action_client", S),
        ("status", S), ("end_reason", S), ("error", S), ("steps", N), ("total_reward", F),
        ("progression", F), ("invalid_actions", N), ("tokens_in", N), ("tokens_out", N),
        ("llm_calls", N), ("retries", N), ("wall_s", F), ("started_at", S), ("finished_at", S),
        ("parent_episode_id", S), ("fork_step", N),
    ],
    "steps": [
        ("episode_id", S), ("step", N), ("observation", S), ("action", S), ("raw_action", S),
        ("action_valid", B), ("reward", F), ("done", B), ("progression", F), ("warnings", LS),
        ("n_log_turns", N), ("n_plan_turns", N), ("n_ops", N), ("n_writes", N),
        ("tokens_in", N), ("tokens_out", N), ("llm_ms", F), ("env_ms", F),
    ],
    "turns": [
        ("episode_id", S), ("step", N), ("phase", S), ("turn", N), ("client", S),
        ("messages_json", S), ("completion", S), ("n_ops", N), ("parse_errors", LS),
        ("action", S), ("tokens_in", N), ("tokens_out", N), ("latency_ms", F), ("retries", N),
        ("error", S),
    ],
    "memory_ops": [
        ("episode_id", S), ("step", N), ("seq", N), ("phase", S), ("turn", N), ("kind", S),
        ("file", S), ("args", LS), ("ok", B), ("result", S), ("hits", N), ("error", S),
        ("mutations_json", S),
    ],
    "memory_snapshots": [("episode_id", S), ("step", N), ("files_json", S)],
    "frames": [("episode_id", S), ("step", N), ("kind", S), ("data", "binary")],
    "labels": [
        ("label_id", S), ("target_kind", S), ("target_id", S), ("verdict", S), ("author", S),
        ("reason", S), ("created_at", S),
    ],
}  # fmt: skip


def _with(columns: list[tuple[str, str]], after: str, *new: tuple[str, str]) -> list:
    i = [c for c, _ in columns].index(after) + 1
    return [*columns[:i], *new, *columns[i:]]


V2 = {
    **V1,
    "runs": _with(_with(V1["runs"], "seeds", ("seed_set", S)), "max_steps", ("text_format", S)),
    "episodes": _with(V1["episodes"], "llm_calls", ("failed_calls", N), ("failure_defaults", N)),
    "steps": _with(V1["steps"], "action_valid", ("action_source", S)),
}
V3 = {
    **V2,
    "episodes": [
        *V2["episodes"],
        ("agent_ops", N), ("op_counts_json", S), ("empty_searches", N),
        ("redundant_writes", N), ("writes_never_read", N), ("writes_checked", N),
        ("unchanged_observations", N), ("oscillations", N),
        ("longest_zero_reward_streak", N), ("file_lines_json", S),
    ],
}  # fmt: skip
V4 = {
    **V3,
    "runs": [*V3["runs"], ("training_id", S)],
    "labels": [
        ("label_id", S), ("target_kind", S), ("target_id", S), ("verdict", S), ("note", S),
        ("author", S), ("source", S), ("scaffold_version", S), ("tokens_in", N),
        ("tokens_out", N), ("cost_usd", F), ("created_at", S),
    ],
    "decisions": [
        ("decision_id", S), ("run_id", S), ("episode_id", S), ("game", S), ("task", S),
        ("seed", N), ("scaffold_version", S), ("step", N), ("phase", S), ("turn", N),
        ("op_kinds", LS), ("lines_written", N), ("retrieved", B), ("retrieved_by", LS),
        ("retrieval_delay", N), ("progress_after", B), ("redundant_write", B),
        ("never_read", B), ("empty_search", B), ("early_outcome", B), ("percentile", F),
        ("score", F), ("mined_at", S),
    ],
    "alternatives": [
        ("alternative_id", S), ("decision_id", S), ("model", S), ("sample", N),
        ("completion", S), ("results_json", S), ("tokens_in", N), ("tokens_out", N),
        ("cost_usd", F), ("created_at", S),
    ],
    "proposals": [
        ("proposal_id", S), ("event", S), ("parent_version", S), ("candidate_version", S),
        ("summary", S), ("rationale", S), ("patch_json", S), ("citations_json", S),
        ("expected_effect", S), ("reason", S), ("raw_output", S), ("reviewer", S),
        ("author", S), ("review_runs", LS), ("same_seeds", B), ("tokens_in", N),
        ("tokens_out", N), ("calls", N), ("tool_calls", N), ("cost_usd", F), ("created_at", S),
    ],
    "evaluations": [
        ("evaluation_id", S), ("proposal_id", S), ("version", S), ("parent_version", S),
        ("seed_set", S), ("run_id", S), ("parent_run_id", S), ("rule", S), ("pairs", N),
        ("dropped_pairs", N), ("mean", F), ("parent_mean", F), ("delta", F),
        ("delta_stderr", F), ("delta_low", F), ("delta_high", F), ("degraded", N),
        ("parent_degraded", N), ("verdict", S), ("reason", S), ("pairs_json", S),
        ("created_at", S),
    ],
    "exports": [
        ("export_id", S), ("out_dir", S), ("formats", LS), ("selection", S),
        ("decision_ids", LS), ("examples", N), ("pairs", N), ("card_json", S), ("author", S),
        ("created_at", S),
    ],
    "trainings": [
        ("training_id", S), ("export_id", S), ("export_dir", S), ("backend", S),
        ("base_model", S), ("recipe_json", S), ("status", S), ("job_id", S), ("steps", N),
        ("final_loss", F), ("heldout_loss_before", F), ("heldout_loss_after", F),
        ("adapter_path", S), ("wall_s", F), ("created_at", S),
    ],
}  # fmt: skip
V5 = {
    **V4,
    "trainings": [
        *V4["trainings"], ("examples", N), ("out_dir", S), ("error", S),
    ],
}  # fmt: skip
V6 = {
    **V5,
    "turn_signals": [
        ("episode_id", S), ("step", N), ("phase", S), ("turn", N), ("op_kinds", LS),
        ("lines_written", N), ("redundant_write", B), ("early_outcome", B),
        ("empty_search", B), ("read_step", N), ("read_by", S), ("read_progress", N),
        ("consult_by", S), ("turn_progress", N),
    ],
}  # fmt: skip
V7 = {
    **V6,
    "episodes": [*V6["episodes"], ("fork_edit_json", S)],
    "causal_values": [
        ("causal_id", S), ("decision_id", S), ("run_id", S), ("fork_run_id", S),
        ("fork_step", N), ("horizon", N), ("samples", N), ("causal_value", F),
        ("causal_stderr", F), ("reward_value", F), ("reward_stderr", F),
        ("kept_episodes", LS), ("dropped_episodes", LS), ("memory_client", S),
        ("scaffold_version", S), ("created_at", S),
    ],
}  # fmt: skip
COLUMNS = {1: V1, 2: V2, 3: V3, 4: V4, 5: V5, 6: V6, 7: V7}


def columns(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in schema]


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_has_the_pinned_columns_of_this_schema_version(table):
    assert columns(SCHEMAS[table]) == COLUMNS[SCHEMA_VERSION][table]
    assert SCHEMAS[table].metadata[METADATA_KEY] == str(SCHEMA_VERSION).encode()


def test_the_changed_tables_of_each_version_are_those_whose_columns_differ():
    for version in range(2, SCHEMA_VERSION + 1):
        before, after = COLUMNS[version - 1], COLUMNS[version]
        differ = {t for t in before if t in after and before[t] != after[t]}
        assert CHANGED[version] == differ, version


def test_every_earlier_version_has_an_upgrade():
    assert sorted(COLUMNS) == list(range(1, SCHEMA_VERSION + 1))
    assert sorted(UPGRADES) == list(range(1, SCHEMA_VERSION))


def downgrade_to_v1(root) -> None:
    """Rewrite a store's files as version 1 wrote them: the v1 columns, version 1 stamped."""
    for table, cols in V1.items():
        if table == "labels":
            continue  # no labels were written by version 1
        for path in root.rglob(f"{'run' if table == 'runs' else table}.parquet"):
            names = [c for c, _ in cols]
            old = pq.read_table(path).select(names)
            if table == "episodes":  # v1 had no degraded status
                ok = pa.array(["ok" if s == "degraded" else s for s in old["status"].to_pylist()])
                old = old.set_column(names.index("status"), "status", ok)
            pq.write_table(old.replace_schema_metadata({METADATA_KEY: b"1"}), path)


def test_files_of_version_1_read_upgraded_and_failed_calls_are_recounted(tmp_path):
    play_fake_run(tmp_path, seeds=(0,), steps=8, run_id="old")
    con = connect(tmp_path)
    before = con.execute("SELECT * FROM steps ORDER BY step").fetchall()
    summary = ", ".join(SUMMARY_COLUMNS)
    summary_before = con.execute(f"SELECT {summary} FROM episodes").fetchall()
    # One failed model call in an old episode: it must not read back as clean.
    turns = next(tmp_path.rglob("turns.parquet"))
    table = pq.read_table(turns)
    errors = ["HTTP 500", *table["error"].to_pylist()[1:]]
    pq.write_table(
        table.set_column(
            table.schema.get_field_index("error"), "error", pa.array(errors, pa.string())
        ),
        turns,
    )
    downgrade_to_v1(tmp_path)
    assert file_version(turns) == file_version(next(tmp_path.rglob("steps.parquet"))) == 1

    con = connect(tmp_path)
    episode = con.execute("SELECT status, failed_calls FROM episodes").fetchone()
    assert episode == ("degraded", 1)
    assert con.execute("SELECT seed_set, text_format, training_id FROM runs").fetchone() == (
        None,
        "1",
        None,
    )
    assert con.execute("SELECT * FROM steps ORDER BY step").fetchall() == before
    assert con.execute(f"SELECT {summary} FROM episodes").fetchall() == summary_before

    done = upgrade_store(tmp_path)
    assert done["episodes"] == done["steps"] == done["runs"] == 1
    for path in tmp_path.rglob("*.parquet"):  # tables no version changed keep their stamp
        table = "runs" if path.name == "run.parquet" else path.stem
        assert not needs_upgrade(table, file_version(path)), path
    assert connect(tmp_path).execute("SELECT status FROM episodes").fetchone() == ("degraded",)
    assert upgrade_store(tmp_path) == {}  # nothing left to do


def test_row_classes_use_closed_sets_for_status_phase_kind():
    from typing import get_args, get_type_hints

    from automem_core.store.schema import EpisodeRow, FrameRow, MemoryOpRow, TurnRow

    def options(row: type, field: str) -> set[str]:
        return set(get_args(get_type_hints(row)[field]))

    assert options(EpisodeRow, "status") == {"ok", "degraded", "model_error", "error"}
    assert options(EpisodeRow, "end_reason") == {"done", "max_steps", "error"}
    assert options(TurnRow, "phase") == {"log", "plan", "action"}
    assert "UPSERT_MAP" in options(MemoryOpRow, "kind")
    assert options(FrameRow, "kind") == {"png", "tty"}
    assert [f.name for f in dataclasses.fields(EpisodeRow)] == [c for c, _ in V7["episodes"]]


def test_compacted_parts_of_version_6_read_and_upgrade_into_new_parts(tmp_path):
    from automem_core.store.catalog import scan_run
    from automem_core.store.layout import Layout

    play_fake_run(tmp_path, seeds=(0, 1), steps=6, run_id="old")  # compacted as it ends
    folder = Layout(tmp_path).run_dir("old")
    (part,) = scan_run(folder).parts
    path = scan_run(folder).part_file(part, "episodes")
    table = pq.read_table(path)
    v6 = table.drop_columns(["fork_edit_json"]).replace_schema_metadata({METADATA_KEY: b"6"})
    pq.write_table(v6, path)
    manifest = (folder / "manifest.json").read_text()
    size = path.stat().st_size
    manifest = manifest.replace('"version": 7', '"version": 6')
    manifest = manifest.replace(f'"episodes": {part.sizes["episodes"]}', f'"episodes": {size}')
    (folder / "manifest.json").write_text(manifest)
    (old_part,) = scan_run(folder).parts
    assert old_part.version == 6 and old_part.sizes["episodes"] == size

    con = connect(tmp_path)  # read upgraded in memory
    assert con.execute("SELECT count(*), count(fork_edit_json) FROM episodes").fetchone() == (2, 0)
    steps_before = con.execute("SELECT count(*) FROM steps").fetchone()

    done = upgrade_store(tmp_path)
    assert done == {"episodes": 1}
    (new_part,) = scan_run(folder).parts
    assert new_part.part_id != old_part.part_id and new_part.version == SCHEMA_VERSION
    assert not (folder / "parts" / old_part.part_id).exists()
    assert file_version(scan_run(folder).part_file(new_part, "episodes")) == SCHEMA_VERSION
    con = connect(tmp_path, verify=True)
    assert con.execute("SELECT count(*), count(fork_edit_json) FROM episodes").fetchone() == (2, 0)
    assert con.execute("SELECT count(*) FROM steps").fetchone() == steps_before
    assert upgrade_store(tmp_path) == {}
