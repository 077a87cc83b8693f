"""Test doubles that stand in for external services (each has a contract test in tests/contract/)."""
