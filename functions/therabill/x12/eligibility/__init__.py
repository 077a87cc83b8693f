"""Eligibility: the 270 inquiry (005010X279A1) built from a typed inquiry, and the 271 response
read into typed benefits."""
