"""Therabill benchmarks: cold import time per Lambda entry module, and requests per operation.

Run with ``make bench`` (``uv run python -m bench``); ``--help`` lists the options. Nothing here is
imported by the runtime package; this package imports nothing at import time so that the baseline
handler (``bench.baseline_handler``) pays only for what it names.
"""
