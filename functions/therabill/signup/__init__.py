"""Sign-up: a practice and its first owner, created exactly once per email however often retried."""
