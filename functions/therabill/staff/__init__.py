"""Staff: the people of a practice, their roles, invitations and the per-request check."""
