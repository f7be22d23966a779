"""Explanations: why each score is what it is."""
