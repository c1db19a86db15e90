"""The embedded backend: a deterministic rule-based player per game behind the client interface.

Each answer is a pure function of the request (messages, game, phase, step, turn): the players
keep nothing between calls, so whatever they need later they write to memory with ops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from automem_core.llm.base import Completion, LLMConfigError, TurnRequest
from automem_core.llm.embedded import crafter_player, nle_player
from automem_core.llm.embedded.prompt_view import PromptView, parse_prompt

log = logging.getLogger(__name__)

Player = Callable[[PromptView, TurnRequest], str]

PLAYERS: dict[str, Player] = {
    "crafter": crafter_player.respond,
    "minihack": nle_player.respond_minihack,
    "nethack": nle_player.respond_nethack,
}


def register_player(game: str, player: Player) -> None:
    """Give another game (a plugin, a test's fake game) its embedded player."""
    PLAYERS[game] = player


def estimate_tokens(text: str) -> int:
    """A rough token count (four characters a token), so cost views have something to show."""
    return len(text) // 4


class EmbeddedClient:
    """``EmbeddedClient("crafter")``: answers every turn with the rules of that game's player."""

    def __init__(self, game: str) -> None:
        if game not in PLAYERS:
            raise LLMConfigError(
                f"no embedded player for game {game!r}; choose one of: {', '.join(sorted(PLAYERS))}"
            )
        self.game = game
        self.label = f"embedded:{game}"
        self._player = PLAYERS[game]

    async def complete(self, request: TurnRequest) -> Completion:
        t0 = time.perf_counter()
        tokens_in = sum(estimate_tokens(str(m.get("content", ""))) for m in request.messages)
        try:
            text = self._player(parse_prompt(request.messages), request)
        except Exception as exc:  # a rule bug becomes a recorded failed call, not a dead run
            log.warning("embedded %s player failed at step %s: %s", self.game, request.step, exc)
            latency_ms = (time.perf_counter() - t0) * 1000
            error = f"{type(exc).__name__}: {exc}"
            return Completion("", tokens_in, 0, latency_ms, 0, error)
        latency_ms = (time.perf_counter() - t0) * 1000
        return Completion(text, tokens_in, estimate_tokens(text), latency_ms)

    async def aclose(self) -> None:
        return None
