"""Loop 2, part 1: memory decisions mined from runs (``mine``), labelled by people and an
optional LLM judge (``labels``, ``judge``), and other answers to their prompts (``resample``)."""
