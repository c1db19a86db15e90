"""Loop 1's reviewer: read-only tools over the store (``tools``, on the confined SQL of ``sql``)
and the function-calling loop that lets a model use them (``tool_loop``)."""
