"""The ``automem`` command: play games, inspect the store, and run both loops.

Each area's commands live in a module of their own (``run_commands``, ``store_commands``, …)
that registers its subcommands; this module builds the parser and turns expected failures into
one ``error: …`` line and exit status 2, never a traceback. Anything else is a bug: one line
too (status 1), and its traceback with ``-v``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from automem_core.cli import (
    fork_commands,
    mining_commands,
    review_commands,
    run_commands,
    search_commands,
    store_commands,
    train_commands,
)
from automem_core.cli.run_commands import parse_seeds
from automem_core.errors import AutoMemError, UsageError
from automem_core.store.layout import check_data_dir, default_data
from automem_core.store.remote import open_root, remote_of

__all__ = ["build_parser", "main", "parse_seeds"]
COMMAND_MODULES = (
    run_commands,
    fork_commands,
    search_commands,
    store_commands,
    review_commands,
    mining_commands,
    train_commands,
)


def _data_root(text: str) -> Path:
    """``--data`` as the folder commands use (store/remote.py); a bad one as argparse's error."""
    try:
        return open_root(text)
    except AutoMemError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="automem", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        for sp in module.register(sub):
            sp.add_argument(
                "--data",
                type=_data_root,
                default=default_data(),  # a string: argparse applies open_root
                help="data folder or store URL, e.g. s3://bucket/prefix "
                "(default: $AUTOMEM_DATA or data/)",
            )
            sp.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


# Commands that may write a store on object storage (store/remote.py): they write episodes,
# append-only records and scaffold versions, which it takes; the others read it.
REMOTE_WRITERS = frozenset(
    {"run", "fork", "mine", "judge", "label", "review", "approve", "reject", "evaluate", "compact"}
)


def sync_remote(args: argparse.Namespace) -> None:
    """Bring the mirror of ``--data URL`` up to date, or refuse a command that would write what
    the store does not yet take from a mirror."""
    from automem_core.store.remote_pull import pull

    remote = remote_of(args.data)
    if getattr(args, "writes", False) and args.command not in REMOTE_WRITERS and remote:
        raise UsageError(
            f"`automem {args.command}` cannot write to {remote.url} yet (only "
            f"{', '.join(sorted(REMOTE_WRITERS))} can); use a local --data folder for it"
        )
    pull(args.data)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if getattr(args, "data", None) is not None:
            check_data_dir(args.data, write=getattr(args, "writes", False))
            if remote_of(args.data) is not None:
                sync_remote(args)
        code: int = args.func(args)
    except AutoMemError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(
            "interrupted: finished episodes are saved; run the same command to resume",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # `automem runs | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: one line, and the traceback with -v
        if args.verbose:
            traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0]
        hint = "" if args.verbose else "; run again with -v for the traceback"
        print(f"error: unexpected {type(exc).__name__}: {first}{hint}", file=sys.stderr)
        return 1
    return code
