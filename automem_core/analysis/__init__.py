"""Analysis over the store, shared by the CLI, the dashboard and both loops: progression
summaries (``summary``), runs and episodes as tables (``runs``), diagnostics in DuckDB SQL
(``diagnostics``), one episode's steps, turns, memory and line provenance (``episode``), and the
CLI's text reports (``reports``)."""
