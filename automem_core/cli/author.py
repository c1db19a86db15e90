"""Who a human act is signed by: ``--author NAME`` or ``$AUTOMEM_AUTHOR``, never a default.

A label, an approval or a rejection carries the name the person chose. The operating system's
user name is not a person's choice (on a shared server it is often ``root``), so a command that
records a human act refuses to run without one.
"""

from __future__ import annotations

import argparse
import os

from automem_core.errors import UsageError

AUTHOR_ENV = "AUTOMEM_AUTHOR"


def author_flag(p: argparse.ArgumentParser, act: str) -> None:
    """Add ``--author`` to a command whose ``act`` (e.g. "labels") is signed."""
    p.add_argument(
        "--author",
        default=None,
        help=f"your name: {act} are signed with it (default: ${AUTHOR_ENV}; required)",
    )


def author_of(args: argparse.Namespace, act: str) -> str:
    """The name given with ``--author`` or in ``$AUTOMEM_AUTHOR``; UsageError when neither."""
    name = str(args.author or os.environ.get(AUTHOR_ENV) or "").strip()
    if not name:
        raise UsageError(f"{act} are signed: pass --author NAME (or set {AUTHOR_ENV}=NAME)")
    return name
