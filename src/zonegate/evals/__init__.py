"""Evaluation: versioned suites, scorers, runs through the gateway, statistics, gates, drift."""
