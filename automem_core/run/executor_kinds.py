"""The executors a run may name (``--executor``): a light module, so the CLI builds its parser
without importing the run machinery."""

from __future__ import annotations

from typing import Literal

ExecutorKind = Literal["local", "ray"]
EXECUTORS: tuple[ExecutorKind, ...] = ("local", "ray")
