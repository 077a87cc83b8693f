"""The nightly run (issue 5): decisions in models.py (pure), I/O in service.py."""
