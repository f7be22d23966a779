"""Bots: behaviour and profile features -> classifiers + rules -> ``account_risk`` (engagement rings need GraphFrames)."""
