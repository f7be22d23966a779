"""The decayed window as state: kept in Delta, updated each day instead of re-read over 90 daily partitions.

What. For each algorithm version and snapshot day D the window of ``daily_interactions`` (per network, topic, actor
and target: ``window_pairs``) and of ``daily_posts`` (per person and network: ``window_posts``) is summed once into
state rows: the raw count in the window (``actions`` / ``posts``), the decayed sums (``reactions`` and
``effort_raw``; ``decayed_posts``) and the latest day. Graph, score, topics, explanations and the unscored count read
these rows (``pairs`` / ``posts``), so their windows stay identical, as when each filtered the daily tables itself.

How. state(D) = state(S) x 0.5 ** ((D - S) / half-life) + the days after S as they were when state(S) was built
(a backfill finds them there) + what changed in the source since, each decayed to D, less the days that left the
window. S is the latest earlier state of the version (the
day before, in a daily run); the changes are the source's Delta change data feed between the version state(S)
recorded and now (``delta.enableChangeDataFeed``). The feed holds the new day, late events (a re-aggregated day
is a delete of its old rows and an insert of its new ones) and erasures, so nothing needs to know which days
moved. A key whose count reaches 0 is gone. A key that lost the rows of its latest day without getting rows back
on that day (an erasure, a relinked account) has its latest day recomputed from the window, for those keys alone.

When there is no earlier state within the window, the feed is not on yet, or it cannot be read (vacuumed), the
state is computed in full from the window: the same rows, to the last bits of the decay (``tests/test_window_state``
checks the two agree to 1e-9 after days with late events). The state of D keeps ``source_version``, the source's
Delta version it was built from; the last ``KEPT_STATES`` states of a version are kept (a rerun of D starts from D - 1).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clout import commits
from clout.aggregate.stage import ALL_TOPICS
from clout.config import Algorithm
from clout.exact import exact_sum
from clout.sqltext import date_literal, string_literal
from clout.tables import DAILY_INTERACTIONS, POSTS_DAILY, WINDOW_PAIRS, WINDOW_POSTS, TableSpec, TableStore
from clout.window import decay, in_window, window_start

log = logging.getLogger(__name__)

KEPT_STATES = 3  # states of a version kept: D and the two before it (a rerun of D, or of D - 1, starts from an earlier one)
CHANGE_FEED = "delta.enableChangeDataFeed"
RESCAN = "latest_unknown"
# Whether a state table at one Delta version holds the state of (algorithm version, day): asked by every reader (about
# 8 per snapshot), each time a Spark job of its own. A table version's contents never change, so the answer is kept per
# (Delta table id, table version, algorithm version, day) and the readers read that version. (Not recorded by the update
# after its commit: another process's commit could come between, and its version is not the one asked about.)
_BUILT: dict[tuple[str, int, str, dt.date], bool] = {}


@dataclass(frozen=True)
class WindowKind:
    """One decayed window kept as state over one daily table."""

    name: str  # "pairs" | "posts": the metric names
    source: TableSpec
    state: TableSpec
    keys: tuple[str, ...]
    count: tuple[str, str]  # (state column, source column): the raw count in the window; a key at 0 is gone
    sums: tuple[tuple[str, str], ...]  # (state column, source column): decayed sums
    per_version: bool  # the source's rows belong to one algorithm version (``algorithm_version`` column)

    def in_scope(self, algorithm: Algorithm) -> Column:
        """The source rows the window holds (of any day)."""
        if not self.per_version:
            return F.lit(True)
        this_version = F.col("algorithm_version") == F.lit(algorithm.version)
        takes_effort = F.col("effort") > 0  # vote_down, follow: no reaction to build on
        return this_version & takes_effort


PAIRS = WindowKind(
    "pairs", DAILY_INTERACTIONS, WINDOW_PAIRS, ("network", "topic", "actor_person", "target_person"),
    ("actions", "actions"), (("reactions", "actions"), ("effort_raw", "effort")), per_version=True,
)  # fmt: skip
POSTS = WindowKind("posts", POSTS_DAILY, WINDOW_POSTS, ("person_id", "network"), ("posts", "posts"), (("decayed_posts", "posts"),), per_version=False)
KINDS = (PAIRS, POSTS)


def this_state(algorithm: Algorithm, state_date: dt.date) -> Column:
    return (F.col("algorithm_version") == F.lit(algorithm.version)) & (F.col("state_date") == F.lit(state_date))


def _from_rows(kind: WindowKind, rows: DataFrame, state_date: dt.date, algorithm: Algorithm) -> DataFrame:
    """State rows (without the snapshot columns) from source rows of the window: exact sums, decayed to ``state_date``."""
    d = decay(F.col("event_date"), state_date, algorithm.window.half_life_days)
    count, source_count = kind.count
    return rows.groupBy(*kind.keys).agg(
        F.max("event_date").alias("last_date"),
        F.sum(source_count).alias(count),
        *[exact_sum(F.col(source) * d).alias(column) for column, source in kind.sums],
    )


def full(store: TableStore, kind: WindowKind, algorithm: Algorithm, state_date: dt.date, source_version: int | None = None) -> DataFrame:
    """The state computed from every source row of the window (what the incremental update must equal)."""
    return of_rows(kind, store.read(kind.source, source_version), algorithm, state_date)


def of_rows(kind: WindowKind, source: DataFrame, algorithm: Algorithm, state_date: dt.date) -> DataFrame:
    """The state of ``state_date`` from rows of the source table given (all of its days: the window is taken here)."""
    window = in_window(F.col("event_date"), state_date, algorithm.window.days)
    return _from_rows(kind, source.where(window & kind.in_scope(algorithm)), state_date, algorithm)


def _changes(store: TableStore, kind: WindowKind, algorithm: Algorithm, since: int, until: int, first: dt.date, last: dt.date) -> DataFrame:
    """Source rows changed in versions (since, until] with event_date in [first, last], signed: +1 inserted, -1 removed."""
    feed = (
        store.spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", since + 1)
        .option("endingVersion", until)
        .load(store.path(kind.source))
    )
    removed = F.col("_change_type").isin("delete", "update_preimage")
    days = (F.col("event_date") >= F.lit(first)) & (F.col("event_date") <= F.lit(last))
    sign = F.when(removed, F.lit(-1)).otherwise(F.lit(1)).alias("sign")
    return feed.where(days & kind.in_scope(algorithm)).select(*kind.keys, "event_date", *_sources(kind), sign)


def _sources(kind: WindowKind) -> list[str]:
    return sorted({kind.count[1], *(source for _, source in kind.sums)})


def _delta(kind: WindowKind, moves: DataFrame, state_date: dt.date, base_date: dt.date, window_first: dt.date, algorithm: Algorithm) -> DataFrame:
    """Per key: what the signed source rows add to the state of ``state_date`` (count, decayed sums), the latest day
    inside the window that has rows after them, and the base's days whose rows they removed without inserting any back.

    A day after ``base_date`` has rows when its signed count is above 0 (what entered plus every change: the whole
    day). A day of the base's window has rows after the moves when something was inserted on it (a day is rewritten
    whole); when its rows were removed and none inserted, it is emptied (for the base's latest day: recomputed)."""
    d = decay(F.col("event_date"), state_date, algorithm.window.half_life_days)
    count, source_count = kind.count
    inserted, removed = F.col("sign") > 0, F.col("sign") < 0
    per_day = moves.groupBy(*kind.keys, "event_date").agg(
        F.sum(F.col("sign") * F.col(source_count)).alias(count),
        *[exact_sum(F.col("sign") * F.col(source) * d).alias(column) for column, source in kind.sums],
        F.max(inserted.cast("int")).alias("any_inserted"),
        F.max(removed.cast("int")).alias("any_removed"),
    )
    inside = F.col("event_date") >= F.lit(window_first)
    new_day = F.col("event_date") > F.lit(base_date)
    has_rows = F.when(new_day, F.col(count) > 0).otherwise(F.col("any_inserted") == 1)
    emptied = ~new_day & (F.col("any_removed") == 1) & (F.col("any_inserted") == 0)
    return per_day.groupBy(*kind.keys).agg(
        F.sum(count).alias(f"d_{count}"),
        *[exact_sum(column).alias(f"d_{column}") for column, _ in kind.sums],
        F.max(F.when(has_rows & inside, F.col("event_date"))).alias("inserted_last"),
        F.collect_set(F.when(emptied, F.col("event_date"))).alias("emptied_days"),
    )


def incremental(
    store: TableStore, kind: WindowKind, algorithm: Algorithm, state_date: dt.date, base_date: dt.date, base_version: int, source_version: int
) -> DataFrame:
    """The state rows of ``state_date`` from the state of ``base_date`` built at ``base_version``; a row whose ``RESCAN``
    is true lost its latest day and has to be recomputed from the window."""
    days, half_life = algorithm.window.days, algorithm.window.half_life_days
    old_first, new_first = window_start(base_date, days), window_start(state_date, days)
    aging = 0.5 ** ((state_date - base_date).days / half_life)
    # the days after the base's that enter the window, as they were when the base was built (a backfill finds them
    # already there; a daily run finds none: its day came after), then every change since, then the days that left
    entering = store.read(kind.source, base_version).where(
        (F.col("event_date") > F.lit(base_date)) & (F.col("event_date") <= F.lit(state_date)) & kind.in_scope(algorithm)
    )
    moves = entering.select(*kind.keys, "event_date", *_sources(kind), F.lit(1).alias("sign"))
    if source_version > base_version:
        moves = moves.unionByName(_changes(store, kind, algorithm, base_version, source_version, old_first, state_date))
    if new_first > old_first:  # the days that left the window, as the state holds them after the changes: now
        left = store.read(kind.source, source_version).where(
            (F.col("event_date") >= F.lit(old_first)) & (F.col("event_date") < F.lit(new_first)) & kind.in_scope(algorithm)
        )
        left = left.select(*kind.keys, "event_date", *_sources(kind), F.lit(-1).alias("sign"))
        moves = moves.unionByName(left)
    count = kind.count[0]
    base = store.read(kind.state).where(this_state(algorithm, base_date)).select(*kind.keys, "last_date", count, *[c for c, _ in kind.sums])
    delta = _delta(kind, moves, state_date, base_date, new_first, algorithm)
    joined = base.join(delta, on=list(kind.keys), how="full_outer")
    lost_latest = F.coalesce(F.array_contains(F.col("emptied_days"), F.col("last_date")), F.lit(False))
    kept_latest = F.when((F.col("last_date") >= F.lit(new_first)) & ~lost_latest, F.col("last_date"))
    superseded = F.coalesce(F.col("inserted_last") >= F.col("last_date"), F.lit(False))  # a later day came in: it is the latest
    new_count = F.coalesce(F.col(count), F.lit(0)) + F.coalesce(F.col(f"d_{count}"), F.lit(0))
    updated = joined.select(
        *kind.keys,
        F.greatest(kept_latest, F.col("inserted_last")).alias("last_date"),
        new_count.alias(count),
        *[(F.coalesce(F.col(c) * F.lit(aging), F.lit(0.0)) + F.coalesce(F.col(f"d_{c}"), F.lit(0.0))).alias(c) for c, _ in kind.sums],
        (lost_latest & ~superseded).alias("lost_latest"),
    )
    still_in_window = F.col(count) > 0  # an erased key (its state rows already gone) ends below 0: gone too
    latest_unknown = F.col("lost_latest") | F.col("last_date").isNull()
    return updated.where(still_in_window).select(*kind.keys, "last_date", count, *[c for c, _ in kind.sums], latest_unknown.alias(RESCAN))


def _ensure_change_feed(store: TableStore, spec: TableSpec) -> bool:
    """Turn the change data feed on for ``spec`` if it is off; True when it was already on (the feed covers the past)."""
    store.ensure(spec)
    if store.properties(spec).get(CHANGE_FEED) == "true":
        return True
    # a lakehouse made before the state: from this commit on the feed records changes (this day is built in full)
    alter = f"ALTER TABLE delta.`{store.path(spec)}` SET TBLPROPERTIES ('{CHANGE_FEED}' = 'true')"
    commits.with_retry(spec.name, lambda: store.spark.sql(alter))
    return False


def _base(store: TableStore, kind: WindowKind, algorithm: Algorithm, state_date: dt.date) -> tuple[dt.date, int] | None:
    """The latest state of the version before ``state_date`` still inside the window, with its source version."""
    if not store.exists(kind.state):
        return None
    earliest = window_start(state_date, algorithm.window.days)
    this_version = F.col("algorithm_version") == F.lit(algorithm.version)
    before = (F.col("state_date") < F.lit(state_date)) & (F.col("state_date") >= F.lit(earliest))
    states = store.read(kind.state).where(this_version & before).groupBy("state_date").agg(F.max("source_version").alias("v"))
    found = states.orderBy(F.desc("state_date")).first()  # one row per kept state: a handful
    return None if found is None else (found.state_date, int(found.v))


def update(store: TableStore, algorithm: Algorithm, state_date: dt.date) -> dict[str, float]:
    """Build the window state of ``state_date`` for every kind; metrics say how (1 = incremental) and how big."""
    started = time.monotonic()
    metrics: dict[str, float] = {}
    for kind in KINDS:
        metrics |= _update(store, kind, algorithm, state_date)
    metrics["window_seconds"] = round(time.monotonic() - started, 3)  # inside the score stage's seconds
    return metrics


def _update(store: TableStore, kind: WindowKind, algorithm: Algorithm, state_date: dt.date) -> dict[str, float]:
    feed_was_on = _ensure_change_feed(store, kind.source)
    source_version = store.version(kind.source)  # everything below reads the source at this version
    base = _base(store, kind, algorithm, state_date) if feed_was_on else None
    updated, rescanned = None, 0
    if base is not None:
        try:
            updated = incremental(store, kind, algorithm, state_date, base[0], base[1], source_version).cache()
            state_rows = updated.count()  # reads the feed now: a feed that cannot be read (vacuumed files) falls back to the full window
            rescanned = updated.where(F.col(RESCAN)).count()
        except Exception as err:
            log.warning("%s window of %s: incremental update failed, computing the full window: %s", kind.name, state_date, str(err).splitlines()[0])
            updated = None
    if updated is not None:
        rows = updated.where(~F.col(RESCAN)).drop(RESCAN)
        if rescanned:  # the few keys that lost their latest day, from the window (one row each, as before)
            lost = updated.where(F.col(RESCAN)).select(*kind.keys)
            their_rows = store.read(kind.source, source_version).join(F.broadcast(lost), on=list(kind.keys), how="left_semi")
            rows = rows.unionByName(of_rows(kind, their_rows, algorithm, state_date))
    else:
        rows = full(store, kind, algorithm, state_date, source_version).cache()
        state_rows = rows.count()
    oldest_kept = state_date - dt.timedelta(days=KEPT_STATES - 1)
    snapshot = (F.lit(state_date).alias("state_date"), F.lit(algorithm.version).alias("algorithm_version"))
    out = rows.select(*snapshot, "*", F.lit(source_version).cast("long").alias("source_version"))
    # one commit writes the state of D and drops the version's states older than the kept ones
    replaced = f"state_date = {date_literal(state_date)} OR state_date < {date_literal(oldest_kept)}"
    store.replace_partitions(kind.state, out, f"algorithm_version = {string_literal(algorithm.version)} AND ({replaced})")
    (rows if updated is None else updated).unpersist()
    incremental_used = updated is not None
    return {
        f"window_{kind.name}_incremental": 1.0 if incremental_used else 0.0,
        f"window_{kind.name}_rows": float(state_rows),
        f"window_{kind.name}_rescanned": float(rescanned),
    }


def _read(store: TableStore, kind: WindowKind, algorithm: Algorithm, state_date: dt.date) -> DataFrame:
    """The state of ``state_date`` (without the snapshot columns) when it was built, else the same rows from the window."""
    table = store.snapshot_id(kind.state)
    if table is not None:
        built = store.read(kind.state, table[1]).where(this_state(algorithm, state_date))
        key = (*table, algorithm.version, state_date)
        if key not in _BUILT:
            _BUILT[key] = built.limit(1).count() > 0
        if _BUILT[key]:
            return built.drop("state_date", "algorithm_version", "source_version")
    return full(store, kind, algorithm, state_date)


def _topics(topics: bool) -> Column:
    return (F.col("topic") != F.lit(ALL_TOPICS)) if topics else (F.col("topic") == F.lit(ALL_TOPICS))


def pairs(store: TableStore, algorithm: Algorithm, state_date: dt.date, topics: bool = False) -> DataFrame:
    """Window pairs: (network, topic, actor_person, target_person, last_date, actions, reactions, effort_raw); topic
    '_all' only, or with ``topics`` every real topic."""
    return _read(store, PAIRS, algorithm, state_date).where(_topics(topics))


def pairs_of(daily: DataFrame, algorithm: Algorithm, state_date: dt.date, topics: bool = False) -> DataFrame:
    """``pairs`` computed from the ``daily_interactions`` rows given (tests, and readers of a DataFrame not a table)."""
    return of_rows(PAIRS, daily, algorithm, state_date).where(_topics(topics))


def posts(store: TableStore, algorithm: Algorithm, state_date: dt.date) -> DataFrame:
    """Window posts: (person_id, network, last_date, posts, decayed_posts)."""
    return _read(store, POSTS, algorithm, state_date)
