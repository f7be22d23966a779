"""Authority: bot-discounted, effort-weighted, decayed PageRank on the person engagement graph (GraphFrames).

Edges point from the person who reacted to the person reacted to (authority flows to whoever triggers action).
An edge's weight is the decayed effort of the window's reactions after the actor's bot discount, so a risky
actor has no weighted out-edges: its rank is spread evenly, never handed to the accounts it pushes. Anonymous
placeholder actors (unnamed voters) are not vertices. Each person's out-weights are normalised by
``weighted_pagerank`` (a person who reacts to everything spreads their authority thin: selectivity).

Besides the rank over all networks (``network = '_all'``), the ``authority`` table keeps each network's inflow:
d x sum over that network's in-edges of rank(src) x share(src -> dst), the part of a person's authority that
came through that network. ``authority`` is the rank times the number of vertices (1 = an average person).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.aggregate.stage import ALL_TOPICS
from clout.config import Algorithm, Settings
from clout.exact import AMOUNT, FRACTION, exact_sum
from clout.graph.pagerank import weighted_pagerank
from clout.sqltext import snapshot_condition
from clout.tables import AUTHORITY, TableStore


def graph_edges(reactions: DataFrame) -> DataFrame:
    """(src, dst, network, weight) from the window's topic-free reactions; anonymous and zero-weight rows left out."""
    named_actor = ~F.col("anonymous")
    still_weighs = F.col("effort") > 0
    return (
        reactions.where(named_actor & still_weighs)
        .groupBy(F.col("actor_person").alias("src"), F.col("target_person").alias("dst"), "network")
        .agg(exact_sum("effort", AMOUNT).alias("weight"))  # exact sums here and below: clout.exact
    )


def network_inflow(edges_by_network: DataFrame, ranks: DataFrame, damping: float) -> DataFrame:
    """(person_id, network, pagerank): the rank each person received through each network's edges."""
    out_weight = edges_by_network.groupBy("src").agg(exact_sum("weight", AMOUNT).alias("out_w"))
    src_rank = ranks.select(F.col("id").alias("src"), "rank")
    flows = edges_by_network.join(out_weight, on="src", how="inner").join(src_rank, on="src", how="inner")
    return flows.groupBy(F.col("dst").alias("person_id"), "network").agg(
        (F.lit(damping) * exact_sum(F.col("rank") * F.col("weight") / F.col("out_w"), FRACTION)).alias("pagerank")
    )


def compute(
    spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date, reactions: DataFrame, population: DataFrame
) -> dict[str, float]:
    """Replace the snapshot's ``authority`` partition rows for this version; ``population``: (person_id) scored candidates."""
    store = TableStore(spark, settings)
    edges_by_network = graph_edges(reactions).cache()
    edges = edges_by_network.groupBy("src", "dst").agg(exact_sum("weight", AMOUNT).alias("weight"))
    pr = algorithm.pagerank
    result = weighted_pagerank(population.select(F.col("person_id").alias("id")), edges, pr.damping, pr.tol, pr.max_iter, pr.checkpoint_interval)
    ranks = result.ranks.cache()
    vertices = ranks.count()
    overall = ranks.select(F.col("id").alias("person_id"), F.lit(ALL_TOPICS).alias("network"), F.col("rank").alias("pagerank"))
    rows = overall.unionByName(network_inflow(edges_by_network, ranks, pr.damping)).select(
        F.lit(snapshot_date).alias("snapshot_date"), F.lit(algorithm.version).alias("algorithm_version"),
        "person_id", "network", "pagerank", (F.col("pagerank") * F.lit(float(vertices))).alias("authority"),
    )  # fmt: skip
    this_snapshot = snapshot_condition(snapshot_date, algorithm.version)
    store.replace_partitions(AUTHORITY, rows, this_snapshot)
    stats = {
        "graph_edges": float(edges.count()),
        "graph_vertices": float(vertices),
        "pagerank_iterations": float(result.iterations),
        "pagerank_l1_change": result.l1_change,
    }
    ranks.unpersist()
    edges_by_network.unpersist()
    return stats


def authority_of(store: TableStore, algorithm: Algorithm, snapshot_date: dt.date) -> DataFrame:
    """The snapshot's authority rows of this version: (person_id, network, authority); network '_all' = overall."""
    this_snapshot = (F.col("snapshot_date") == F.lit(snapshot_date)) & (F.col("algorithm_version") == F.lit(algorithm.version))
    return store.read(AUTHORITY).where(this_snapshot).select("person_id", "network", "authority")
