"""Therabill infrastructure (AWS CDK, Python): one stack composed of one construct per concern."""
