"""The score: reach, amplification and authority over the decayed, bot-discounted window, per network and
combined, mapped to 1..100.

- reach: the people who acted on the person's content, each counted once (a person acting on two networks is
  one person in the combined reach), weighted by how recent their latest reaction was and by their bot discount;
  an anonymous placeholder actor stands for as many unnamed people as it has reactions;
- amplification: decayed, discounted effort received per decayed post, with a prior of
  ``score.amplification_prior_posts`` posts, so one lucky post from a near-silent account is not a top score;
- authority: the person's PageRank on the engagement graph (``authority`` table), per network its inflow.

Who is scored: persons who received at least one reaction that still weighs something after the bot discount in
the window. Everyone else is unscored (nothing they did made anyone act: no evidence to place them); they are
counted in the ``persons_unscored`` metric, and ``clout explain`` says so. A risky person (account_risk of the
day) is listed too, with the floor score and ``suppressed`` set, and kept out of the calibration.

Each part becomes a percentile in the scored population; their weighted mean is re-ranked and mapped to 1..100 by
clout.score.calibrate (``calibrated_score``). Audience size (follows) carries no effort weight, so it builds none of it.

The published ``score`` is the calibrated one moved at most ``score.max_daily_move`` a day from the previous
snapshot of the version, and persons of that snapshot whom nothing reaches any more are carried forward down to the
floor; both, and the deltas, are clout.score.bound's.
"""

from __future__ import annotations

import datetime as dt
import subprocess

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from clout import window_state
from clout.aggregate.stage import ALL_TOPICS
from clout.config import Algorithm, Settings
from clout.exact import exact_sum
from clout.graph.stage import authority_of
from clout.score import bound
from clout.score.calibrate import knots, percentile, to_scale
from clout.sqltext import snapshot_condition
from clout.tables import SCORES_STAGING, TableStore

PARTS = ("reach", "amplification", "authority")


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        from clout import __version__

        return __version__


def _no_names():
    return F.array().cast("array<string>")


def snapshot_rows(snapshot_date: dt.date, algorithm_version: str):
    """The rows of one snapshot (date and algorithm version) in scores, scores_staging, score_explanations or authority."""
    return (F.col("snapshot_date") == F.lit(snapshot_date)) & (F.col("algorithm_version") == F.lit(algorithm_version))


def staged(store: TableStore, algorithm_version: str, snapshot_date: dt.date) -> DataFrame:
    """The snapshot's staged scores (computed, not yet validated or published)."""
    return store.read(SCORES_STAGING).where(snapshot_rows(snapshot_date, algorithm_version))


def reach_contribution() -> DataFrame:
    """What one reacting actor adds to reach: one person fading with recency, or many unnamed people."""
    people = F.when(F.col("anonymous"), F.col("reactions")).otherwise(F.col("recency"))
    return people * F.col("bot_weight")


def received(reactions: DataFrame) -> DataFrame:
    """Per (person_id, network): reach, effort received (after and before the bot discount).

    Every sum of the score is exact (clout.exact): a last bit that followed the partitioning would break ties in the ranks.
    """
    return reactions.groupBy(F.col("target_person").alias("person_id"), "network").agg(
        exact_sum(reach_contribution()).alias("reach"), exact_sum("effort").alias("effort"), exact_sum("effort_raw").alias("effort_raw")
    )


def combined_reach(reactions: DataFrame) -> DataFrame:
    """Per person: each named actor once across networks (latest reaction, lowest discount), anonymous as counted."""
    per_actor = reactions.groupBy(F.col("target_person").alias("person_id"), "actor_person", "anonymous").agg(
        F.max("recency").alias("recency"), exact_sum("reactions").alias("reactions"), F.min("bot_weight").alias("bot_weight")
    )
    return per_actor.groupBy("person_id").agg(exact_sum(reach_contribution()).alias("reach"))


def decayed_posts(window_posts: DataFrame) -> DataFrame:
    """Per (person_id, network): decayed posts in the window (the amplification denominator), from the window
    state's posts (``clout.window_state.posts``)."""
    return window_posts.select("person_id", "network", F.col("decayed_posts").alias("posts"))


def amplification(effort: str, posts: str, algorithm: Algorithm):
    return F.col(effort) / (F.coalesce(F.col(posts), F.lit(0.0)) + F.lit(algorithm.score.amplification_prior_posts))


# Named conditions of the parts (functions: a Column needs a running session)
def is_overall() -> Column:
    """Authority rows of the overall rank, not one network's inflow."""
    return F.col("network") == F.lit(ALL_TOPICS)


def is_risky() -> Column:
    """Risky in account_risk of the day; a person never assessed is not risky."""
    return F.coalesce(F.col("is_risky"), F.lit(False))


def named_actor() -> Column:
    """An actor who is a person; an anonymous placeholder (unnamed voters) is nobody to suppress."""
    return ~F.col("anonymous")


def reached_someone() -> Column:
    """Somebody's reaction still weighs something after the bot discount: the person is scored."""
    return F.col("reach") > 0


def network_parts(per_network: DataFrame, network_posts: DataFrame, authority: DataFrame, total_effort: DataFrame, algorithm: Algorithm) -> DataFrame:
    """Per person: ``network_parts``, one struct per network (reach, amplification, authority inflow, effort share)."""
    network_rows = (
        per_network.join(network_posts, on=["person_id", "network"], how="left")
        .join(authority.where(~is_overall()), on=["person_id", "network"], how="left")
        .join(total_effort, on="person_id", how="inner")
        .select(
            "person_id",
            F.struct(
                F.col("network"),
                F.col("reach"),
                amplification("effort", "posts", algorithm).alias("amplification"),
                F.coalesce(F.col("authority"), F.lit(0.0)).alias("authority"),
                F.when(F.col("effort_total") > 0, F.col("effort") / F.col("effort_total")).otherwise(F.lit(0.0)).alias("effort_share"),
            ).alias("part"),
        )
    )
    return network_rows.groupBy("person_id").agg(F.array_sort(F.collect_list("part")).alias("network_parts"))


def suppressed_seen(reactions: DataFrame, risk: DataFrame, algorithm: Algorithm) -> DataFrame:
    """(person_id) of the risky persons who acted or were acted on in the window: listed, at the floor score."""
    if not algorithm.bots.suppress_risky:
        return risk.limit(0).select("person_id")
    acted = reactions.where(named_actor()).select(F.col("actor_person").alias("person_id"))
    seen = acted.unionByName(reactions.select(F.col("target_person").alias("person_id"))).distinct()
    return risk.where(is_risky()).select("person_id").join(seen, on="person_id", how="inner")


def parts(reactions: DataFrame, window_posts: DataFrame, authority: DataFrame, risk: DataFrame, algorithm: Algorithm) -> DataFrame:
    """One row per scored or suppressed person: combined parts, per-network parts, networks, risk; ``window_posts``:
    the window state's posts of the snapshot."""
    per_network = received(reactions)
    network_posts = decayed_posts(window_posts)
    total_effort = per_network.groupBy("person_id").agg(exact_sum("effort").alias("effort_total"), exact_sum("effort_raw").alias("effort_raw_total"))
    by_person = network_parts(per_network, network_posts, authority, total_effort, algorithm)
    all_posts = network_posts.groupBy("person_id").agg(exact_sum("posts").alias("posts"), F.collect_set("network").alias("post_networks"))
    overall_authority = authority.where(is_overall()).select("person_id", "authority")
    scored = total_effort.join(combined_reach(reactions), on="person_id", how="inner").where(reached_someone())
    population = scored.select("person_id").unionByName(suppressed_seen(reactions, risk, algorithm)).distinct()
    return (
        population.join(scored, on="person_id", how="left")
        .join(by_person, on="person_id", how="left")
        .join(all_posts, on="person_id", how="left")
        .join(overall_authority, on="person_id", how="left")
        .join(risk, on="person_id", how="left")
        .select(
            "person_id",
            F.coalesce("reach", F.lit(0.0)).alias("reach"),
            F.coalesce(amplification("effort_total", "posts", algorithm), F.lit(0.0)).alias("amplification"),
            F.coalesce("authority", F.lit(0.0)).alias("authority"),
            F.array_sort(F.array_union(F.coalesce("post_networks", _no_names()), F.coalesce(F.col("network_parts.network"), _no_names()))).alias("networks"),
            F.coalesce("network_parts", F.array().cast(SCORES_STAGING.schema["network_parts"].dataType)).alias("network_parts"),
            F.coalesce("bot_probability", F.lit(0.0)).alias("bot_probability"),
            (is_risky() & F.lit(algorithm.bots.suppress_risky)).alias("suppressed"),
        )
    )


def combine(person_parts: DataFrame, algorithm: Algorithm) -> DataFrame:
    """Percentile of each part -> weighted mean -> calibrated 1..100 score; suppressed persons at the floor.

    Percentiles are taken in the population that is not suppressed, so a wave of bots does not move anyone else.
    """
    weights = algorithm.score.part_weights.model_dump()
    total = sum(weights.values())
    calibrated_population = person_parts.where(~F.col("suppressed"))
    population = calibrated_population.count()
    part_knots = knots(calibrated_population, list(PARTS))  # one sort for every part's knots
    ranked = person_parts
    for part in PARTS:
        ranked = percentile(ranked, part, n=population, column_knots=part_knots[part]).withColumnRenamed("p", f"p_{part}")
    raw = sum(F.col(f"p_{part}") * F.lit(weights[part] / total) for part in PARTS)
    ranked = ranked.withColumn("raw_score", raw)
    ranked = percentile(ranked, "raw_score", n=population, reference=ranked.where(~F.col("suppressed")))
    cal = algorithm.calibration
    calibrated = to_scale(F.col("p"), cal.mean, cal.p95, cal.floor, cal.ceiling)
    return ranked.withColumn("score", F.when(F.col("suppressed"), F.lit(cal.floor)).otherwise(calibrated).cast("int")).drop("p")


def carried_rows(previous: DataFrame, calibrated: DataFrame, risk: DataFrame, algorithm: Algorithm) -> DataFrame:
    """Rows of the persons carried forward (clout.score.bound): above the floor on the previous snapshot, not in
    today's scored population. Nothing reached them in the window, so their parts are 0 and they have no calibrated
    score; a carried person risky today is suppressed like any other."""
    above_floor = F.col("previous_score") > F.lit(algorithm.calibration.floor)
    gone = previous.where(above_floor).select("person_id").join(calibrated.select("person_id"), on="person_id", how="left_anti")
    nothing = F.lit(0.0)
    return gone.join(risk, on="person_id", how="left").select(
        "person_id",
        *(nothing.alias(c) for c in ("reach", "amplification", "authority")),
        _no_names().alias("networks"),
        F.array().cast(SCORES_STAGING.schema["network_parts"].dataType).alias("network_parts"),
        F.coalesce("bot_probability", nothing).alias("bot_probability"),
        (is_risky() & F.lit(algorithm.bots.suppress_risky)).alias("suppressed"),
        *(nothing.alias(f"p_{part}") for part in PARTS),
        nothing.alias("raw_score"),
        F.lit(None).cast("int").alias("calibrated_score"),
        F.lit(True).alias("carried_forward"),
    )


def published_scores(calibrated: DataFrame, store: TableStore, risk: DataFrame, snapshot_date: dt.date, algorithm: Algorithm) -> DataFrame:
    """The calibrated snapshot (``combine``'s rows) as published: carried-forward persons added, the bound applied
    against the previous snapshot of the version, the deltas beside it (clout.score.bound)."""
    previous_date = bound.previous_snapshot(store, algorithm.version, snapshot_date)
    previous = bound.previous_scores(store, algorithm.version, previous_date).select("person_id", "previous_score")
    today = calibrated.withColumnRenamed("score", "calibrated_score").withColumn("carried_forward", F.lit(False))
    rows = today.unionByName(carried_rows(previous, today, risk, algorithm)).join(previous, on="person_id", how="left")
    moved = rows.withColumn("score", bound.bounded_score(algorithm, bound.allowed_move(algorithm, snapshot_date, previous_date))).drop("previous_score")
    return bound.with_deltas(moved, store, algorithm.version, snapshot_date)


def compute(spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date, reactions: DataFrame, risk: DataFrame) -> dict[str, float]:
    """Write the snapshot's scores into ``scores_staging`` (the publish step validates and promotes them)."""
    store = TableStore(spark, settings)
    store.add_missing_columns(SCORES_STAGING)  # a lakehouse from before the bound's columns (README: Scores over time)
    window_posts = window_state.posts(store, algorithm, snapshot_date)
    person_parts = parts(reactions, window_posts, authority_of(store, algorithm, snapshot_date), risk, algorithm).cache()
    scored = published_scores(combine(person_parts, algorithm), store, risk, snapshot_date, algorithm).select(
        F.lit(snapshot_date).alias("snapshot_date"),
        F.lit(algorithm.version).alias("algorithm_version"),
        "*",
        F.lit(code_version()).alias("code_version"),
    )
    this_snapshot = snapshot_condition(snapshot_date, algorithm.version)
    store.replace_partitions(SCORES_STAGING, scored, this_snapshot)
    person_parts.unpersist()
    carried = F.col("carried_forward")
    bounded = ~carried & ~F.col("suppressed") & (F.col("score") != F.col("calibrated_score"))
    stats = (
        staged(store, algorithm.version, snapshot_date)
        .agg(
            F.count(F.when(~carried, F.lit(1))).alias("persons_scored"),
            F.count(F.when(carried, F.lit(1))).alias("persons_carried"),
            F.count(F.when(bounded, F.lit(1))).alias("persons_bounded"),
            F.sum(F.col("suppressed").cast("int")).alias("persons_suppressed"),
            F.mean(F.when(~carried, F.col("score"))).alias("score_mean"),
            F.percentile_approx(F.when(~carried, F.col("score")), 0.95).alias("score_p95"),
        )
        .first()
    )
    return {
        "persons_scored": float(stats.persons_scored),  # the scored population (suppressed included), carried rows apart
        "persons_carried": float(stats.persons_carried),
        "persons_bounded": float(stats.persons_bounded),  # the bound held their published score off the calibrated one
        "persons_suppressed": float(stats.persons_suppressed or 0),
        "score_mean": float(stats.score_mean or 0),
        "score_p95": float(stats.score_p95 or 0),
    }
