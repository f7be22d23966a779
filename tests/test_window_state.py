"""The window state (clout.window_state) updated day by day equals the window recomputed in full.

Hand-written daily aggregates over 10 days with a 6-day window, written as the aggregate stage writes them (one
partition replaced per day): new days, a day already there before the state of the day before it was built (as a
backfill finds them), late events that re-aggregate earlier days, a relinked account that takes a pair's latest day
away, an erasure, and a skipped day. After every update the state must equal the full
recomputation of the same window to 1e-9, key for key.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from pyspark.sql import functions as F

from checksums import checksum
from clout import erasure, window_state
from clout.config import load_algorithm
from clout.sqltext import date_literal, string_literal
from clout.tables import DAILY_INTERACTIONS, POSTS_DAILY, WINDOW_PAIRS, WINDOW_POSTS, TableStore
from conftest import settings_for, v1_edited_into

START = dt.date(2026, 3, 1)
DAYS = [START + dt.timedelta(days=i) for i in range(10)]
PERSONS = [f"twitter:{i}" for i in range(40)]
ACTIONS = {"like": 1.0, "reply": 4.0, "retweet": 3.0}


def day_rows(day: dt.date, seed: int, extra: int = 0, gone: set[str] = frozenset()) -> tuple[list[tuple], list[tuple]]:
    """A day's aggregate rows (interactions, posts), drawn from ``seed``; ``extra`` more reactions (late events);
    nothing of the persons ``gone``."""
    rng = random.Random(seed)
    counts: dict[tuple, int] = {}
    for _ in range(120 + extra):
        actor, target = rng.sample(PERSONS, 2)
        action = rng.choice(sorted(ACTIONS))
        topic = rng.choice(["physics", "music", None])
        for t in ["_all"] + ([topic] if topic else []):
            key = ("twitter", actor, target, action, t)
            counts[key] = counts.get(key, 0) + 1
    if day <= DAYS[4]:  # a pair whose latest day will be relinked away (test below)
        counts[("twitter", "twitter:0", "twitter:1", "like", "_all")] = 1 + counts.get(("twitter", "twitter:0", "twitter:1", "like", "_all"), 0)
    interactions = [(day, *k, n, n * ACTIONS[k[3]], "v1") for k, n in sorted(counts.items()) if not {k[1], k[2]} & gone]
    posts = [(day, "twitter", p, rng.randint(1, 4)) for p in rng.sample(PERSONS, 15) if p not in gone]
    return interactions, posts


def write_day(store: TableStore, day: dt.date, interactions: list[tuple], posts: list[tuple]) -> None:
    """Replace the day's partitions, as clout.aggregate.stage.build_day does."""
    spark = store.spark
    condition = f"event_date = {date_literal(day)} AND algorithm_version = {string_literal('v1')}"
    store.replace_partitions(DAILY_INTERACTIONS, spark.createDataFrame(interactions, DAILY_INTERACTIONS.schema), condition)
    store.replace_partitions(POSTS_DAILY, spark.createDataFrame(posts, POSTS_DAILY.schema), f"event_date = {date_literal(day)}")


def assert_equals_full(store: TableStore, algorithm, day: dt.date) -> None:
    for kind in window_state.KINDS:
        state = store.read(kind.state).where(window_state.this_state(algorithm, day)).drop("state_date", "algorithm_version", "source_version")
        full = window_state.full(store, kind, algorithm, day)
        count, sums = kind.count[0], [c for c, _ in kind.sums]
        pairs = state.alias("s").join(full.alias("f"), on=list(kind.keys), how="full_outer")
        checks = pairs.agg(
            F.count(F.lit(1)).alias("keys"),
            F.count(F.when(F.col(f"s.{count}").isNull() | F.col(f"f.{count}").isNull(), F.lit(1))).alias("unmatched"),
            F.count(F.when(F.col(f"s.{count}") != F.col(f"f.{count}"), F.lit(1))).alias("count_differs"),
            F.count(F.when(F.col("s.last_date") != F.col("f.last_date"), F.lit(1))).alias("latest_differs"),
            F.greatest(*[F.max(F.abs(F.col(f"s.{c}") - F.col(f"f.{c}"))) for c in sums], F.lit(0.0)).alias("max_diff"),
        ).first()
        assert checks.keys > 0, f"{kind.name} of {day}: an empty window tests nothing"
        assert (checks.unmatched, checks.count_differs, checks.latest_differs) == (0, 0, 0), f"{kind.name} of {day}: {checks}"
        assert checks.max_diff <= 1e-9, f"{kind.name} of {day}: decayed sums differ by {checks.max_diff}"


@pytest.fixture(scope="module")
def lake(spark, test_root):
    folder = v1_edited_into(test_root / "window-state-algo", {"  days: 90\n": "  days: 6\n", "half_life_days: 21": "half_life_days: 3"})
    settings = settings_for(test_root, "window-state", [f"algorithm.dir={folder}"])
    return TableStore(spark, settings), load_algorithm(settings, "v1")


def test_incremental_state_equals_the_full_window_after_late_events_relinks_erasure_and_a_gap(lake):
    store, algorithm = lake
    assert algorithm.window.days == 6 and algorithm.window.half_life_days == 3
    written: dict[dt.date, tuple[list, list]] = {}
    modes, rescanned, seconds, gone = [], 0, [], set()
    for i, day in enumerate(DAYS):
        if day not in written:
            written[day] = day_rows(day, seed=i, gone=gone)
            write_day(store, day, *written[day])
        if i == 0:  # the next day is there before this one's state is built, as in a backfill: it enters the window later
            written[DAYS[1]] = day_rows(DAYS[1], seed=1, gone=gone)
            write_day(store, DAYS[1], *written[DAYS[1]])
        if i in (3, 6):  # late events: a day inside the window is aggregated again with more reactions
            late = DAYS[i - 2]
            written[late] = day_rows(late, seed=i - 2, extra=30, gone=gone)
            write_day(store, late, *written[late])
        if i == 5:  # account 0 of the day before relinked to person 99: pair (0 -> 1) loses its latest day, DAYS[4]
            moved = DAYS[4]
            interactions, posts = written[moved]
            written[moved] = ([(d, n, "twitter:99" if a == "twitter:0" else a, *rest) for d, n, a, *rest in interactions], posts)
            write_day(store, moved, *written[moved])
        if i == 7:  # an erasure takes the person out of the aggregates and of the state at once
            erasure.forget(store.spark, store.settings, "twitter:7")
            named = (F.col("actor_person") == "twitter:7") | (F.col("target_person") == "twitter:7")
            assert store.read(WINDOW_PAIRS).where(named).count() == 0
            assert store.read(WINDOW_POSTS).where(F.col("person_id") == "twitter:7").count() == 0
            gone.add("twitter:7")  # ingest's suppression list keeps the person out of later days
        if i == 8:
            continue  # a skipped day: the next update ages the state by two days and drops two days
        metrics = window_state.update(store, algorithm, day)
        modes.append(metrics["window_pairs_incremental"] + metrics["window_posts_incremental"])
        rescanned += int(metrics["window_pairs_rescanned"])
        seconds.append(metrics["window_seconds"])
        assert_equals_full(store, algorithm, day)
    # the first day is built in full, every later one from the state before it (the erasure vacuums the
    # removed files with the table's own retention, so the feed stays readable)
    assert modes[0] == 0 and all(m == 2 for m in modes[1:]), modes
    assert rescanned > 0  # the relinked pair's latest day was taken away: that pair was recomputed from the window
    print(f"\nwindow state updates: {', '.join(f'{s:.1f}' for s in seconds)} s")
    kept = sorted(r.state_date for r in store.read(WINDOW_PAIRS).select("state_date").distinct().collect())
    assert kept == [DAYS[7], DAYS[9]], kept  # the states of the last three days only (the 9th was skipped)


def test_a_rerun_of_a_day_gives_the_same_bits_and_window_reactions_read_the_state(lake):
    store, algorithm = lake
    day = DAYS[-1]

    def state_checksum(spec):
        return checksum(store.read(spec).where(window_state.this_state(algorithm, day)).drop("source_version"))

    before = {spec.name: state_checksum(spec) for spec in (WINDOW_PAIRS, WINDOW_POSTS)}
    write_day(store, day, *day_rows(day, seed=len(DAYS) - 1, gone={"twitter:7"}))  # the same day aggregated again, as a rerun does
    metrics = window_state.update(store, algorithm, day)
    assert metrics["window_pairs_incremental"] == 1.0
    assert {spec.name: state_checksum(spec) for spec in (WINDOW_PAIRS, WINDOW_POSTS)} == before
    topical = window_state.pairs(store, algorithm, day, topics=True)
    assert {r.topic for r in topical.select("topic").distinct().collect()} == {"physics", "music"}
