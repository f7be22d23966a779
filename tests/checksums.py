"""Order-independent checksums of a snapshot's output rows, shared by the rerun (e2e) and crash tests."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.score import stage as score_stage
from clout.tables import ACCOUNT_RISK, AUTHORITY, DAILY_INTERACTIONS, RINGS, SCORE_EXPLANATIONS, SCORES, TableStore


def checksum(df: DataFrame) -> tuple[int, int]:
    """(rows, checksum): a sum of a 64-bit hash over every column of a row, so it does not depend on row order (the
    same as hashing the sorted rows) and any changed value, array element or array order shows."""
    row_hash = F.xxhash64(*[F.col(c) for c in df.columns]).cast("decimal(38,0)")
    got = df.agg(F.count(F.lit(1)).alias("n"), F.sum(row_hash).alias("h")).first()
    return got.n, int(got.h or 0)


def day_checksums(spark: SparkSession, settings, day: dt.date, version: str = "v1") -> dict[str, tuple[int, int]]:
    """(rows, checksum) of the day's rows in each output table: scores, authority and score_explanations."""
    store = TableStore(spark, settings)
    this_snapshot = score_stage.snapshot_rows(day, version)
    return {spec.name: checksum(store.read(spec).where(this_snapshot)) for spec in (SCORES, AUTHORITY, SCORE_EXPLANATIONS)}


def stage_checksums(spark: SparkSession, settings, day: dt.date, version: str = "v1") -> dict[str, tuple[int, int]]:
    """(rows, checksum) of the day's rows in the tables the outputs are built from: daily_interactions, account_risk, rings."""
    store = TableStore(spark, settings)
    wanted = [
        (DAILY_INTERACTIONS, (F.col("event_date") == F.lit(day)) & (F.col("algorithm_version") == F.lit(version))),
        (ACCOUNT_RISK, F.col("risk_date") == F.lit(day)),
        (RINGS, score_stage.snapshot_rows(day, version)),
    ]
    return {spec.name: checksum(store.read(spec).where(rows)) for spec, rows in wanted}
