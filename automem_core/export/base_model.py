"""Finding a training's base model before anything heavy starts.

A base model is a folder, or a hub id that is either in the local cache or downloadable. Loading
an absent model through ``transformers`` spends tens of seconds retrying an unreachable hub
before it fails; this module answers in a few seconds instead: a folder or a cached id is used
as is (and loaded with ``local_files_only``), ``HF_HUB_OFFLINE`` is honoured, and otherwise one
short request asks the hub whether the model exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from automem_core.errors import AutoMemError

HUB_TIMEOUT_S = 3.0
_TRUE = {"1", "true", "yes", "on"}


class BaseModelError(AutoMemError):
    """The base model is neither on this machine nor reachable; the message says what to do."""


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # what to pass to from_pretrained
    local_only: bool  # on this machine: load with local_files_only (no hub request at all)


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def _cached(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        found = try_to_load_from_cache(name, "config.json")
    except Exception:  # not a valid repository id: it is not in the cache either
        return False
    return isinstance(found, str)


def resolve_base_model(name: str, timeout_s: float = HUB_TIMEOUT_S) -> ResolvedModel:
    """The base model ``name`` ready to load, or a one-line BaseModelError (in about
    ``timeout_s`` at most) when it is absent and cannot be downloaded."""
    if Path(name).expanduser().is_dir():
        return ResolvedModel(str(Path(name).expanduser()), local_only=True)
    if _cached(name):
        return ResolvedModel(name, local_only=True)
    fix = f"download it first (`hf download {name}`) or pass --base-model FOLDER"
    if hub_offline():
        raise BaseModelError(f"base model {name!r} is not on this machine and HF_HUB_OFFLINE is "
                             f"set; {fix}")  # fmt: skip
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import RepositoryNotFoundError
    except ImportError:
        raise BaseModelError(f"base model {name!r} is not a folder; {fix}") from None
    try:
        HfApi().model_info(name, timeout=timeout_s)
    except RepositoryNotFoundError:
        raise BaseModelError(f"no model {name!r} on the hub (nor a folder of that name); "
                             "check --base-model or the recipe's base_model") from None  # fmt: skip
    except Exception as exc:
        reason = type(exc).__name__
        raise BaseModelError(f"base model {name!r} is not on this machine and the hub cannot be "
                             f"reached ({reason}); {fix}") from None  # fmt: skip
    return ResolvedModel(name, local_only=False)
