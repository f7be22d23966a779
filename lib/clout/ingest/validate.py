"""Validation of candidate events: one reason per rejected row, first failing rule wins.

Transforms (DataFrame -> DataFrame); only mark_batch_duplicates runs a job, to find the repeated ids. The
ingest stage decides where rows go.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from clout import suppression
from clout.ingest.actions import ACTIONS, REACTIONS, TARGETED

# Reasons, in the order they are checked. Adapters may set any of the first group as parse_error.
ADAPTER_REASONS = ("malformed_record", "wrong_type", "unknown_action", "no_events", "unknown_network")
REASONS = (
    suppression.REASON,  # an erased or opted-out account (clout.suppression): checked before anything, it wins over every reason
    *ADAPTER_REASONS,
    "missing_id",
    "missing_timestamp",
    "future_timestamp",
    "before_network_existed",
    "self_interaction",
    "oversized_field",
    "duplicate_in_batch",
    "duplicate_across_files",
)


def _in(col: Column, values) -> Column:
    return col.isin(*sorted(values))


def with_row_reasons(
    candidates: DataFrame,
    founded: dict[str, dt.date],
    now: dt.datetime,
    max_future_minutes: int,
    max_field_chars: int,
) -> DataFrame:
    """Add ``event_date``, ``reason`` and ``detail`` from checks that need only the row itself."""
    network_founded = F.create_map(*[x for n, d in sorted(founded.items()) for x in (F.lit(n), F.lit(d))])
    founded_day = network_founded[F.col("network")]
    latest_allowed = F.lit(now + dt.timedelta(minutes=max_future_minutes)).cast("timestamp")

    missing_id = F.col("event_id").isNull() | F.col("actor_account").isNull() | (_in(F.col("action"), TARGETED) & F.col("target_account").isNull())
    is_reaction_to_self = _in(F.col("action"), REACTIONS | {"follow"}) & (F.col("target_account") == F.col("actor_account"))
    # a string has at most as many characters as bytes: the character count (a scan of the text) is taken only
    # for the rare payload whose byte length (stored with the string) is over the limit
    payload_limit = 4 * max_field_chars
    oversized_payload = (F.octet_length("raw_payload") > payload_limit) & (F.length("raw_payload") > payload_limit)
    oversized = (F.col("text_chars") > max_field_chars) | oversized_payload

    checks: list[tuple[Column, Column | str]] = [
        (F.col("parse_error").isNotNull(), F.col("parse_error")),
        (founded_day.isNull(), "unknown_network"),
        (missing_id, "missing_id"),
        (F.col("event_time").isNull(), "missing_timestamp"),
        (~_in(F.col("action"), ACTIONS) | F.col("action").isNull(), "unknown_action"),
        (F.col("event_time") > latest_allowed, "future_timestamp"),
        (F.to_date("event_time") < founded_day, "before_network_existed"),
        (is_reaction_to_self, "self_interaction"),
        (oversized, "oversized_field"),
    ]
    reason = F.coalesce(*[F.when(cond, r if isinstance(r, Column) else F.lit(r)) for cond, r in checks])
    detail = (
        F.when(reason == "unknown_action", F.concat(F.lit("action="), F.coalesce(F.col("action"), F.lit("null"))))
        .when(reason == "future_timestamp", F.concat(F.lit("event_time="), F.col("event_time").cast("string")))
        .when(reason == "before_network_existed", F.concat(F.lit("event_time="), F.col("event_time").cast("string")))
        .when(
            reason == "oversized_field",
            F.concat(F.lit("chars="), F.greatest(F.coalesce(F.col("text_chars"), F.lit(0)), F.length("raw_payload")).cast("string")),
        )
        .when(reason == "unknown_network", F.concat(F.lit("network="), F.col("network")))
    )
    return (
        candidates.withColumn("event_date", F.to_date("event_time"))
        .withColumn("reason", reason)
        .withColumn("detail", detail)
        .select("*", *fingerprint(F.col("raw_payload")))
    )


def with_opt_outs(checked: DataFrame) -> DataFrame:
    """Rows whose ``opted_out`` is true (``suppression.mark``) get reason ``opted_out`` whatever else failed, and
    no detail (``suppression.reason_first``)."""
    return checked.withColumn("reason", suppression.reason_first()).withColumn("detail", suppression.unless_opted_out(F.col("detail"))).drop("opted_out")


def fingerprint(payload: Column) -> list[Column]:
    """A 96-bit fingerprint of a raw record (``payload_hash``, ``payload_check``).

    Later steps drop the payload, which is most of a row's bytes, and fetch it back by (source_file,
    fingerprint) for the rows that end in quarantine. Two different lines of one file colliding on 96 bits
    is about 1 in 10^14 at 10 M lines.
    """
    return [F.xxhash64(payload).alias("payload_hash"), F.hash(payload).alias("payload_check")]


# Repeated ids up to this many are broadcast to the dedupe join, so the batch itself is never shuffled for it.
MAX_BROADCAST_REPEATED_IDS = 2_000_000


def mark_batch_duplicates(validated: DataFrame) -> DataFrame:
    """Second and later valid rows of one event_id within the batch get reason 'duplicate_in_batch'.

    Only ids seen more than once go through the ordering window, so the common case costs one hash
    aggregation instead of a sort of the whole batch. The aggregation groups by a 64-bit hash of the id
    (cheaper to shuffle and group than the id text); a hash collision only sends a few more rows through the
    window, which ranks by the id itself, so the result is exact. The repeated hashes are computed once, here
    (a local checkpoint, released with the DataFrame), and broadcast when there are at most
    MAX_BROADCAST_REPEATED_IDS of them, the usual case: the batch is then flagged where it lies, not shuffled
    to meet them. The first occurrence kept is the earliest source file, then the lowest payload
    fingerprint, so the choice is the same on every run. Rows already rejected keep their own reason and take
    no part.
    """
    valid = F.col("reason").isNull()
    keyed = validated.withColumn("_key", F.xxhash64("event_id"))
    repeated_keys = (
        keyed.where(valid)
        .groupBy("_key")
        .agg(F.count(F.lit(1)).alias("n"))
        .where("n > 1")
        .select("_key", F.lit(True).alias("_repeated"))
        .localCheckpoint(eager=True)
    )
    if repeated_keys.count() <= MAX_BROADCAST_REPEATED_IDS:
        repeated_keys = F.broadcast(repeated_keys)
    flagged = keyed.join(repeated_keys, on="_key", how="left").withColumn("_repeated", valid & F.coalesce("_repeated", F.lit(False)))
    order = Window.partitionBy("event_id").orderBy("source_file", "payload_hash", "payload_check")
    repeated = flagged.where(F.col("_repeated")).withColumn("_rank", F.row_number().over(order))
    duplicate = F.col("_rank") > 1
    ranked = repeated.withColumn("reason", F.when(duplicate, F.lit("duplicate_in_batch")).otherwise(F.col("reason"))).withColumn(
        "detail", F.when(duplicate, F.lit("event_id seen earlier in this batch")).otherwise(F.col("detail"))
    )
    single = flagged.where(~F.col("_repeated"))
    return single.drop("_key", "_repeated").unionByName(ranked.drop("_key", "_repeated", "_rank"))
