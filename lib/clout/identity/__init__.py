"""Identity: network accounts -> persons, from explicit link records."""
