"""Monotone calibration of raw scores to 1..100.

A person's raw score is turned into its percentile p in the population (interpolated between exact quantiles at
fixed probes, found by one distributed sort: no single-partition sort, and the same however the rows are
partitioned), then into a normal quantile z(p), then into ``mean + (p95 - mean) * z / 1.645``.
That puts the population mean at ``mean``, the 95th percentile at ``p95``, and the top of a large population
near 95-100; the map is monotone, so ranks are kept.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from clout.ordering import exact_quantiles, positions_within

# Percentiles at which the raw distribution is sampled: fine in the tail, where the top scores are decided.
PROBES = sorted(
    {round(i / 200, 6) for i in range(201)} | {round(0.99 + i / 10_000, 6) for i in range(101)} | {round(0.999 + i / 100_000, 6) for i in range(101)}
)

Knots = list[tuple[float, float]]  # (value, percentile), strictly increasing in value


def normal_quantile(p: Column) -> Column:
    """Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9)."""
    a = [-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00]
    b = [-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01, -1.328068155288572e01]
    c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00]
    d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00]
    low = 0.02425

    def poly(coeffs, x):
        out = F.lit(coeffs[0])
        for k in coeffs[1:]:
            out = out * x + F.lit(k)
        return out

    q_low = F.sqrt(-2 * F.log(p))
    q_high = F.sqrt(-2 * F.log(1 - p))
    q = p - 0.5
    r = q * q
    central = poly(a, r) * q / (poly(b, r) * r + 1)
    lower = poly(c, q_low) / (poly(d, q_low) * q_low + 1)
    upper = -poly(c, q_high) / (poly(d, q_high) * q_high + 1)
    return F.when(p < low, lower).when(p > 1 - low, upper).otherwise(central)


def knots(reference: DataFrame, columns: list[str]) -> dict[str, Knots]:
    """Per column, (value, percentile) knots of its distribution in ``reference``, strictly increasing in value.

    The values at the probes are exact (``ordering.exact_quantiles``, one sort for all the columns): an
    approximate sketch followed the partitioning once it compressed, and a coarse one flattens the very top.
    Tied values (many people with the same raw value) share the middle of their run. At most ``len(PROBES)``
    knots per column come to the driver, whatever the population.
    """
    out = {}
    for column, values in zip(columns, exact_quantiles(reference, columns, PROBES), strict=True):
        ties: dict[float, list[float]] = {}
        for prob, value in zip(PROBES, values, strict=False):  # no values: no knots
            ties.setdefault(value, []).append(prob)
        out[column] = sorted((value, sum(probs) / len(probs)) for value, probs in ties.items())
    return out


def percentile(df: DataFrame, column: str, n: int | None = None, reference: DataFrame | None = None, column_knots: Knots | None = None) -> DataFrame:
    """Add ``p`` in (0, 1): the interpolated percentile of ``column`` in ``reference`` (default: ``df`` itself).

    ``column_knots``: ``knots(reference, [column])[column]`` when the caller found several columns' knots at once.
    Each value is placed in its interval between two knots by a Bucketizer (a binary search on the JVM), and the
    interval's ends come from a small broadcast table: a constant-size plan whatever the number of knots, where a
    CASE WHEN per knot outgrew Spark's 64 KB code-generation limit and fell back to interpreted evaluation.
    """
    from pyspark.ml.feature import Bucketizer

    if column_knots is None:
        column_knots = knots(reference if reference is not None else df, [column])[column]
    if not column_knots:  # an empty population: nothing to place
        return df.withColumn("p", F.lit(0.5))
    values = [v for v, _ in column_knots]
    # bucket 0: below the first knot; bucket i (1..k-1): [v_{i-1}, v_i); bucket k: at or above the last knot
    intervals = [(0.0, values[0], column_knots[0][1], values[0], column_knots[0][1])]
    intervals += [(float(i), column_knots[i - 1][0], column_knots[i - 1][1], column_knots[i][0], column_knots[i][1]) for i in range(1, len(column_knots))]
    intervals += [(float(len(column_knots)), values[-1], column_knots[-1][1], values[-1], column_knots[-1][1])]
    spark = df.sparkSession
    table = spark.createDataFrame(intervals, "_bucket double, _v0 double, _p0 double, _v1 double, _p1 double")
    bucketizer = Bucketizer(splits=[float("-inf"), *values, float("inf")], inputCol=column, outputCol="_bucket", handleInvalid="keep")
    x = F.col(column).cast("double")
    flat = F.col("_v1") == F.col("_v0")
    interpolated = F.when(flat, F.col("_p0")).otherwise(F.col("_p0") + (x - F.col("_v0")) / (F.col("_v1") - F.col("_v0")) * (F.col("_p1") - F.col("_p0")))
    n = df.count() if n is None else n  # callers ranking several columns of one population count it once
    eps = 0.5 / max(n, 1)  # strictly inside (0, 1) for the normal quantile
    placed = bucketizer.transform(df.withColumn(column, x)).join(F.broadcast(table), on="_bucket", how="left")
    return placed.withColumn("p", F.least(F.greatest(interpolated, F.lit(eps)), F.lit(1 - eps))).drop("_bucket", "_v0", "_p0", "_v1", "_p1")


def to_scale(p: Column, mean: float, p95: float, floor: int, ceiling: int) -> Column:
    z = normal_quantile(p)
    value = F.lit(mean) + F.lit((p95 - mean) / 1.6448536269514722) * z
    return F.least(F.greatest(F.round(value), F.lit(floor)), F.lit(ceiling)).cast("int")


def percentile_within(df: DataFrame, group: str, column: str, size: str = "_count") -> DataFrame:
    """Add ``p`` in (0, 1): the percentile of ``column`` among the rows of the same ``group`` (a topic), in one pass for
    every group, and the group's number of rows as ``size`` when it is named (dropped otherwise).

    ``percentile`` cannot be applied per group as it is: its knots come to the driver (up to ``len(PROBES)`` per
    column, so per group: a collect growing with the topics) and each would need its own Bucketizer (a Python loop
    over the topics). Here the percentile is exact instead: the mid-rank ``(position + 0.5) / n`` of the value in its
    group, from one range-partitioned sort of all groups (``ordering.positions_within``). It is what the knots
    interpolate (their values are the exact quantiles at the probes), and bounded the same way: within
    [0.5 / n, 1 - 0.5 / n]. Tied values share the middle of their run, as they share a knot.
    """
    placed = positions_within(df, group, column)
    tie = Window.partitionBy(group, column)
    middle = (F.min("_position").over(tie) + F.max("_position").over(tie)) / F.lit(2.0)
    with_p = placed.withColumn("p", (middle + F.lit(0.5)) / F.col("_count")).drop("_position")
    return with_p.drop("_count") if size == "_count" else with_p.withColumnRenamed("_count", size)
