"""``daily_interactions`` and ``daily_posts`` for one day, from ``events`` + ``accounts``.

The 90-day window is built from these daily aggregates, never by rescanning raw events, so the daily cost
follows the day's events. Interactions between two accounts of the same person (after identity linking)
are not influence and are left out of the aggregate; the count is reported.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.config import Algorithm, Settings
from clout.ingest.actions import CREATIONS, TARGETED
from clout.sqltext import date_literal, string_literal
from clout.tables import ACCOUNTS, DAILY_INTERACTIONS, EVENTS, POSTS_DAILY, TableStore

ALL_TOPICS = "_all"


def with_persons(events: DataFrame, accounts: DataFrame) -> DataFrame:
    actor = accounts.select(F.col("account_id").alias("actor_account"), F.col("person_id").alias("actor_person"))
    target = accounts.select(F.col("account_id").alias("target_account"), F.col("person_id").alias("target_person"))
    return (
        events.join(actor, on="actor_account", how="left")
        .join(target, on="target_account", how="left")
        .withColumn("actor_person", F.coalesce("actor_person", "actor_account"))
        .withColumn("target_person", F.coalesce("target_person", "target_account"))
    )


def effort_weight(algorithm: Algorithm) -> Column:
    """The weight of ``action`` on ``network``: the network's override when it has one, else the default."""
    defaults = F.create_map(*[x for k, v in sorted(algorithm.action_weights.items()) for x in (F.lit(k), F.lit(float(v)))])
    overrides = [
        x for network, weights in sorted(algorithm.network_action_weights.items()) for k, v in sorted(weights.items())
        for x in (F.lit(f"{network}|{k}"), F.lit(float(v)))
    ]  # fmt: skip
    by_network = F.create_map(*overrides)[F.concat_ws("|", "network", "action")] if overrides else F.lit(None).cast("double")
    # config validation guarantees every targeted action has a default, so the last 0.0 only covers posts/checkins
    return F.coalesce(by_network, defaults[F.col("action")], F.lit(0.0))


def interactions(events_with_persons: DataFrame, algorithm: Algorithm) -> DataFrame:
    """Targeted actions aggregated per (day, network, actor, target, action, topic) with effort weights.

    Every action also counts once under topic '_all', so topic-free totals never double count multi-topic
    actions.
    """
    targeted = events_with_persons.where(F.col("action").isin(*sorted(TARGETED)) & (F.col("actor_person") != F.col("target_person")))
    with_topic = targeted.select(
        "event_date",
        "network",
        "actor_person",
        "target_person",
        "action",
        F.explode(F.array_union(F.array(F.lit(ALL_TOPICS)), F.col("topics"))).alias("topic"),
    )
    return (
        with_topic.groupBy("event_date", "network", "actor_person", "target_person", "action", "topic")
        .agg(F.count(F.lit(1)).alias("actions"))
        .select(
            "event_date",
            "network",
            "actor_person",
            "target_person",
            "action",
            "topic",
            "actions",
            (F.col("actions") * effort_weight(algorithm)).alias("effort"),
            F.lit(algorithm.version).alias("algorithm_version"),
        )
    )


def posts(events_with_persons: DataFrame) -> DataFrame:
    return (
        events_with_persons.where(F.col("action").isin(*sorted(CREATIONS)))
        .groupBy("event_date", "network", F.col("actor_person").alias("person_id"))
        .agg(F.count(F.lit(1)).alias("posts"))
    )


def build_day(spark: SparkSession, settings: Settings, algorithm: Algorithm, day: dt.date, with_posts: bool = True) -> dict[str, int]:
    """Replace the day's ``daily_interactions`` rows of ``algorithm``'s version, and its ``daily_posts``.

    ``with_posts=False`` (backfills): posts do not depend on the version, and rewriting them would touch rows
    other versions read.
    """
    store = TableStore(spark, settings)
    events = store.read(EVENTS).where(F.col("event_date") == F.lit(day))
    enriched = with_persons(events, store.read(ACCOUNTS)).cache()
    store.replace_partitions(
        DAILY_INTERACTIONS, interactions(enriched, algorithm), f"event_date = {date_literal(day)} AND algorithm_version = {string_literal(algorithm.version)}"
    )
    if with_posts:
        store.replace_partitions(POSTS_DAILY, posts(enriched), f"event_date = {date_literal(day)}")
    same_person = enriched.where(F.col("action").isin(*sorted(TARGETED)) & (F.col("actor_person") == F.col("target_person"))).count()
    enriched.unpersist()
    return {"same_person_interactions": same_person}
