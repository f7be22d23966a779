"""Bot strategies of the generator and the held-out-strategy evaluation of the behaviour model (issue 13, item 3).

Cheap on purpose: the signatures are read from ``canonical_actions`` of one tiny day (nothing written), and the
held-out evaluation runs on one tiny training-day template generated once per strategy, with a small forest.
"""

import datetime as dt
from collections import Counter, defaultdict

import pytest
from pyspark.sql import functions as F

from clout.bots.training import held_out_strategies
from clout.config import BOT_STRATEGIES, ConfigError, load_settings
from clout.ingest.adapters import load_adapter
from clout.synth.generator import AMPLIFYING, BURST_SECONDS, BURSTS, CLIENTS, SynthSpec, canonical_actions, n_bots, persons_truth
from conftest import settings_for, with_bot_models

NETWORKS = ("twitter", "reddit", "instagram")
SPEC = SynthSpec(
    day=dt.date(2026, 11, 20), events=12_000, persons=400, bot_permille=75, bot_event_share=0.15, seed=23, networks=NETWORKS, bot_strategies=BOT_STRATEGIES
)
FIRST_BOT = SPEC.n_persons - n_bots(SPEC)


@pytest.fixture(scope="module")
def bot_actions(spark, settings):
    """The tiny day's bot actions (about 1,800 rows) by strategy, read once: the checks below are plain Python."""
    synth = {n: load_adapter(settings.networks[n].adapter).SYNTH_ACTIONS for n in NETWORKS}
    truth = persons_truth(spark, SPEC).where("is_bot").select(F.col("person_idx").alias("actor_idx"), "bot_strategy")
    rows = canonical_actions(spark, SPEC, synth).join(truth, on="actor_idx", how="inner").collect()
    by_strategy = defaultdict(list)
    for r in rows:
        by_strategy[r.bot_strategy].append(r)
    return by_strategy


def test_bots_are_split_among_the_strategies_by_id(spark, bot_actions):
    assert n_bots(SPEC) == 30
    bots = {r.person_idx: r.bot_strategy for r in persons_truth(spark, SPEC).where(F.col("bot_strategy").isNotNull() | F.col("is_bot")).collect()}
    assert bots == {FIRST_BOT + i: BOT_STRATEGIES[i % 3] for i in range(30)}
    assert {s: len({r.actor_idx for r in rows}) for s, rows in bot_actions.items()} == dict.fromkeys(BOT_STRATEGIES, 10)


def _gaps(rows) -> list[int]:
    times = defaultdict(list)
    for r in rows:
        times[r.actor_idx].append(int(r.event_time.timestamp()))
    return [b - a for ts in times.values() for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False)]


def test_timer_bots_act_on_whole_five_minute_gaps(bot_actions):
    gaps = _gaps(bot_actions["timer"])
    assert len(gaps) > 500 and all(g % 300 == 0 for g in gaps)


def test_imitators_amplify_a_few_clients_on_a_persons_clock(bot_actions):
    imitators = bot_actions["imitator"]
    targets = Counter(r.target_idx for r in imitators if r.target_idx is not None)
    assert sum(n for _, n in targets.most_common(CLIENTS)) / sum(targets.values()) > 0.75  # a handful of accounts get most
    assert len(targets) > CLIENTS  # ... and the rest aims like a person, as cover
    # a person's clock, not a timer: every hour of the day, hardly any gap a whole 5-minute multiple
    assert {r.event_time.hour for r in imitators} == set(range(24))
    gaps = _gaps(imitators)
    assert sum(g % 300 == 0 for g in gaps) < 0.05 * len(gaps)
    # the same action mix as people: posts as well as reactions
    assert {r.action for r in imitators} >= {"post", "like", "comment", "vote_up"}


def test_burst_bots_act_together_in_a_few_windows_on_the_same_posts(bot_actions):
    burst = bot_actions["burst"]
    assert {r.action for r in burst} <= set(AMPLIFYING)
    assert len({r.event_time.replace(second=0) for r in burst}) <= BURSTS * (BURST_SECONDS // 60 + 1)
    assert len({r.target_idx for r in burst}) <= min(BURSTS, CLIENTS) and all(r.target_idx < FIRST_BOT for r in burst)
    # coordinated: several burst bots hit each of the first posts of a burst, and no bot hits one post twice
    # (a second like of one post by one account would be a duplicate event)
    per_post = Counter((r.network, r.target_content_native) for r in burst)
    bots_per_post = Counter((r.network, r.target_content_native) for r in {(r.network, r.target_content_native, r.actor_idx): r for r in burst}.values())
    assert per_post == bots_per_post
    assert max(bots_per_post.values()) >= 5


def test_strategy_names_are_checked():
    day = "{date: 2026-01-05, events: 10, persons: 5, bot_permille: 5, bot_event_share: 0.1, seed: 1, bot_strategies: %s}"
    with pytest.raises(ConfigError, match=r"bots\.training\.days\.0\.bot_strategies\.1: Input should be 'timer', 'imitator' or 'burst'"):
        load_settings("local", [f"bots.training.days=[{day % '[timer, imitater]'}]"])
    with pytest.raises(ConfigError, match="names a strategy twice"):
        load_settings("local", [f"bots.training.days=[{day % '[burst, burst]'}]"])
    assert load_settings("local").bots.training.days[0].bot_strategies == ["timer"]
    with pytest.raises(ValueError, match="bot_strategies"):
        SynthSpec(day=SPEC.day, events=10, bot_strategies=("timer", "farm"))


def test_held_out_strategy_evaluation_never_trains_on_the_held_out_bots(spark, test_root):
    # one tiny day shape on one network and a tiny forest: the subject is which rows train and which test, not the figures
    # (bench/bots_strategies.py measures those); the MLflow store is the session's shared one (created once)
    settings = settings_for(
        test_root,
        "bot-strategies",
        [
            *with_bot_models(test_root, "bot-strategies"),
            "bots.training.days=[{date: 2026-11-02, events: 6000, persons: 300, bot_permille: 80, bot_event_share: 0.08, seed: 5}]",
            "bots.training.networks=[twitter]",
            "bots.classifier.folds=2",
            "bots.classifier.num_trees=5",
            "bots.classifier.max_depth=4",
        ],
    )
    # the two new strategies only (the timer is the default of every other bots test): 2 days and 2 held-out fits, not 3
    strategies = ("imitator", "burst")
    report = held_out_strategies(spark, settings, strategies)
    assert set(report.held_out) == set(strategies)
    all_days = {d for h in report.held_out.values() for d in h.test_days}
    assert len(all_days) == len(strategies)  # one generated day per strategy
    for s, h in report.held_out.items():
        others = sorted(set(strategies) - {s})
        # read from the rows themselves: the training rows' bots all use the other strategies, the test rows' bots only s
        assert h.train_bot_strategies == others and h.test_bot_strategies == [s]
        assert set(h.train_days) == all_days - set(h.test_days)
        assert h.rows["test_bots"] == 24 == h.rows["train_bots"]  # every bot of every day, on its one network
        for figures in (h.held_out, h.seen):
            assert set(figures) == {"auc", "precision", "recall", "f1"}
            assert all(0.0 <= v <= 1.0 for v in figures.values())
    assert report.all_strategies.rows["test_bots"] > 0
    table = report.table()
    assert all(f"{s}: held out" in table for s in strategies) and "all strategies, held-out rows" in table
    with pytest.raises(ValueError, match="two or more"):
        held_out_strategies(spark, settings, ("burst",))
