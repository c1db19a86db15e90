from automem_core.scaffold.helpers import (
    History,
    oscillation_warning,
    render_status,
    size_reminders,
    stuck_warning,
)
from automem_core.scaffold.spec import MemoryFileSpec


def _history(observations, positions):
    h = History()
    for obs, pos in zip(observations, positions, strict=True):
        h.record(obs, pos)
    return h


def test_stuck_needs_the_full_window_of_identical_observations():
    assert stuck_warning(_history(["a"] * 4, [None] * 4), 5) is None
    assert "5 steps" in stuck_warning(_history(["a"] * 5, [None] * 5), 5)
    assert stuck_warning(_history(["b"] + ["a"] * 4, [None] * 5), 5) is None


def test_oscillation_between_two_places_is_detected_but_not_a_walk():
    ab = [(0, 0), (1, 0)] * 4
    assert oscillation_warning(_history(["x"] * 8, ab), 8) is not None
    walk = [(i, 0) for i in range(8)]
    assert oscillation_warning(_history(["x"] * 8, walk), 8) is None
    still = [(0, 0)] * 8
    assert oscillation_warning(_history(["x"] * 8, still), 8) is None


def test_status_file_for_each_game_kind():
    crafter = render_status(
        "crafter",
        7,
        {
            "pos": (3, 4),
            "status": {"health": 9, "food": 0},
            "inventory": {"wood": 2},
            "achievements": [],
        },
    )
    assert crafter.splitlines() == [
        "step: 7",
        "position: (3,4)",
        "status: health 9",
        "inventory: wood 2",
        "achievements: none yet",
    ]
    nle = render_status("nethack", 2, {"pos": (10, 5), "dlvl": 1, "hp": 12, "hp_max": 14})
    assert "position: (10,5)" in nle and "hp: 12/14" in nle


def test_size_reminder_only_for_agent_files_past_the_threshold():
    specs = [
        MemoryFileSpec(name="notes", purpose="x", max_lines=10),
        MemoryFileSpec(name="status", purpose="x", max_lines=10, writer="helper"),
        MemoryFileSpec(name="strict", purpose="x", max_lines=10, prune="reject"),
    ]
    out = size_reminders([("notes", 8), ("status", 10), ("strict", 9), ("other", 99)], specs, 0.8)
    assert len(out) == 2
    assert "notes has 8/10" in out[0] and "oldest lines will be dropped" in out[0]
    assert "writes will fail" in out[1]
