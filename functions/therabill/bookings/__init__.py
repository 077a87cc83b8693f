"""Paying at booking: deposit / prepayment / card-on-file rules and slot holds."""
