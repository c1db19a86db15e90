"""Building the client a model config asks for (a registry, not an if-chain per call site)."""

from __future__ import annotations

from collections.abc import Callable

from automem_core.llm.base import LLMClient, LLMConfigError
from automem_core.llm.config import ModelConfig


def _embedded(cfg: ModelConfig, game: str) -> LLMClient:
    from automem_core.llm.embedded import EmbeddedClient

    return EmbeddedClient(game)


def _openai(cfg: ModelConfig, game: str) -> LLMClient:
    from automem_core.llm.openai_client import OpenAIChatClient

    if not cfg.base_url and not cfg.model:
        raise LLMConfigError("the openai backend needs --model (and --base-url for a local server)")
    return OpenAIChatClient(cfg)


def _replay(cfg: ModelConfig, game: str) -> LLMClient:
    raise LLMConfigError(
        "the replay backend answers from a recorded run: use `automem run --replay-from RUN_ID`"
    )


BACKENDS: dict[str, Callable[[ModelConfig, str], LLMClient]] = {
    "embedded": _embedded,
    "openai": _openai,
    "replay": _replay,
}


def make_client(cfg: ModelConfig, game: str) -> LLMClient:
    return BACKENDS[cfg.backend](cfg, game)
