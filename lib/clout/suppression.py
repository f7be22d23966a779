"""The suppression list: accounts and persons that were erased or opted out, kept out of every later ingest.

Why. ``clout forget`` deletes a person everywhere, but the landing files that brought them in are outside the
tables: ingesting the same files again (``--force``, a backfill's re-ingest, an archive replay) would bring the
person back. And a person may ask not to be scored at all from now on (``clout optout``) without asking to be
erased.

How. ``suppressions`` holds one row per id: sha256 of ``ingest.suppression_salt`` and the account id
(``twitter:123``) or person id (``person:...``), never the id itself, so the list does not become a record
of who asked. Ingest quarantines an event whose actor or target account is on the list with reason
``opted_out`` and no payload, event id or detail (the row counts, so files still reconcile, and says nothing
about whom); identity linking does the same to a link record naming a listed account or person.
``clout optin`` takes ids off the list; what was quarantined meanwhile stays out until the files are
ingested again with ``--force``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clout.tables import SUPPRESSIONS, TableStore, utc_now

KINDS = ("account", "person")
SOURCES = ("forget", "optout")
REASON = "opted_out"
# Listed keys up to this many are broadcast to the lookup, so the batch is not shuffled to meet them.
MAX_BROADCAST_KEYS = 2_000_000


def key(column: Column, salt: str) -> Column:
    """The list's key for an id column: sha256 of the salt and the id (null for a null id)."""
    return F.sha2(F.concat(F.lit(salt), column), 256)


def invalid_id(identifier: str, networks: list[str]) -> str | None:
    """Why ``identifier`` is not an id the list can hold, or None: ``person:<id>`` or ``<configured network>:<id>``."""
    from clout.explain.show import MAX_PERSON_CHARS, PERSON_PATTERN

    if len(identifier) > MAX_PERSON_CHARS or not identifier.isprintable() or not PERSON_PATTERN.match(identifier):
        return f"not an account or person id (expected <network>:<id> or person:<id>, e.g. twitter:11): {identifier!r}"
    namespace = identifier.split(":", 1)[0]
    if namespace != "person" and namespace not in networks:
        return f"unknown network {namespace!r} in {identifier!r}: the configured networks are {', '.join(sorted(networks))}"
    return None


def kind_of(identifier: str) -> str:
    """``person`` for a ``person:`` id, ``account`` for anything else (``network:native_id``)."""
    return "person" if identifier.startswith("person:") else "account"


def add(store: TableStore, ids: list[str], source: str, request_id: str) -> int:
    """Put ``ids`` on the list (ids already there keep their first record); returns the keys added."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    store.ensure(SUPPRESSIONS)
    if not ids:
        return 0
    spark, salt = store.spark, store.settings.ingest.suppression_salt
    rows = spark.createDataFrame([(i, kind_of(i)) for i in sorted(set(ids))], "id string, kind string")
    listed = rows.select(
        key(F.col("id"), salt).alias("key"),
        "kind",
        F.lit(source).alias("source"),
        F.lit(request_id).alias("request_id"),
        F.lit(utc_now()).cast("timestamp").alias("recorded_at"),
    )
    before = store.version(SUPPRESSIONS)
    store.insert_new(SUPPRESSIONS, listed, ["key"])
    return int(store.metrics_since(SUPPRESSIONS, before).get("numTargetRowsInserted", "0"))


def remove(store: TableStore, ids: list[str]) -> int:
    """Take ``ids`` off the list; returns the keys removed."""
    if not ids or not store.exists(SUPPRESSIONS):
        return 0
    salt = store.settings.ingest.suppression_salt
    keys = store.spark.createDataFrame([(i,) for i in sorted(set(ids))], "id string").select(key(F.col("id"), salt).alias("key"))
    wanted = [r.key for r in keys.collect()]  # one key per id named on the command line
    before = store.version(SUPPRESSIONS)
    store.delta(SUPPRESSIONS).delete(F.col("key").isin(*wanted))
    return int(store.metrics_since(SUPPRESSIONS, before).get("numDeletedRows", "0"))


def is_listed(store: TableStore, identifier: str) -> bool:
    if not store.exists(SUPPRESSIONS):
        return False
    salt = store.settings.ingest.suppression_salt
    probe = store.spark.createDataFrame([(identifier,)], "id string").select(key(F.col("id"), salt).alias("key"))
    return store.read(SUPPRESSIONS).join(probe, on="key", how="left_semi").limit(1).count() > 0


def listed_keys(store: TableStore) -> DataFrame | None:
    """The listed keys (one column, ``key``), broadcast when few; None when the list is empty (the usual case),
    so an ingest without suppressions pays nothing for the lookup."""
    if not store.exists(SUPPRESSIONS):
        return None
    keys = store.read(SUPPRESSIONS).select("key")
    count = keys.count()
    if count == 0:
        return None
    return F.broadcast(keys) if count <= MAX_BROADCAST_KEYS else keys


def reason_first() -> Column:
    """``reason`` with ``opted_out`` winning over whatever else failed (after ``mark``): the first rule, so a
    listed person's line is never kept for another reason, with its payload."""
    return F.when(F.col("opted_out"), F.lit(REASON)).otherwise(F.col("reason"))


def unless_opted_out(value: Column) -> Column:
    """``value``, or null on a row whose ``reason`` is ``opted_out``: what a quarantined row keeps must not name them."""
    return F.when(~F.col("reason").eqNullSafe(REASON), value)


def mark(frame: DataFrame, keys: DataFrame | None, salt: str, columns: list[str]) -> DataFrame:
    """Add boolean ``opted_out``: one of ``columns`` (id columns) holds a listed id."""
    if keys is None:
        return frame.withColumn("opted_out", F.lit(False))
    out = frame
    flags = []
    for i, column in enumerate(columns):
        flag = f"_listed_{i}"
        hit = keys.select(F.col("key").alias(f"_key_{i}"), F.lit(True).alias(flag))
        out = out.join(hit, on=key(F.col(column), salt) == F.col(f"_key_{i}"), how="left").drop(f"_key_{i}")
        flags.append(F.coalesce(F.col(flag), F.lit(False)))
    listed = flags[0]
    for flag in flags[1:]:
        listed = listed | flag
    return out.withColumn("opted_out", listed).drop(*[f"_listed_{i}" for i in range(len(columns))])
