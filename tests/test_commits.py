"""A real Delta write conflict, provoked on purpose, is retried and logged, and loses nothing.

Two writers replace the same partition: a slow one (every row waits in the JVM, so its transaction stays open for
seconds) and a quick one that starts once the slow one's job runs, that is once the slow transaction has read its
snapshot (Delta fixes it before the write job starts). Whichever commits second was refused by Delta (files were
added to what it read) and TableStore retried it against the new table version, so both land exactly once, one
after the other: the table holds the rows of the last commit only. (Usually the quick one commits first; on a
loaded machine the order can flip, and the guarantee is the same, so the test checks it for the order that
happened.)"""

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
    df = spark.range(n, numPartitions=1).select(F.lit(DAY).alias("day"), F.lit(writer).alias("writer"), F.col("id").alias("n"))
    if sleep_ms:  # Thread.sleep in the executor, per row: a slow job without a Python UDF
        df = df.withColumn("n", F.col("n") + F.expr(f"cast(reflect('java.lang.Thread', 'sleep', cast({sleep_ms} as bigint)) is null as bigint)"))
    return df


def running_jobs(spark, group: str) -> set[int]:
    tracker = spark.sparkContext.statusTracker()
    return {j for j in tracker.getJobIdsForGroup(group) if (info := tracker.getJobInfo(j)) and info.status == "RUNNING"}


def test_a_commit_that_loses_the_race_is_retried_and_lands_once(spark, test_root):
    store = TableStore(spark, settings_for(test_root, "commits"))
    condition = f"day = '{DAY.isoformat()}'"
    store.replace_partitions(SPEC, rows(spark, "setup", 3), condition)
    commits.retries_logged.clear()
    failures: list[BaseException] = []

    def slow():
        spark.sparkContext.setJobGroup("slow-writer", "the slow writer's jobs")  # per thread (PySpark pins threads)
        try:
            store.replace_partitions(SPEC, rows(spark, "slow", 20, sleep_ms=500), condition)  # ~10 s inside its transaction
        except BaseException as err:  # reported by the assertion below
            failures.append(err)

    slow_writer = threading.Thread(target=slow)
    slow_writer.start()
    deadline = time.monotonic() + 120
    first_seen: dict[int, float] = {}
    while slow_writer.is_alive() and time.monotonic() < deadline:
        now = time.monotonic()
        running = running_jobs(spark, "slow-writer")
        first_seen = {j: first_seen.get(j, now) for j in running}
        if any(now - t >= 2 for t in first_seen.values()):
            break  # a job of the slow writer has run for 2 s: the sleeping write, so its transaction has read the table
        time.sleep(0.05)
    assert slow_writer.is_alive(), "the slow writer ended before the quick one started"
    store.replace_partitions(SPEC, rows(spark, "quick", 5), condition)
    slow_writer.join(timeout=120)
    assert not slow_writer.is_alive() and not failures, failures
    assert len(commits.retries_logged) >= 1 and all(r.startswith("conflict_probe: Concurrent") for r in commits.retries_logged)

    history = store.delta(SPEC).history().orderBy("version").collect()
    assert [h.operation for h in history].count("WRITE") == 3  # setup and both writers once: a refused attempt commits nothing
    last_rows = int(history[-1].operationMetrics["numOutputRows"])
    final = {r.writer: r["count"] for r in store.read(SPEC).groupBy("writer").count().collect()}
    assert final in ({"slow": 20}, {"quick": 5})  # one writer's rows, complete, never both and nothing doubled
    assert sum(final.values()) == last_rows  # ... and they are the last commit's


def test_a_conflict_that_persists_is_raised_after_the_bounded_attempts():
    from delta.exceptions import ConcurrentAppendException

    calls = []

    def always_conflicts():
        calls.append(1)
        raise ConcurrentAppendException("files were added to partition [day=2026-11-20] by a concurrent update")

    with pytest.raises(ConcurrentAppendException):
        commits.with_retry("probe", always_conflicts, attempts=3, first_backoff=0.01)
    assert len(calls) == 3
