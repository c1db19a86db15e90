"""Rule-based players that answer like a model, so every path runs offline
(docs/architecture.md, "Model backends")."""

from automem_core.llm.embedded.client import PLAYERS, EmbeddedClient, register_player

__all__ = ["PLAYERS", "EmbeddedClient", "register_player"]
