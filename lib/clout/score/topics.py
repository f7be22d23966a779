"""Topic scores: per person and topic, a 1..100 score calibrated within the topic (the ``topic_scores`` table).

Topics are the labels ingest keeps on each action (hashtags, subreddits, tags, categories); ``daily_interactions``
counts an action once under '_all' and once under each of its real topics. The window is the score's own
(``window_reactions`` of ``window_state.pairs(..., topics=True)``: the same days, decay and bot discount) with the snapshot's ring discount,
so a reaction counts on a topic exactly when and as much as it counts in the global score.

Raw score. On topic T, person P's raw score is the sum over the persons R who reacted to P's content on T of

    authority(R) x ln(1 + effort R gave P on T)

- ``authority(R)``: R's overall authority of the snapshot (the ``authority`` table, PageRank x vertices, 1 = an
  average person): a topic expert read by a few influential people ranks above one liked by many nobodies, the
  brand's question. An anonymous placeholder (unnamed voters) is nobody in the graph: each of its reactions counts
  as one reactor of ``topics.unnamed_authority``.
- ``ln(1 + effort)``: one reactor's repeated reactions have diminishing returns (the product rule: unique people
  count more than repeated reactions), while a reply still outweighs a like. The effort is after the bot and ring
  discounts, so a risky actor or a ring partner adds nothing.
- no amplification part (reactions per post): posts are counted per network, not per topic (``daily_posts``).

Who is scored. Topics with fewer than ``topics.min_reactors`` distinct reactors in the window are trivial: nobody
is scored on them. A risky person (suppressed in the global score) gets no topic score: a brand searching a topic
must not be shown them. Persons whose reactors all weigh nothing are not scored, as in the global score.

Calibration. Within each topic: the exact mid-rank percentile of the raw score among the topic's scored persons
(clout.score.calibrate.percentile_within: one sort for every topic, nothing per topic on the driver), mapped to the
scale by the global score's ``to_scale`` (the algorithm's calibration: mean, p95, floor, ceiling). So each topic's
scores have the global scale's shape: mean near ``calibration.mean``, the topic's top near the ceiling when the
topic is large (a topic of n persons tops out at the percentile 1 - 0.5 / n).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from clout import window_state
from clout.config import Algorithm, Settings
from clout.exact import exact_sum
from clout.graph.stage import authority_of
from clout.score.calibrate import percentile_within, to_scale
from clout.score.stage import code_version, is_overall, is_risky, snapshot_rows
from clout.sqltext import snapshot_condition
from clout.tables import TOPIC_SCORES_STAGING, TableStore


def staged(store: TableStore, algorithm_version: str, snapshot_date: dt.date) -> DataFrame:
    """The snapshot's staged topic scores (computed, not yet validated or published)."""
    return store.read(TOPIC_SCORES_STAGING).where(snapshot_rows(snapshot_date, algorithm_version))


# Named conditions (functions: a Column needs a running session)
def gave_effort() -> Column:
    """The reaction still weighs something after the bot and ring discounts."""
    return F.col("effort") > 0


def enough_reactors(min_reactors: int) -> Column:
    """The topic is not trivial: enough distinct persons reacted on it in the window."""
    return F.col("topic_reactors") >= F.lit(min_reactors)


def reactor_contribution(algorithm: Algorithm) -> Column:
    """What one reactor adds to a person's raw topic score (see the module docstring)."""
    named = F.coalesce(F.col("reactor_authority"), F.lit(0.0)) * F.log1p(F.col("effort"))
    # each unnamed reaction is one person of unknown rank who gave the placeholder's average effort
    per_unnamed = F.when(F.col("reactions") > 0, F.col("effort") / F.col("reactions")).otherwise(F.lit(0.0))
    unnamed = F.lit(algorithm.topics.unnamed_authority) * F.col("reactions") * F.log1p(per_unnamed)
    return F.when(F.col("anonymous"), unnamed).otherwise(named)


def raw_topic_scores(topical: DataFrame, authority: DataFrame, algorithm: Algorithm) -> DataFrame:
    """(topic, person_id, raw_score, effort, reactors, networks, topic_reactors) of the non-trivial topics.

    ``topical``: the window's topic reactions, discounted (``discount_rings(window_reactions`` of ``window_state.pairs(..., topics=True))``);
    ``authority``: the snapshot's authority rows (``authority_of``).
    """
    # one row per (topic, person, reactor) across networks: a reactor on two networks is one reactor
    per_reactor = (
        topical.where(gave_effort())
        .groupBy("topic", F.col("target_person").alias("person_id"), "actor_person", "anonymous")
        .agg(exact_sum("effort").alias("effort"), exact_sum("reactions").alias("reactions"), F.collect_set("network").alias("networks"))
    )
    reactor_authority = authority.where(is_overall()).select(F.col("person_id").alias("actor_person"), F.col("authority").alias("reactor_authority"))
    weighted = per_reactor.join(reactor_authority, on="actor_person", how="left").withColumn("contribution", reactor_contribution(algorithm))
    per_topic = per_reactor.groupBy("topic").agg(F.countDistinct("actor_person").alias("topic_reactors"))
    per_person = weighted.groupBy("topic", "person_id").agg(
        exact_sum("contribution").alias("raw_score"),  # exact: a last bit that followed the partitioning would break rank ties
        exact_sum("effort").alias("effort"),
        F.count(F.lit(1)).alias("reactors"),
        F.array_sort(F.array_distinct(F.flatten(F.collect_list("networks")))).alias("networks"),
    )
    return per_person.join(per_topic.where(enough_reactors(algorithm.topics.min_reactors)), on="topic", how="inner")


def last_active(store: TableStore, snapshot_date: dt.date, algorithm: Algorithm) -> DataFrame:
    """(person_id, last_active): each person's latest day in the window on which they posted or reacted to someone
    (with effort: a follow or a down-vote is no reaction), from the window state."""
    acted = window_state.pairs(store, algorithm, snapshot_date).select(F.col("actor_person").alias("person_id"), "last_date")
    posted = window_state.posts(store, algorithm, snapshot_date).select("person_id", "last_date")
    return acted.unionByName(posted).groupBy("person_id").agg(F.max("last_date").alias("last_active"))


def calibrated(raw: DataFrame, risk: DataFrame, algorithm: Algorithm) -> DataFrame:
    """``raw`` less the suppressed persons and those nothing weighed for, with ``score`` (1..100 within each topic)
    and ``topic_persons``."""
    suppressed = risk.where(is_risky() & F.lit(algorithm.bots.suppress_risky)).select("person_id")
    population = raw.where(F.col("raw_score") > 0).join(suppressed, on="person_id", how="left_anti")
    cal = algorithm.calibration
    ranked = percentile_within(population, "topic", "raw_score", size="topic_persons")
    return ranked.withColumn("score", to_scale(F.col("p"), cal.mean, cal.p95, cal.floor, cal.ceiling)).drop("p")


def compute(spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date, topical: DataFrame, risk: DataFrame) -> dict[str, float]:
    """Write the snapshot's topic scores into ``topic_scores_staging`` (the publish step validates and promotes them).

    Runs after the authority stage of the same snapshot (the reactors' authority) and reads the ring-discounted
    topic reactions the caller built (``topical``)."""
    store = TableStore(spark, settings)
    raw = raw_topic_scores(topical, authority_of(store, algorithm, snapshot_date), algorithm)
    scored = calibrated(raw, risk, algorithm).join(last_active(store, snapshot_date, algorithm), on="person_id", how="left")
    rows = scored.select(
        F.lit(snapshot_date).alias("snapshot_date"), F.lit(algorithm.version).alias("algorithm_version"), "*", F.lit(code_version()).alias("code_version")
    )
    store.replace_partitions(TOPIC_SCORES_STAGING, rows, snapshot_condition(snapshot_date, algorithm.version))
    stats = staged(store, algorithm.version, snapshot_date).agg(F.count(F.lit(1)).alias("rows"), F.countDistinct("topic").alias("topics")).first()
    return {"topic_scores": float(stats.rows), "topics_scored": float(stats.topics)}
