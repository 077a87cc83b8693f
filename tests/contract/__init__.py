"""Contract tests: each fake against the real thing it stands in for."""
