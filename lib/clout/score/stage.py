"""The score: reach, amplification and authority over the decayed window, combined and mapped to 1..100.

- reach: distinct people who acted on the person's content, each weighted by how recent their last action
  was (a crowd that has moved on fades out);
- amplification: decayed effort received per decayed post, with a prior of ``AMPLIFICATION_PRIOR_POSTS``
  posts so one lucky post from a near-silent account is not a top score;
- authority: the person's PageRank on the engagement graph (authority table).
Each part becomes a population percentile; the weighted mean of the percentiles is re-ranked and mapped to
1..100 by clout.score.calibrate. Audience size (follows) carries no effort weight, so it builds none of it.
"""

from __future__ import annotations

import datetime as dt
import subprocess

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.aggregate.stage import ALL_TOPICS
from clout.config import Algorithm, Settings
from clout.graph.stage import decay
from clout.score.calibrate import percentile, to_scale
from clout.tables import AUTHORITY, DAILY_INTERACTIONS, POSTS_DAILY, SCORES, TableStore

AMPLIFICATION_PRIOR_POSTS = 3.0


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        from clout import __version__

        return __version__


def parts(daily: DataFrame, posts: DataFrame, authority: DataFrame, snapshot_date: dt.date, algorithm: Algorithm) -> DataFrame:
    """One row per person with reach, amplification, authority and the networks they were active on."""
    start = snapshot_date - dt.timedelta(days=algorithm.window.days - 1)
    window = (F.col("event_date") >= F.lit(start)) & (F.col("event_date") <= F.lit(snapshot_date))
    hl = algorithm.window.half_life_days
    received = daily.where(window & (F.col("topic") == ALL_TOPICS) & (F.col("algorithm_version") == algorithm.version) & (F.col("effort") > 0)).withColumn(
        "d", decay(F.col("event_date"), snapshot_date, hl)
    )
    by_actor = received.groupBy("target_person", "actor_person").agg(F.max("d").alias("recency"), F.sum(F.col("effort") * F.col("d")).alias("effort"))
    reach = by_actor.groupBy(F.col("target_person").alias("person_id")).agg(F.sum("recency").alias("reach"), F.sum("effort").alias("effort_received"))
    posted = (
        posts.where(window)
        .groupBy("person_id")
        .agg(F.sum(F.col("posts") * decay(F.col("event_date"), snapshot_date, hl)).alias("posts"), F.collect_set("network").alias("post_networks"))
    )
    acted_on = received.groupBy(F.col("target_person").alias("person_id")).agg(F.collect_set("network").alias("react_networks"))
    actors = received.select(F.col("actor_person").alias("person_id")).distinct()
    everyone = reach.select("person_id").unionByName(posted.select("person_id")).unionByName(actors).distinct()
    auth = authority.where((F.col("snapshot_date") == F.lit(snapshot_date)) & (F.col("algorithm_version") == algorithm.version)).select("person_id", "pagerank")
    return (
        everyone.join(reach, on="person_id", how="left")
        .join(posted, on="person_id", how="left")
        .join(acted_on, on="person_id", how="left")
        .join(auth, on="person_id", how="left")
        .select(
            "person_id",
            F.coalesce("reach", F.lit(0.0)).alias("reach"),
            (F.coalesce("effort_received", F.lit(0.0)) / (F.coalesce("posts", F.lit(0.0)) + F.lit(AMPLIFICATION_PRIOR_POSTS))).alias("amplification"),
            F.coalesce("pagerank", F.lit(0.0)).alias("authority"),
            F.array_sort(F.array_union(F.coalesce("post_networks", F.array().cast("array<string>")), F.coalesce("react_networks", F.array().cast("array<string>")))).alias("networks"),
        )
    )


def combine(person_parts: DataFrame, algorithm: Algorithm) -> DataFrame:
    """Percentile of each part -> weighted mean -> calibrated 1..100 score."""
    weights = algorithm.score.part_weights
    total = sum(weights.values())
    population = person_parts.count()
    ranked = person_parts
    for part in ("reach", "amplification", "authority"):
        ranked = percentile(ranked, part, n=population).withColumnRenamed("p", f"p_{part}")
    raw = sum(F.col(f"p_{part}") * F.lit(weights.get(part, 0.0) / total) for part in ("reach", "amplification", "authority"))
    ranked = percentile(ranked.withColumn("raw_score", raw), "raw_score", n=population)
    cal = algorithm.calibration
    return ranked.withColumn("score", to_scale(F.col("p"), cal.mean, cal.p95, cal.floor, cal.ceiling)).drop("p", "p_reach", "p_amplification", "p_authority")


def compute(spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date) -> dict[str, float]:
    store = TableStore(spark, settings)
    person_parts = parts(store.read(DAILY_INTERACTIONS), store.read(POSTS_DAILY), store.read(AUTHORITY), snapshot_date, algorithm).cache()
    scored = combine(person_parts, algorithm).select(
        F.lit(snapshot_date).alias("snapshot_date"),
        F.lit(algorithm.version).alias("algorithm_version"),
        "person_id", "score", "raw_score", "reach", "amplification", "authority", "networks",
        F.lit(code_version()).alias("code_version"),
    )
    store.replace_partitions(SCORES, scored, f"snapshot_date = DATE'{snapshot_date.isoformat()}' AND algorithm_version = '{algorithm.version}'")
    person_parts.unpersist()
    stats = store.read(SCORES).where((F.col("snapshot_date") == F.lit(snapshot_date)) & (F.col("algorithm_version") == algorithm.version)).agg(
        F.count(F.lit(1)).alias("persons_scored"), F.mean("score").alias("score_mean"), F.percentile_approx("score", 0.95).alias("score_p95")
    ).first()
    return {"persons_scored": int(stats.persons_scored), "score_mean": float(stats.score_mean or 0), "score_p95": float(stats.score_p95 or 0)}
