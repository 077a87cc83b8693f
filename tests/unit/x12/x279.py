"""The 270 layout check lives in the product now (the sandbox clearinghouse validates with it)."""

from therabill.x12.eligibility.layout import check_270

__all__ = ["check_270"]
