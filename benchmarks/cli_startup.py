"""How long the ``automem`` command takes to start, against starting Python itself.

Each command is run as a new process (as a user runs it) several times; the median wall time is
printed beside ``python -c pass`` measured in the same run, with the ratio. Commands that only
print (``--help``) or read an empty store should cost little more than the interpreter: the
engine's heavy modules (pandas, DuckDB, the games, the trainers) are imported by the commands
that use them. Goal: ``automem --help`` in at most 0.3 s.

    .venv/bin/python benchmarks/cli_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

GOAL_HELP_S = 0.3


def median_s(argv: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "automem_core.cli"]
    with tempfile.TemporaryDirectory() as empty:
        commands = {
            "automem --help": [*cli, "--help"],
            "automem export --help": [*cli, "export", "--help"],
            "automem train --help": [*cli, "train", "--help"],
            "automem runs (empty store)": [*cli, "runs", "--data", empty],
            "automem decisions (empty store)": [*cli, "decisions", "--data", empty],
        }
        base = median_s([sys.executable, "-c", "pass"], args.repeats)
        print(f"python -c pass: {base:.3f} s (baseline, median of {args.repeats})")
        for name, argv in commands.items():
            took = median_s(argv, args.repeats)
            print(f"{name:<34} {took:.3f} s  ratio {took / base:5.1f}x")
            if name == "automem --help":
                verdict = "met" if took <= GOAL_HELP_S else "MISSED"
                print(f"  goal --help <= {GOAL_HELP_S} s: {verdict}")


if __name__ == "__main__":
    main()
