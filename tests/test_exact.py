"""Exact sums (clout.exact), positions and quantiles (clout.ordering): the same bits whatever the partitioning and row order."""

from __future__ import annotations

import random

import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F

from clout.exact import AMOUNT, FRACTION, exact_sum
from clout.ordering import disc_position, exact_quantiles, sorted_numbers


@pytest.fixture(scope="module")
def terms(spark):
    rng = random.Random(16)
    # magnitudes from 1e-8 to 1e6: a double sum of these differs in its last bits from one order to the next
    rows = [(i % 5, rng.random() * 10.0 ** rng.randint(-8, 6)) for i in range(6000)]
    return spark.createDataFrame(rows, "k int, x double")


def _by_key(df, column):
    return {r.k: r[column] for r in df.collect()}


def test_exact_sum_is_the_same_for_any_partitioning_and_order(terms):
    sums = [
        _by_key(frame.groupBy("k").agg(exact_sum("x").alias("s")), "s")
        for frame in (terms, terms.repartition(11), terms.repartition(3, "x").sortWithinPartitions(F.desc("x")), terms.coalesce(1))
    ]
    assert all(s == sums[0] for s in sums)
    exact = {k: float(sum(x for kk, x in terms.collect() if kk == k)) for k in sums[0]}  # close to the double sum
    assert all(sums[0][k] == pytest.approx(exact[k], rel=1e-14) for k in exact)


def test_exact_sum_over_a_window_and_as_a_fraction(terms):
    total = _by_key(terms.groupBy("k").agg(exact_sum("x").alias("s")), "s")
    windowed = terms.repartition(7).withColumn("t", exact_sum("x", over=Window.partitionBy("k"))).groupBy("k").agg(F.max("t").alias("t"))
    assert _by_key(windowed, "t") == total
    shares = terms.withColumn("share", F.col("x") / F.lit(1e7))  # every share below 1: the FRACTION range
    fractions = [_by_key(frame.groupBy("k").agg(exact_sum("share", FRACTION).alias("f")), "f") for frame in (shares, shares.repartition(9))]
    assert fractions[0] == fractions[1] and all(0 < f < 100 for f in fractions[0].values())


def test_exact_sum_skips_nulls_like_sum_and_refuses_an_unknown_kind(spark):
    df = spark.createDataFrame([(1, None), (1, 0.5), (2, None)], "k int, x double")
    assert _by_key(df.groupBy("k").agg(exact_sum("x", AMOUNT).alias("s")), "s") == {1: 0.5, 2: None}
    with pytest.raises(ValueError, match="AMOUNT or FRACTION"):
        exact_sum("x", "decimal(10,2)")


def test_sorted_numbers_are_positions_in_sorted_order_for_any_partitioning(spark):
    ids = [f"person:p{i}" for i in range(500)]
    df = spark.createDataFrame([(i,) for i in ids + ids[:40]], "id string")  # duplicates are numbered once
    expected = {id_: n for n, id_ in enumerate(sorted(ids))}
    for frame in (df, df.repartition(13), df.coalesce(1)):
        assert {r.id: r.n for r in sorted_numbers(frame).collect()} == expected


def test_exact_quantiles_are_percentile_disc_skipping_nulls_and_nans(spark):
    rng = random.Random(7)
    rows = [(float(rng.randint(0, 40)), rng.random() if i % 9 else None) for i in range(3000)] + [(float("nan"), 1.0)]
    df = spark.createDataFrame(rows, "a double, b double")
    probes = [0.0, 0.001, 0.25, 0.5, 0.95, 0.999, 1.0]
    got = exact_quantiles(df, ["a", "b"], probes)
    for column, values in zip(["a", "b"], got, strict=True):
        present = df.where(F.col(column).isNotNull() & ~F.isnan(column))
        oracle = present.agg(*[F.expr(f"percentile_disc({p!r}) WITHIN GROUP (ORDER BY {column})").alias(f"q{i}") for i, p in enumerate(probes)]).first()
        assert values == [oracle[f"q{i}"] for i in range(len(probes))]
    assert exact_quantiles(df.where("a < 0"), ["a"], probes) == [[]]


def test_exact_quantiles_do_not_follow_the_partitioning_of_a_large_population(spark):
    # 200,000 values: approxQuantile's sketch at relative error 1e-5 compresses here, and what it keeps depends on
    # how the values are split between tasks; the exact quantiles are the sorted list's values at the disc positions
    rng = random.Random(16)
    values = [rng.lognormvariate(0, 2) for _ in range(200_000)]
    df = spark.createDataFrame([(v,) for v in values], "x double")
    probes = [i / 200 for i in range(201)] + [0.999, 0.9999, 0.99999]
    ordered = sorted(values)
    expected = [ordered[disc_position(p, len(values))] for p in probes]
    for frame in (df, df.repartition(7), df.coalesce(1)):
        assert exact_quantiles(frame, ["x"], probes) == [expected]
