"""A real Delta write conflict, provoked on purpose, is retried and logged, and loses nothing.

Two writers replace the same partition: a slow one (every row waits in the JVM, so its transaction stays open for
seconds) and a quick one that commits meanwhile. Delta refuses the slow commit (files were added to what it
read); TableStore retries it against the new table version, so it lands once, after the quick one."""

import datetime as dt
import threading
import time

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout import commits
from clout.tables import TableSpec, TableStore
from conftest import settings_for

SPEC = TableSpec(
    "conflict_probe",
    T.StructType([T.StructField("day", T.DateType(), False), T.StructField("writer", T.StringType(), False), T.StructField("n", T.LongType(), False)]),
    partition_by=("day",),
)
DAY = dt.date(2026, 11, 20)


def rows(spark, writer: str, n: int, sleep_ms: int = 0):
    df = spark.range(n).select(F.lit(DAY).alias("day"), F.lit(writer).alias("writer"), F.col("id").alias("n"))
    if sleep_ms:  # Thread.sleep in the executor, per row: a slow job without a Python UDF
        df = df.withColumn("n", F.col("n") + F.expr(f"cast(reflect('java.lang.Thread', 'sleep', cast({sleep_ms} as bigint)) is null as bigint)"))
    return df.repartition(1)


def test_a_commit_that_loses_the_race_is_retried_and_lands_once(spark, test_root):
    store = TableStore(spark, settings_for(test_root, "commits"))
    condition = f"day = '{DAY.isoformat()}'"
    store.replace_partitions(SPEC, rows(spark, "setup", 3), condition)
    commits.retries_logged.clear()
    failures: list[BaseException] = []

    def slow():
        try:
            store.replace_partitions(SPEC, rows(spark, "slow", 10, sleep_ms=400), condition)  # ~4 s inside its transaction
        except BaseException as err:  # reported by the assertion below
            failures.append(err)

    slow_writer = threading.Thread(target=slow)
    slow_writer.start()
    time.sleep(1.5)  # the slow transaction has read the table and is writing its files
    store.replace_partitions(SPEC, rows(spark, "quick", 5), condition)
    slow_writer.join(timeout=120)
    assert not failures, failures
    assert commits.retries_logged and all(r.startswith("conflict_probe: Concurrent") for r in commits.retries_logged)

    final = store.read(SPEC)
    assert {r.writer: r["count"] for r in final.groupBy("writer").count().collect()} == {"slow": 10}  # replaced once, nothing doubled
    history = [r.operation for r in store.delta(SPEC).history().orderBy("version").collect()]
    assert history.count("WRITE") == 3  # setup, quick, then the slow write's retry: the failed attempt committed nothing


def test_a_conflict_that_persists_is_raised_after_the_bounded_attempts():
    from delta.exceptions import ConcurrentAppendException

    calls = []

    def always_conflicts():
        calls.append(1)
        raise ConcurrentAppendException("files were added to partition [day=2026-11-20] by a concurrent update")

    with pytest.raises(ConcurrentAppendException):
        commits.with_retry("probe", always_conflicts, attempts=3, first_backoff=0.01)
    assert len(calls) == 3
