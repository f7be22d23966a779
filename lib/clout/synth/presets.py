"""Conf overrides for small generated set-ups, shared by the tests and the benches (kept in one place).

``SMALL_BOT_TRAINING``: the bot models trained on two small generated days (20,000 events each, three networks)
with a small forest, instead of conf's training days: minutes instead of a quarter of an hour on two cores, for
runs whose subject is not the bot model (the daily-run tests, bench/daily_scale.py).
"""

SMALL_BOT_TRAINING = [
    "bots.training.days=[{date: 2026-11-02, events: 20000, persons: 250, bot_permille: 40, bot_event_share: 0.04, seed: 101},"
    " {date: 2026-11-03, events: 20000, persons: 800, bot_permille: 15, bot_event_share: 0.04, seed: 102}]",
    "bots.training.networks=[twitter, mastodon, instagram]",
    "bots.classifier.folds=3",
    "bots.classifier.num_trees=40",
]
