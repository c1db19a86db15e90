"""AutoMem engine: games, file memory, LOG/PLAN agent, Parquet logs and the improvement loops."""

__version__ = "0.1.0"
