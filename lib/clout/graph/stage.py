"""Authority: effort-weighted, decayed PageRank on the person engagement graph, with GraphFrames.

Edges point from the person who acted to the person acted upon (authority flows to whoever triggers
action). The edge weight is the decayed effort over the window; each person's outgoing weights are
normalised, so a person who reacts to everything spreads their authority thin (selectivity).
GraphFrames' built-in ``pageRank`` ignores edge weights, so the iteration is written with its Pregel API.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.aggregate.stage import ALL_TOPICS
from clout.config import Algorithm, Settings
from clout.jvm import JarsMissing, unavailable_reason
from clout.session import graphframes_available
from clout.tables import AUTHORITY, DAILY_INTERACTIONS, TableStore


def decay(event_date, snapshot_date: dt.date, half_life_days: float):
    age = F.datediff(F.lit(snapshot_date), event_date)
    return F.pow(F.lit(0.5), age / F.lit(half_life_days))


def window_edges(daily: DataFrame, snapshot_date: dt.date, algorithm: Algorithm) -> DataFrame:
    """Person -> person edges over the window: decayed effort, topic-free, all networks together."""
    start = snapshot_date - dt.timedelta(days=algorithm.window.days - 1)
    in_window = daily.where(
        (F.col("event_date") >= F.lit(start)) & (F.col("event_date") <= F.lit(snapshot_date))
        & (F.col("topic") == ALL_TOPICS) & (F.col("algorithm_version") == algorithm.version) & (F.col("effort") > 0)
    )
    weighted = in_window.select("actor_person", "target_person", (F.col("effort") * decay(F.col("event_date"), snapshot_date, algorithm.window.half_life_days)).alias("w"))
    return weighted.groupBy(F.col("actor_person").alias("src"), F.col("target_person").alias("dst")).agg(F.sum("w").alias("weight"))


def require_graphframes(spark: SparkSession) -> None:
    if not graphframes_available(spark):
        raise JarsMissing(
            "the authority stage needs the GraphFrames JVM jar (io.graphframes:graphframes-spark4_2.13 + graphx), "
            f"which is not on this session's classpath: {unavailable_reason('graphframes')}"
        )


def pagerank(spark: SparkSession, edges: DataFrame, damping: float, max_iter: int) -> DataFrame:
    """Weighted PageRank with GraphFrames Pregel: rank' = (1-d)/N + d * sum(rank_src * w_src->dst / w_src)."""
    require_graphframes(spark)
    from graphframes import GraphFrame
    from graphframes.lib import Pregel

    vertices = edges.select(F.col("src").alias("id")).unionByName(edges.select(F.col("dst").alias("id"))).distinct()
    out_weight = edges.groupBy("src").agg(F.sum("weight").alias("out_w"))
    normalised = edges.join(out_weight, on="src", how="inner").select("src", "dst", (F.col("weight") / F.col("out_w")).alias("share"))
    n = vertices.count()
    graph = GraphFrame(vertices, normalised)
    ranks = (
        graph.pregel.setMaxIter(max_iter)
        .withVertexColumn("rank", F.lit(1.0 / n), F.lit((1 - damping) / n) + F.lit(damping) * F.coalesce(Pregel.msg(), F.lit(0.0)))
        .sendMsgToDst(Pregel.src("rank") * Pregel.edge("share"))
        .aggMsgs(F.sum(Pregel.msg()))
        .run()
    )
    return ranks.select(F.col("id").alias("person_id"), F.col("rank").alias("pagerank"))


def compute(spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date) -> dict[str, int]:
    store = TableStore(spark, settings)
    require_graphframes(spark)
    edges = window_edges(store.read(DAILY_INTERACTIONS), snapshot_date, algorithm).cache()
    ranks = pagerank(spark, edges, algorithm.pagerank.damping, algorithm.pagerank.max_iter)
    out = ranks.select(F.lit(snapshot_date).alias("snapshot_date"), F.lit(algorithm.version).alias("algorithm_version"), "person_id", "pagerank")
    store.replace_partitions(AUTHORITY, out, f"snapshot_date = DATE'{snapshot_date.isoformat()}' AND algorithm_version = '{algorithm.version}'")
    stats = {"graph_edges": edges.count()}
    edges.unpersist()
    return stats
