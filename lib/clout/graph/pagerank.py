"""Weighted PageRank on Spark DataFrames, iterated with GraphFrames' AggregateMessages.

Definition. The vertex set V is the scored population (``vertices.id``) together with every endpoint of
``edges``, de-duplicated; N = |V|. Edge rows with the same (src, dst) are summed after dropping self-loops
and weights that are not finite and positive; each source's out-weights are then normalised to shares

    share(u -> v) = w(u -> v) / sum_x w(u -> x)

so someone who reacts to everything spreads their rank thin (selectivity). From rank_0(v) = 1/N:

    rank_{k+1}(v) = (1 - d)/N + d * ( sum_{u -> v} rank_k(u) * share(u -> v) + D_k/N )
    D_k           = sum of rank_k(u) over dangling u (no outgoing edge; isolated vertices included)

Dangling mass is spread uniformly, so the ranks always sum to 1, and a vertex without in-edges ends at
(1 - d)/N + d * D/N. The iteration stops once the L1 change sum_v |rank_{k+1}(v) - rank_k(v)| is below
``tol``, or after ``max_iter`` iterations.

Plan growth. Each iteration's plan would contain the previous iteration's several times over (GraphFrames'
AggregateMessages reads its vertices three times, and the new ranks join the old ones once more), and
Spark prints every persisted input's plan inside the plans that read it, for the UI and the event log: left
alone, query planning and those plan strings grow geometrically (a few MB per query by the 6th iteration,
out of memory soon after). So each iteration's persisted ranks are handed to the next one as a DataFrame
whose plan is a single leaf over the same cached data (no copy, no job); the RDD lineage behind it still
grows by one iteration each time, and a checkpoint every ``checkpoint_interval`` iterations cuts that.

Scale. Everything stays distributed: per iteration only two scalars (L1 change and D) reach the driver, in
one aggregate over the freshly persisted ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from graphframes import GraphFrame
from graphframes.lib import AggregateMessages as AM
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from clout.exact import AMOUNT, FRACTION, exact_sum

ID, RANK = "id", "rank"
_SHARE, _INFLOW, _PREV, _DANGLING = "share", "inflow", "prev_rank", "dangling"


@dataclass(frozen=True)
class PageRankResult:
    ranks: DataFrame  # columns: id (string), rank (double); one row per vertex; ranks sum to 1. Persisted: unpersist when done.
    iterations: int  # iterations run
    l1_change: float  # sum |rank_k - rank_{k-1}| of the last iteration
    converged: bool  # l1_change < tol


def weighted_pagerank(
    vertices: DataFrame, edges: DataFrame, damping: float = 0.85, tol: float = 1e-6, max_iter: int = 30, checkpoint_interval: int = 5
) -> PageRankResult:
    """Weighted PageRank of ``vertices`` (column ``id``) over ``edges`` (``src``, ``dst``, ``weight``); see the module docstring.

    The returned ``ranks`` DataFrame is persisted so that reading it does not re-run the iteration; call
    ``result.ranks.unpersist()`` once it has been written out.
    """
    _check_arguments(damping, tol, max_iter, checkpoint_interval)
    shares = normalised_edges(edges).persist()  # read by every iteration
    base = _vertex_table(vertices, edges, shares).persist()
    try:
        n, n_dangling = _count_vertices(base)
        if n == 0:
            return PageRankResult(vertices.sparkSession.createDataFrame([], f"{ID} string, {RANK} double"), 0, 0.0, True)
        start = base.select(ID, F.lit(1.0 / n).alias(RANK), _DANGLING)
        return _Iteration(shares, n, damping).run(start, n_dangling / n, tol, max_iter, checkpoint_interval)
    finally:
        shares.unpersist()
        base.unpersist()


def normalised_edges(edges: DataFrame) -> DataFrame:
    """``src, dst, share``: one row per distinct usable (src, dst); each src's shares sum to 1."""
    weight = F.col("weight").cast("double")
    # NaN compares greater than every number in Spark SQL, so `weight > 0` alone would let it through.
    is_usable_weight = weight.isNotNull() & ~F.isnan(weight) & (weight > 0) & (weight < math.inf)
    # A self-loop would let a vertex keep its own rank; null endpoints make the comparison null, dropping them too.
    is_between_two_vertices = F.col("src") != F.col("dst")
    summed = (
        edges.select(F.col("src").cast("string").alias("src"), F.col("dst").cast("string").alias("dst"), weight.alias("weight"))
        .where(is_usable_weight & is_between_two_vertices)
        .groupBy("src", "dst")
        .agg(exact_sum("weight", AMOUNT).alias("weight"))
    )
    # exact sums (clout.exact): the shares, and so the ranks, must not depend on the order rows meet in
    out_weight = exact_sum("weight", AMOUNT, over=Window.partitionBy("src"))
    return summed.select("src", "dst", (F.col("weight") / out_weight).alias(_SHARE))


def _check_arguments(damping: float, tol: float, max_iter: int, checkpoint_interval: int) -> None:
    if not 0.0 <= damping <= 1.0:
        raise ValueError(f"damping must be in [0, 1], got {damping}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if max_iter < 1 or checkpoint_interval < 1:
        raise ValueError(f"max_iter and checkpoint_interval must be >= 1, got {max_iter} and {checkpoint_interval}")


def _vertex_table(vertices: DataFrame, edges: DataFrame, shares: DataFrame) -> DataFrame:
    """``id, dangling``: the scored population plus every edge endpoint, each once."""
    # Endpoints come from the raw edges: a person whose only edges were dropped is still scored (as dangling).
    endpoints = edges.select(F.col("src").cast("string").alias(ID)).unionByName(edges.select(F.col("dst").cast("string").alias(ID)))
    ids = vertices.select(F.col(ID).cast("string").alias(ID)).unionByName(endpoints).where(F.col(ID).isNotNull()).distinct()
    sources = shares.select(F.col("src").alias(ID)).distinct().withColumn("has_out_edge", F.lit(True))
    return ids.join(sources, on=ID, how="left").select(ID, F.col("has_out_edge").isNull().alias(_DANGLING))


def _count_vertices(base: DataFrame) -> tuple[int, int]:
    """N and the number of dangling vertices, in one job (which also materialises ``base``)."""
    row = base.agg(F.count(F.lit(1)).alias("n"), F.sum(F.col(_DANGLING).cast("long")).alias("n_dangling")).first()
    return int(row["n"]), int(row["n_dangling"] or 0)


@dataclass(frozen=True)
class _Iteration:
    shares: DataFrame  # persisted src, dst, share
    n: int
    damping: float

    def run(self, ranks: DataFrame, dangling_mass: float, tol: float, max_iter: int, checkpoint_interval: int) -> PageRankResult:
        """Power iteration from ``ranks`` (``id, rank, dangling``), which is backed by data persisted by the caller."""
        held: DataFrame | None = None  # the persisted ranks behind `ranks`, released once the next ones are materialised
        for iteration in range(1, max_iter + 1):
            new_ranks, l1_change, dangling_mass = self.step(ranks, dangling_mass)
            _release(held)
            held = new_ranks
            converged = l1_change < tol
            if converged or iteration == max_iter:
                break
            if iteration % checkpoint_interval == 0:
                ranks = held = _checkpoint(new_ranks)
            else:
                ranks = _lineage_free_view(new_ranks)
        output = held.select(ID, RANK).persist()
        output.count()  # materialise the output as a cache entry of its own, which the caller can unpersist
        _release(held)
        return PageRankResult(output, iteration, l1_change, converged)

    def step(self, ranks: DataFrame, dangling_mass: float) -> tuple[DataFrame, float, float]:
        """The next ranks (``id, rank, prev_rank, dangling``; persisted and materialised), their L1 change and D."""
        # aggregateMessages persists its vertices and unpersists them when done; handing it a projection (a plan
        # of its own) keeps it from dropping a persisted `ranks`.
        graph = GraphFrame(ranks.select(ID, RANK), self.shares)
        # Persisted and already counted: one row per vertex that has an in-edge.
        # an exact sum (clout.exact): rank x share messages arrive in shuffle order, and a last bit would break ties
        inflow = graph.aggregateMessages([exact_sum(AM.msg, FRACTION).alias(_INFLOW)], sendToDst=[AM.src[RANK] * AM.edge[_SHARE]])
        teleport = (1.0 - self.damping) / self.n + self.damping * dangling_mass / self.n
        received = F.coalesce(F.col(_INFLOW), F.lit(0.0))  # vertices without in-edges get no message row
        new_rank = F.lit(teleport) + F.lit(self.damping) * received
        joined = ranks.join(inflow, on=ID, how="left")
        new_ranks = joined.select(ID, new_rank.alias(RANK), F.col(RANK).alias(_PREV), _DANGLING).persist()
        l1_change, dangling_mass = _summarise(new_ranks)  # this job materialises new_ranks ...
        inflow.unpersist()  # ... so inflow is no longer needed
        return new_ranks, l1_change, dangling_mass


def _summarise(ranks: DataFrame) -> tuple[float, float]:
    """L1 change and dangling mass D of ``ranks``: the only values that reach the driver each iteration."""
    change = F.abs(F.col(RANK) - F.col(_PREV))
    dangling_rank = F.when(F.col(_DANGLING), F.col(RANK)).otherwise(F.lit(0.0))
    row = ranks.agg(_total(change).alias("l1"), _total(dangling_rank).alias("dangling_mass")).first()
    return float(row["l1"]), float(row["dangling_mass"])


def _total(column: Column) -> Column:
    """Exact (clout.exact): L1 decides when the iteration stops, and D enters every rank of the next one."""
    return F.coalesce(exact_sum(column, FRACTION), F.lit(0.0))


def _lineage_free_view(ranks: DataFrame) -> DataFrame:
    """The persisted ``ranks`` as a DataFrame whose plan is one leaf over the same cached rows: no job, no copy.

    Public PySpark has no such operation (``localCheckpoint`` copies the data and cannot be released), so this
    goes through the JVM session, as ``DataFrame.checkpoint`` does internally. The RDD lineage is kept, so lost
    cache blocks are recomputed; ``_checkpoint`` bounds that lineage.
    """
    if not hasattr(ranks, "_jdf"):  # Spark Connect: no JVM handle
        return ranks.localCheckpoint(eager=True)
    query = ranks._jdf.queryExecution()
    leaf = ranks.sparkSession._jsparkSession.internalCreateDataFrame(query.toRdd(), ranks._jdf.schema(), False)
    return type(ranks)(leaf, ranks.sparkSession)


def _checkpoint(ranks: DataFrame) -> DataFrame:
    """A copy of the persisted ``ranks`` with no lineage at all; ``ranks`` itself is released."""
    if ranks.sparkSession.sparkContext.getCheckpointDir() is None:  # noqa: SIM108 (each branch says why)
        # Local checkpoint blocks already live in executor storage: no need to persist them again.
        cut = ranks.localCheckpoint(eager=True)
    else:
        # Reliable checkpoint data is read back from files; persist so that happens once, not on every use.
        cut = ranks.checkpoint(eager=True).persist()
    ranks.unpersist()
    return cut


def _release(persisted: DataFrame | None) -> None:
    if persisted is not None:
        persisted.unpersist()
