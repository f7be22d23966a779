"""Ingest: landing files in each network's native format -> one event schema -> ``events`` + ``quarantine``."""
