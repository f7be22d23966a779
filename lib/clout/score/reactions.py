"""Reactions in a snapshot's window, per (network, topic, actor, target), decayed and bot-discounted.

The one source graph, score and explanations read: the same rows build the authority graph, the reach and
amplification parts, and the explanation of both, so the three can never disagree about what counted.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from clout.bots.discount import no_risk, person_risk, reaction_weight
from clout.config import Algorithm
from clout.tables import ACCOUNT_RISK, ACCOUNTS, TableStore
from clout.window import decay

REACTION_COLUMNS = (
    "network", "topic", "actor_person", "target_person", "anonymous", "recency", "reactions", "effort_raw", "effort", "bot_weight",
)  # fmt: skip


def window_reactions(pairs: DataFrame, risk: DataFrame, snapshot_date: dt.date, algorithm: Algorithm, anonymous: list[str]) -> DataFrame:
    """The window's reactions, one row per (network, topic, actor, target), from its state rows (``pairs``:
    ``clout.window_state.pairs``, topic '_all' or every real topic):

    - ``recency``: decay of the actor's latest reaction to the target (reach counts people, fading as they move on);
    - ``reactions``: decayed number of reactions (an anonymous actor stands for that many unnamed people);
    - ``effort_raw`` / ``effort``: decayed effort before / after the actor's bot discount (``bot_weight``).
    """
    recency = decay(F.col("last_date"), snapshot_date, algorithm.window.half_life_days)
    per_pair = pairs.select("network", "topic", "actor_person", "target_person", recency.alias("recency"), "reactions", "effort_raw")
    actor_risk = risk.select(F.col("person_id").alias("actor_person"), "bot_probability", "is_risky")
    weighted = per_pair.join(actor_risk, on="actor_person", how="left").withColumn("bot_weight", reaction_weight(algorithm))
    return weighted.select(
        "network", "topic", "actor_person", "target_person",
        F.col("actor_person").isin(*anonymous).alias("anonymous") if anonymous else F.lit(False).alias("anonymous"),
        "recency", "reactions", "effort_raw", (F.col("effort_raw") * F.col("bot_weight")).alias("effort"), "bot_weight",
    )  # fmt: skip


MAX_BROADCAST_RING_MEMBERS = 2_000_000


def discount_rings(reactions: DataFrame, members: DataFrame, algorithm: Algorithm) -> DataFrame:
    """``reactions`` with a reaction between two members of one ring (``members``: person_id, ring_id, as in the
    ``rings`` table) weighing ``rings.reaction_weight``: its ``bot_weight`` (which reach counts) and ``effort``
    (amplification, authority) are multiplied by it, so graph, score and explanations see one discount.
    ``effort_raw`` keeps what was given, before any discount."""
    if not algorithm.rings.enabled:
        return reactions
    actor_ring = members.select(F.col("person_id").alias("actor_person"), F.col("ring_id").alias("actor_ring"))
    target_ring = members.select(F.col("person_id").alias("target_person"), F.col("ring_id").alias("target_ring"))
    # rings are usually few and small beside the reactions: broadcast them instead of shuffling every reaction
    # twice. Their number grows with the population, though, and a broadcast is built on the driver: past
    # MAX_BROADCAST_RING_MEMBERS the joins shuffle instead.
    small = members.count() <= MAX_BROADCAST_RING_MEMBERS
    actor_ring, target_ring = (F.broadcast(actor_ring), F.broadcast(target_ring)) if small else (actor_ring, target_ring)
    joined = reactions.join(actor_ring, on="actor_person", how="left").join(target_ring, on="target_person", how="left")
    inside_one_ring = F.coalesce(F.col("actor_ring") == F.col("target_ring"), F.lit(False))
    ring_weight = F.when(inside_one_ring, F.lit(algorithm.rings.reaction_weight)).otherwise(F.lit(1.0))
    return joined.select(
        "network", "topic", "actor_person", "target_person", "anonymous", "recency", "reactions", "effort_raw",
        (F.col("effort") * ring_weight).alias("effort"), (F.col("bot_weight") * ring_weight).alias("bot_weight"),
    )  # fmt: skip


def snapshot_risk(store: TableStore, snapshot_date: dt.date, bots: bool = True) -> DataFrame:
    """Per-person risk of the snapshot day from ``account_risk``; nobody assessed without ``bots`` or before any risk run."""
    if bots and store.exists(ACCOUNT_RISK):
        return person_risk(store.read(ACCOUNT_RISK), store.read(ACCOUNTS), snapshot_date)
    return no_risk(store.spark)
