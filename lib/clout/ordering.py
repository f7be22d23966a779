"""Positions in sorted order, and quantiles from them: the same whatever the partitioning and the order of the rows.

Why. Two things in a day's run depend on where a row sits in sorted order: the number ring detection gives each
person (label propagation breaks ties by it) and the calibration's knots (the raw value at each probe percentile).
Spark's shortcuts for both follow the partitioning: ``monotonically_increasing_id`` numbers rows by partition, and
``approxQuantile``'s Greenwald-Khanna sketch merges per-partition summaries in the order the tasks finish, which is
exact only until it compresses (of the order of 10^5 values at relative error 1e-5). Here both come from one
distributed sort instead.

How. A range repartition puts the values in sorted runs, one per partition. A partition's first position is the
count of values in the partitions before it (one count per partition, and per column, reaches the driver), and
row_number numbers the values within their partition. The range bounds come from a sample and may differ between
runs; the positions cannot.
"""

from __future__ import annotations

import math

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def materialised(frame: DataFrame) -> DataFrame:
    """``frame`` computed once and read back through a plan that is a single leaf.

    A range repartition samples its input for the bounds and then reads it again; a frame with a long lineage
    (GraphFrames rounds, the score parts) would be computed twice, and a plan that long slows every job after it.
    """
    if frame.sparkSession.sparkContext.getCheckpointDir() is None:
        # without a checkpoint directory (a bare session), executor storage holds the rows until they are unreferenced
        return frame.localCheckpoint(eager=True)
    # the session's checkpoint directory (storage.checkpoint_dir) survives a lost executor
    return frame.checkpoint(eager=True)


def _first_positions(ranged: DataFrame, keys: list[str]) -> tuple[DataFrame, dict[tuple, int]]:
    """(``keys``..., _part, _first): per key, the position of each range partition's first row (the count of rows
    in the partitions before it); and each key's total count."""
    counts = sorted((tuple(r[k] for k in keys), r["_part"], r["count"]) for r in ranged.groupBy(*keys, "_part").count().collect())
    rows, totals = [], {}
    for key, part, count in counts:
        rows.append((*key, part, totals.get(key, 0)))
        totals[key] = totals.get(key, 0) + count
    schema = "".join(f"{k} {ranged.schema[k].dataType.simpleString()}, " for k in keys)
    return ranged.sparkSession.createDataFrame(rows, f"{schema}_part int, _first long"), totals


def sorted_numbers(ids: DataFrame) -> DataFrame:
    """(id, n): each distinct ``id``'s 0-based position in sorted order, the same however the rows are partitioned."""
    ranged = materialised(ids.select("id").distinct().repartitionByRange("id").withColumn("_part", F.spark_partition_id()))
    within = F.row_number().over(Window.partitionBy("_part").orderBy("id")) - F.lit(1)
    firsts, _ = _first_positions(ranged, [])
    return ranged.join(F.broadcast(firsts), on="_part", how="inner").select("id", (F.col("_first") + within).alias("n"))


def disc_position(probability: float, count: int) -> int:
    """0-based position of the ``probability`` quantile among ``count`` sorted values: the smallest value whose
    cumulative share reaches ``probability`` (SQL's ``percentile_disc``)."""
    return min(max(math.ceil(probability * count) - 1, 0), count - 1)


def exact_quantiles(frame: DataFrame, columns: list[str], probabilities: list[float]) -> list[list[float]]:
    """Like ``frame.approxQuantile(columns, probabilities, 0)`` but from one sort of every column's values at once.

    Per column: the ``percentile_disc`` value at each probability among the column's non-null, non-NaN values (as
    ``approxQuantile``, which skips them), or ``[]`` when it has none. ``len(columns) x len(probabilities)`` values
    come to the driver, and one count per range partition and column.
    """
    stacked = frame.select(
        F.explode(F.array(*[F.struct(F.lit(i).alias("_column"), F.col(c).cast("double").alias("_value")) for i, c in enumerate(columns)])).alias("_v")
    ).select("_v._column", "_v._value")
    present = F.col("_value").isNotNull() & ~F.isnan("_value")
    ranged = materialised(stacked.where(present).repartitionByRange("_column", "_value").withColumn("_part", F.spark_partition_id()))
    firsts, counted = _first_positions(ranged, ["_column"])
    totals = {i: counted.get((i,), 0) for i in range(len(columns))}
    wanted = sorted({(i, disc_position(p, n)) for i, n in totals.items() if n for p in probabilities})
    if not wanted:
        return [[] for _ in columns]
    positions = frame.sparkSession.createDataFrame(wanted, "_column int, _position long")
    within = F.row_number().over(Window.partitionBy("_part", "_column").orderBy("_value")) - F.lit(1)
    numbered = ranged.join(F.broadcast(firsts), on=["_column", "_part"], how="inner").select("_column", "_value", (F.col("_first") + within).alias("_position"))
    found = {(r["_column"], r["_position"]): r["_value"] for r in numbered.join(F.broadcast(positions), on=["_column", "_position"], how="inner").collect()}
    return [[found[(i, disc_position(p, totals[i]))] for p in probabilities] if totals[i] else [] for i in range(len(columns))]


def positions_within(frame: DataFrame, group: str, value: str) -> DataFrame:
    """``frame`` with ``_position`` (0-based place of ``value`` in sorted order within its ``group``; tied values in
    arbitrary order among themselves) and ``_count`` (rows of the group), with nothing brought to the driver.

    The same range-partitioned sort as ``exact_quantiles``, keyed by (group, value), so one large group is spread over
    many partitions instead of one task sorting it whole (as a window partitioned by the group would); each partition's
    first position within a group is a running sum of the (group, partition) counts, computed in a small window of
    its own rather than collected: their number grows with the groups.
    """
    ranged = materialised(frame.repartitionByRange(group, value).withColumn("_part", F.spark_partition_id()))
    counts = ranged.groupBy(group, "_part").agg(F.count(F.lit(1)).alias("_rows"))
    earlier = Window.partitionBy(group).orderBy("_part").rowsBetween(Window.unboundedPreceding, -1)
    firsts = counts.select(
        group, "_part", F.coalesce(F.sum("_rows").over(earlier), F.lit(0)).alias("_first"), F.sum("_rows").over(Window.partitionBy(group)).alias("_count")
    )
    within = F.row_number().over(Window.partitionBy("_part", group).orderBy(value)) - F.lit(1)
    return ranged.join(firsts, on=[group, "_part"], how="inner").select(*frame.columns, (F.col("_first") + within).alias("_position"), "_count")
