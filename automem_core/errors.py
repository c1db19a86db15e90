"""The one base class of the errors a user can expect.

A misconfiguration, a missing file, a refused request: each raises a subclass of
:class:`AutoMemError` whose message is one line naming the problem and the fix. The CLI prints
that line and exits with status 2. Any other exception is a bug: the CLI prints one line saying
so, and the traceback with ``-v``.
"""

from __future__ import annotations


class AutoMemError(Exception):
    """An expected failure; ``str(error)`` is the one line a user reads."""


class UsageError(AutoMemError, ValueError):
    """Command-line arguments that cannot be used together or as given."""
