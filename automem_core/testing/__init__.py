"""What tests and benchmarks stand on, built from the real parts: a small fake game behind the
real game interface with its scripted player, a scripted client, a local OpenAI-compatible
server, and sample stores played through the real runner. Nothing here is needed to run AutoMem.
"""
