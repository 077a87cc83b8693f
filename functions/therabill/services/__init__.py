"""Service types (CPT code, modifiers, how a session is priced) and client pricing rules."""
