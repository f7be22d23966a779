"""Scores: reach + amplification + authority -> 1..100."""
