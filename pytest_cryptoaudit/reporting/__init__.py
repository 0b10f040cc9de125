"""Reporters turn the results of a run into evidence: terminal, JSON and the formats built on it."""
