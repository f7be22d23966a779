"""The published score over time: the bounded daily move, and the deltas.

published(D) = clamp(calibrated(D), prev - allowed, prev + allowed), where ``prev`` is the person's published score
on the previous snapshot of the *same* algorithm version (the latest one before D: D-1 on a daily run) and
``allowed`` = ``score.max_daily_move`` x the days since that snapshot. Why each rule:

- the bound: one good (or bad) day does not jump a score (product rule: typical daily moves are small); the
  calibrated score stays beside it (``calibrated_score``), so analysts see where the person is heading;
- new persons (no previous score) are exempt: there is nothing to move from, and holding a newcomer at some
  default would give them an arbitrary score for days;
- suppressed (risky) persons go straight to the floor: the bound must not protect a bot for days;
- a missing previous day widens the bound by the days missed (``max_daily_move`` a day) instead of dropping it: a
  gap in the snapshots must not let the whole population jump, and after a long gap scores catch up at once;
- a person in the previous snapshot whom nothing reaches in today's window (their last reaction left it, or all
  who reacted turned risky) is *carried forward* (clout.score.stage.carried_rows): flagged ``carried_forward``,
  zero parts, no calibrated score, and the floor as the target, so the score falls ``max_daily_move`` a day. Once
  at the floor they are not carried again: gone, from the floor, without a cliff. Without this, a quiet person
  would drift down for 90 days and then vanish the day their last reaction left the window.

Backfills: ``prev`` is read from the published scores of the version, so a backfill computing its range in date
order (clout.versions.backfill does) bounds each day by the day it has just published, exactly as daily runs do.
Recomputing a day does not recompute the days after it: their bound and deltas keep referring to what was
published when they ran (``clout backfill --force`` from that day on redoes them).

Deltas: ``delta_Nd`` = score(D) - score(D-N) of the same version, null when the person has no published score on
D-N (that day was not computed for the version, or the person was not in it).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clout.config import Algorithm
from clout.tables import SCORES, TableStore

DELTA_DAYS = (1, 7, 30)


def _this_version(algorithm_version: str) -> Column:
    return F.col("algorithm_version") == F.lit(algorithm_version)


def previous_snapshot(store: TableStore, algorithm_version: str, snapshot_date: dt.date) -> dt.date | None:
    """The latest published snapshot of the version before ``snapshot_date`` (one value, not per person)."""
    if not store.exists(SCORES):
        return None
    earlier = _this_version(algorithm_version) & (F.col("snapshot_date") < F.lit(snapshot_date))
    return store.read(SCORES).where(earlier).agg(F.max("snapshot_date")).first()[0]


def previous_scores(store: TableStore, algorithm_version: str, previous: dt.date | None) -> DataFrame:
    """(person_id, previous_date, previous_score) of the previous snapshot; empty when there is none."""
    if previous is None:
        return store.spark.createDataFrame([], "person_id string, previous_date date, previous_score int")
    this_snapshot = _this_version(algorithm_version) & (F.col("snapshot_date") == F.lit(previous))
    return store.read(SCORES).where(this_snapshot).select("person_id", F.lit(previous).alias("previous_date"), F.col("score").alias("previous_score"))


def allowed_move(algorithm: Algorithm, snapshot_date: dt.date, previous: dt.date | None) -> int:
    """Points a score may move since the previous snapshot: ``max_daily_move`` per day since it."""
    return algorithm.score.max_daily_move * (snapshot_date - previous).days if previous is not None else 0


# Named conditions of the bound, over rows with ``previous_score`` joined (functions: a Column needs a session)
def is_new() -> Column:
    """No published score on the previous snapshot: placed directly, exempt from the bound."""
    return F.col("previous_score").isNull()


def is_suppressed() -> Column:
    """Risky today: to the floor at once, whatever the previous score."""
    return F.col("suppressed")


def bounded_score(algorithm: Algorithm, allowed: int) -> Column:
    """The published score: the calibrated one (the floor for a carried row) clamped to ``allowed`` around the previous.

    First rule that holds wins: suppressed -> floor; new -> calibrated; else clamped. Previous and target both lie
    in floor..ceiling, so the clamp does too.
    """
    floor = F.lit(algorithm.calibration.floor)
    target = F.coalesce(F.col("calibrated_score"), floor)  # a carried-forward person heads for the floor
    lowest, highest = F.col("previous_score") - F.lit(allowed), F.col("previous_score") + F.lit(allowed)
    clamped = F.least(F.greatest(target, lowest), highest)
    return F.when(is_suppressed(), floor).when(is_new(), target).otherwise(clamped).cast("int")


def with_deltas(rows: DataFrame, store: TableStore, algorithm_version: str, snapshot_date: dt.date) -> DataFrame:
    """``rows`` (with their published ``score``) plus ``delta_1d``, ``delta_7d``, ``delta_30d`` from the published scores."""
    names = [f"delta_{n}d" for n in DELTA_DAYS]
    if not store.exists(SCORES):
        return rows.select("*", *[F.lit(None).cast("int").alias(name) for name in names])
    days = {n: snapshot_date - dt.timedelta(days=n) for n in DELTA_DAYS}
    earlier = store.read(SCORES).where(_this_version(algorithm_version) & F.col("snapshot_date").isin(*days.values()))
    # one row per person with their score on each of the three days (null where they have none)
    on_day = {n: F.when(F.col("snapshot_date") == F.lit(day), F.col("score")) for n, day in days.items()}
    then = earlier.groupBy("person_id").agg(*[F.max(score).alias(f"then_{n}") for n, score in on_day.items()])
    joined = rows.join(then, on="person_id", how="left")
    return joined.select(*rows.columns, *[(F.col("score") - F.col(f"then_{n}")).cast("int").alias(f"delta_{n}d") for n in DELTA_DAYS])
