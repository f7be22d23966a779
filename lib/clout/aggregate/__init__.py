"""Daily aggregates: who acted on whom, how, on which topic, per day."""
