"""Helpers every adapter uses: reading raw lines, building ids, topics, typed parsing, and the candidate shape.

Contract of an adapter module (see clout.ingest.adapters):
  NETWORK           the network name (matches its conf entry under ``networks``)
  read(spark, paths) -> DataFrame[raw_payload, source_file]    one row per native record
  to_events(raw)     -> DataFrame[CANDIDATE_COLUMNS]           >= 1 row per record, never filters
  render(actions)    -> DataFrame[value]   (generated networks)  canonical synthetic actions -> native lines
  RECORD             StructType            (JSON networks)     the native record's top-level fields, as parsed

Spark 4 runs with ANSI SQL on: a plain ``cast`` of a bad value raises and would crash the job, so adapters
use ``try_cast`` / ``try_to_timestamp`` and turn a failed conversion into ``parse_error='wrong_type'``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout.tables import EVENT_FIELDS

# Event fields an adapter fills (event_date is derived by validation from event_time).
EVENT_COLUMNS = [name for name, _, _ in EVENT_FIELDS if name != "event_date"]
# record_first marks the first candidate of each native record, so records are counted without another read
CANDIDATE_COLUMNS = [*EVENT_COLUMNS, "raw_payload", "parse_error", "record_first"]
CANDIDATE_TYPES = {name: dtype for name, dtype, _ in EVENT_FIELDS} | {
    "raw_payload": T.StringType(),
    "parse_error": T.StringType(),
    "topics": T.ArrayType(T.StringType()),  # nullable elements: a cast may not narrow nullability
}
CORRUPT = "_corrupt_record"
# The event struct every adapter builds (candidates() adds network and source_file from the record).
EVENT_STRUCT = T.StructType([T.StructField(c, CANDIDATE_TYPES[c]) for c in EVENT_COLUMNS if c not in ("network", "source_file")])
_MAX_FRACTIONAL_EPOCH_SECONDS = 100_000_000_000  # beyond, timestamp_seconds overflows (and would fail the job)


def read_lines(spark: SparkSession, paths: list[str]) -> DataFrame:
    """One row per non-blank line of the given files (plain or .gz), with the file it came from."""
    return (
        spark.read.text(paths)
        .select(F.col("value").alias("raw_payload"), F.col("_metadata.file_path").alias("source_file"))
        .where(F.trim(F.col("raw_payload")) != "")
    )


def parse_json(raw: Column, schema: T.StructType) -> Column:
    """from_json that keeps malformed text in ``_corrupt_record`` instead of failing or silently nulling."""
    with_corrupt = T.StructType([*schema.fields, T.StructField(CORRUPT, T.StringType())])
    return F.from_json(raw, with_corrupt, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT})


def malformed(parsed: Column) -> Column:
    """True when the record is not valid JSON for the schema (bad syntax or a value of the wrong JSON type)."""
    return parsed.isNull() | parsed[CORRUPT].isNotNull()


def account(network: str, native_id: Column) -> Column:
    """'<network>:<native id>', null when the native id is missing or blank."""
    trimmed = F.trim(native_id.cast("string"))
    return F.when(trimmed.isNotNull() & (trimmed != ""), F.concat(F.lit(f"{network}:"), trimmed))


def event_key(network: str, *parts: Column) -> Column:
    """'<network>:<part>:<part>...', null when any part is missing: an event without its id is quarantined."""
    strings = [F.trim(p.cast("string")) for p in parts]
    complete = F.lit(True)
    for s in strings:
        complete = complete & s.isNotNull() & (s != "")
    return F.when(complete, F.concat_ws(":", F.lit(network), *strings))


def event(event_id, event_time, action, actor, target, content_id, target_content_id, topic_list, text_chars) -> Column:
    """One event struct with fixed field types, so every branch of a when/concat lines up."""
    return F.struct(
        event_id.cast("string").alias("event_id"),
        event_time.cast("timestamp").alias("event_time"),
        action.cast("string").alias("action"),
        actor.cast("string").alias("actor_account"),
        target.cast("string").alias("target_account"),
        content_id.cast("string").alias("content_id"),
        target_content_id.cast("string").alias("target_content_id"),
        topic_list.cast("array<string>").alias("topics"),
        text_chars.cast("int").alias("text_chars"),
    )


def no_events() -> Column:
    """An empty, typed events array (a record that carries no action)."""
    return F.array().cast(T.ArrayType(EVENT_STRUCT))


def hashtag_text(topic_list: Column) -> Column:
    """Topics written back as hashtags ('#a #b'), null when there are none (render side)."""
    return F.when(F.size(topic_list) > 0, F.array_join(F.transform(topic_list, lambda t: F.concat(F.lit("#"), t)), " "))


def with_hashtags(text: Column, topic_list: Column) -> Column:
    """Free text (its own '#' removed so it cannot add topics) followed by the topics as hashtags."""
    return F.concat_ws(" ", F.regexp_replace(text, "#", ""), hashtag_text(topic_list))


def hashtags(text: Column) -> Column:
    """Hashtags written in free text: '#Higgs #physics' -> ['Higgs', 'physics']."""
    return F.regexp_extract_all(F.coalesce(text, F.lit("")), F.lit(r"#(\w+)"), 1)


_TOPIC_SEP = "\u0000"
# per label: the spaces and then the '#'s it starts with, and the spaces it ends with
_TOPIC_TRIM = r"(?:(?<=\x00)|^) *#*| +(?=\x00|$)"


def topics(*arrays: Column) -> Column:
    """Normalised topic labels from any number of string arrays: lower-case, no '#', no blanks, sorted, distinct.

    Per label: spaces trimmed, then leading '#'s removed; empty and null labels dropped. The labels are joined
    into one string with NUL between them and cleaned by one regex, which is compiled code; a lambda over the
    array (transform / filter) would run interpreted, once per label, on every record. A label holding a NUL
    character would come out as two labels.
    """
    non_null = [F.coalesce(a, F.array().cast("array<string>")) for a in arrays]
    merged = F.concat(*non_null) if len(non_null) > 1 else non_null[0]
    cleaned = F.regexp_replace(F.lower(F.array_join(merged, _TOPIC_SEP)), _TOPIC_TRIM, "")
    # sort_array is compiled too; array_sort would run an interpreted comparator
    return F.sort_array(F.array_distinct(F.array_remove(F.split(cleaned, _TOPIC_SEP), "")))


def ts_iso(value: Column, padded: bool = False) -> Column:
    """ISO-8601 text ('2026-11-20T10:11:12Z', '...+00:00', '...123Z') to a timestamp; null when it is not one.

    Spark also parses special words ('yesterday', 'now'); an export never means those, so text must start
    with a calendar date (after blanks when ``padded``: Mastodon and Discourse exports are seen with them).
    """
    start = r"^\s*\d{4}-\d{2}-\d{2}" if padded else r"^\d{4}-\d{2}-\d{2}"
    return F.when(value.rlike(start), F.try_to_timestamp(value))


def null() -> Column:
    """A candidate field this network does not have (typed by the candidate schema)."""
    return F.lit(None)


def ts_epoch_millis(value: Column) -> Column:
    """Epoch milliseconds to a timestamp; null when not an integer or outside years 1..9999 (no overflow)."""
    millis = value.try_cast("bigint")
    in_range = millis.between(F.lit(-62_135_596_800_000), F.lit(253_402_300_799_999))
    return F.when(in_range, F.timestamp_millis(millis))


def ts_epoch_seconds(value: Column) -> Column:
    seconds = value.try_cast("bigint")
    # outside years 1..9999 timestamp_seconds overflows, which under ANSI would fail the whole job
    in_range = seconds.between(F.lit(-62_135_596_800), F.lit(253_402_300_799))
    return F.when(in_range, F.timestamp_seconds(seconds))


def ts_epoch_fractional(value: Column) -> Column:
    """Epoch seconds that may carry a fraction or an exponent (1795600800.5, 1.7956008E9); null when not a number."""
    seconds = value.try_cast("decimal(38,6)")
    return F.when(F.abs(seconds) < _MAX_FRACTIONAL_EPOCH_SECONDS, F.timestamp_seconds(seconds))


def iso_seconds(ts: Column, zone: str = "'Z'") -> Column:
    """Time text in whole seconds, with microseconds only when the time has a fraction (so nothing is lost):
    ``2026-11-20T08:00:00Z`` with the default ``zone``, Graph's ``2026-11-20T08:00:00+0000`` with ``zone="Z"``."""
    whole = F.date_format(ts, "SSSSSS") == "000000"
    return F.when(whole, F.date_format(ts, f"yyyy-MM-dd'T'HH:mm:ss{zone}")).otherwise(F.date_format(ts, f"yyyy-MM-dd'T'HH:mm:ss.SSSSSS{zone}"))


def render_json(actions: DataFrame, network: str, act: Column, *shapes: tuple[Column, Column]) -> DataFrame:
    """One JSON line (``value``) per synthetic action: the struct of the first (condition, struct) that holds,
    null fields left out. An action no shape covers fails the job: the generator asked this network for an
    action it cannot express, which is a bug, not data to skip."""
    options = {"ignoreNullFields": "true"}
    value = F.raise_error(F.concat(F.lit(f"{network} cannot render action "), act))
    for condition, shape in reversed(shapes):
        value = F.when(condition, F.to_json(shape, options)).otherwise(value)
    return actions.select(value.alias("value"))


def wrong_type(raw: Column, parsed: Column) -> Column:
    """A value was given but could not be converted."""
    return raw.isNotNull() & parsed.isNull()


def first_problem(*checks: tuple[Column, str]) -> Column:
    """The reason of the first failing check, or null."""
    return F.coalesce(*[F.when(cond, F.lit(reason)) for cond, reason in checks], F.lit(None).cast("string"))


def candidates(df: DataFrame, network: str) -> DataFrame:
    """Shape an adapter's output into the candidate contract.

    ``df`` must hold ``raw_payload``, ``source_file``, ``parse_error`` and ``ev``: an array of event structs
    (fields named like EVENT_COLUMNS, any subset). Each struct becomes one candidate row; a record whose
    array is empty or null still yields one row, with parse_error 'no_events' (unless it has a reason
    already), so no record disappears.
    """
    exploded = df.select("raw_payload", "source_file", "parse_error", F.posexplode_outer("ev").alias("pos", "e"))
    ev_fields = set(exploded.schema["e"].dataType.fieldNames()) if isinstance(exploded.schema["e"].dataType, T.StructType) else set()
    columns = []
    for name in EVENT_COLUMNS:
        if name == "source_file":
            columns.append(F.col("source_file"))
        elif name == "network":
            columns.append(F.lit(network).alias("network"))
        elif name in ev_fields:
            columns.append(F.col(f"e.{name}").cast(CANDIDATE_TYPES[name]).alias(name))
        elif name == "topics":
            columns.append(F.array().cast("array<string>").alias("topics"))
        else:
            columns.append(F.lit(None).cast(CANDIDATE_TYPES[name]).alias(name))
    reason = F.coalesce(F.col("parse_error"), F.when(F.col("e").isNull(), F.lit("no_events")))
    first = F.coalesce(F.col("pos"), F.lit(0)) == 0
    return exploded.select(*columns, F.col("raw_payload"), reason.alias("parse_error"), first.alias("record_first")).withColumn(
        "topics", F.coalesce(F.col("topics"), F.array().cast("array<string>"))
    )


def record_candidates(parsed: DataFrame, network: str, events: Column, *checks: tuple[Column, str], unknown_keeps_events: bool = False) -> DataFrame:
    """The tail every JSON adapter shares, from its parsed records (``r``) to the candidate contract.

    The record's problem is the first failing check, the malformed-record check first, then the adapter's
    ``checks`` in order; its events are kept when it has none. With ``unknown_keeps_events`` a record rejected as
    ``unknown_action`` keeps the placeholder event the adapter built for it too, so its quarantine row carries
    what could be read (actor, time).
    """
    problem = first_problem((malformed(F.col("r")), "malformed_record"), *checks)
    keep = problem.isNull() | (problem == "unknown_action") if unknown_keeps_events else problem.isNull()
    shaped = parsed.select("raw_payload", "source_file", problem.alias("parse_error"), F.when(keep, events).alias("ev"))
    return candidates(shaped, network)


def unparsed(raw: DataFrame, network: str, reason: str) -> DataFrame:
    """Every record as a candidate rejected for ``reason`` (used for files of an unknown network)."""
    return candidates(
        raw.select("raw_payload", "source_file", F.lit(reason).alias("parse_error"), F.lit(None).cast("array<struct<event_id:string>>").alias("ev")),
        network,
    )
