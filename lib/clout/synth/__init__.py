"""Synthetic landing data with a planted ground truth (demo, tests, benchmarks)."""
