"""Runs: configuration (named seed sets), the plan, the run's record, and the executors that play
its episodes. ``runner.run(cfg)`` ties them together."""
