"""The version of the games' text observations, for runs to record beside their results.

Bump it whenever any game's observation text changes for the same game state, so that runs
(and models trained on them) made with different texts are never compared unknowingly.

- 1: the first format (NLE ``screen_descriptions`` names; Crafter ground left out).
- 2: BALROG's exact text: its language wrapper's names and layout for NetHack / MiniHack
  (``horizontal wall``, ``stairs down``, generic object names, menus without blank rows, the
  game-over screen as the last message); Crafter lists every tile type, keeps BALROG's sleeping
  line and blank lines, and starts after BALROG's no-op step.
"""

from __future__ import annotations

TEXT_FORMAT_VERSION = 2
