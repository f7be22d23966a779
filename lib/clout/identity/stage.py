"""Identity stage: explicit link records -> ``identity_links``; accounts seen in events -> ``accounts``.

Link records (landing/identity/<day>/*.jsonl): ``{"person_id": "p42", "accounts": [{"network": "twitter",
"id": "100000042"}, ...]}``. A person id is namespaced as ``person:<person_id>``; an account nobody linked
is its own person (``person_id = account_id``). Bad link records go to quarantine like bad events.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout import faults, suppression
from clout.config import Settings
from clout.fs import list_files
from clout.ingest.adapters.base import malformed, parse_json, read_lines
from clout.tables import ACCOUNTS, EVENTS, IDENTITY_LINKS, QUARANTINE, TableStore, utc_now

_LINK = T.StructType(
    [
        T.StructField("person_id", T.StringType()),
        T.StructField("accounts", T.ArrayType(T.StructType([T.StructField("network", T.StringType()), T.StructField("id", T.StringType())]))),
    ]
)


def parse_links(raw: DataFrame, known_networks: list[str]) -> DataFrame:
    """Raw link lines -> one row per (account_id, person_id) with ``reason`` set for bad ones."""
    parsed = raw.select("raw_payload", "source_file", parse_json(F.col("raw_payload"), _LINK).alias("r"))
    exploded = parsed.select("raw_payload", "source_file", "r", F.explode_outer(F.col("r.accounts")).alias("a"))
    reason = (
        F.when(malformed(F.col("r")), "malformed_record")
        .when(F.col("r.person_id").isNull() | (F.trim("r.person_id") == ""), "missing_id")
        .when(F.col("a").isNull() | F.col("a.id").isNull() | (F.trim("a.id") == ""), "missing_id")
        .when(~F.col("a.network").isin(*known_networks), "unknown_network")
    )
    return exploded.select(
        F.concat(F.col("a.network"), F.lit(":"), F.trim("a.id")).alias("account_id"),
        F.concat(F.lit("person:"), F.trim("r.person_id")).alias("person_id"),
        F.coalesce(F.col("a.network"), F.lit("identity")).alias("network"),
        "raw_payload",
        "source_file",
        reason.alias("reason"),
    )


def link_accounts(spark: SparkSession, settings: Settings, day: dt.date) -> dict[str, int]:
    """Merge the day's link records into ``identity_links``; quarantine bad ones. Returns counts."""
    store = TableStore(spark, settings)
    for spec in (IDENTITY_LINKS, QUARANTINE):
        store.ensure(spec)
    files = [p for p, _, _ in list_files(spark, settings.landing_path("identity", day))]
    if not files:
        return {"link_rows": 0, "links_accepted": 0, "links_quarantined": 0}
    parsed = parse_links(read_lines(spark, files), list(settings.networks))
    # a record that names a listed (erased or opted-out) account or person would link them again: kept out
    listed = suppression.mark(parsed, suppression.listed_keys(store), settings.ingest.suppression_salt, ["account_id", "person_id"])
    links = listed.withColumn("reason", suppression.reason_first()).drop("opted_out").cache()
    now = utc_now()
    good = links.where(F.col("reason").isNull()).dropDuplicates(["account_id"])
    merge = (
        store.delta(IDENTITY_LINKS)
        .alias("t")
        .merge(
            good.select("account_id", "person_id", F.lit("link_record").alias("source"), F.lit(now).cast("timestamp").alias("linked_at")).alias("s"),
            "t.account_id = s.account_id",
        )
        .whenMatchedUpdate(condition="t.person_id <> s.person_id", set={"person_id": "s.person_id", "linked_at": "s.linked_at"})
        .whenNotMatchedInsertAll()
    )
    with faults.writing(IDENTITY_LINKS.name, store.path(IDENTITY_LINKS)):
        merge.execute()
    bad = (
        links.where(F.col("reason").isNotNull())
        .select(
            F.sha2(F.concat_ws("\u0001", "source_file", "reason", "raw_payload", F.coalesce("account_id", F.lit(""))), 256).alias("quarantine_id"),
            F.col("network"),
            "source_file",
            "reason",
            F.lit("identity link record").alias("detail"),
            F.lit(None).cast("string").alias("event_id"),
            F.lit(None).cast("date").alias("event_date"),
            suppression.unless_opted_out(F.col("raw_payload")).alias("raw_payload"),
            F.lit(now.date()).alias("ingest_date"),
            F.lit(now).cast("timestamp").alias("ingested_at"),
            F.lit(f"identity-{day.isoformat()}").alias("run_id"),
        )
        .dropDuplicates(["quarantine_id"])
    )
    store.insert_new(QUARANTINE, bad, ["quarantine_id"])
    total = links.count()
    accepted = links.where(F.col("reason").isNull()).count()
    links.unpersist()
    return {"link_rows": total, "links_accepted": accepted, "links_quarantined": total - accepted}


def anonymous_accounts(settings: Settings) -> list[str]:
    """Placeholder actors that adapters use for people a source does not name (Stack Exchange's anonymous voters).

    Each stands for many unnamed people: never a person, never scored, never a vertex of the authority graph.
    """
    from clout.ingest.adapters import load_adapter

    return sorted({a for conf in settings.networks.values() for a in getattr(load_adapter(conf.adapter), "ANONYMOUS_ACCOUNTS", ())})


def accounts_seen(events: DataFrame) -> DataFrame:
    """Every account appearing as actor or target, with the days it was first and last seen."""
    actors = events.select(F.col("actor_account").alias("account_id"), "network", "event_date")
    targets = events.where(F.col("target_account").isNotNull()).select(F.col("target_account").alias("account_id"), "network", "event_date")
    return actors.unionByName(targets).groupBy("account_id", "network").agg(F.min("event_date").alias("first_seen"), F.max("event_date").alias("last_seen"))


def resolve_persons(seen: DataFrame, links: DataFrame) -> DataFrame:
    """Attach the linked person, or the account itself when nobody linked it."""
    return seen.join(links.select("account_id", F.col("person_id").alias("linked")), on="account_id", how="left").select(
        "account_id", "network", F.coalesce("linked", "account_id").alias("person_id"), "first_seen", "last_seen"
    )


def update_accounts(spark: SparkSession, settings: Settings, dates: list[dt.date]) -> int:
    """Upsert ``accounts`` from the events of ``dates`` (the days an ingest touched)."""
    store = TableStore(spark, settings)
    store.ensure(ACCOUNTS)
    store.ensure(IDENTITY_LINKS)
    if not dates:
        return 0
    events = store.read(EVENTS).where(F.col("event_date").isin(dates))
    resolved = resolve_persons(accounts_seen(events), store.read(IDENTITY_LINKS))
    upsert = (
        store.delta(ACCOUNTS)
        .alias("t")
        .merge(resolved.alias("s"), "t.account_id = s.account_id")
        .whenMatchedUpdate(
            set={
                "person_id": "s.person_id",
                "first_seen": "least(t.first_seen, s.first_seen)",
                "last_seen": "greatest(t.last_seen, s.last_seen)",
            }
        )
        .whenNotMatchedInsertAll()
    )
    with faults.writing(ACCOUNTS.name, store.path(ACCOUNTS)):
        upsert.execute()
    # links that arrived after an account was first seen re-map it
    links = store.read(IDENTITY_LINKS)
    remap = store.delta(ACCOUNTS).alias("t").merge(links.alias("s"), "t.account_id = s.account_id AND t.person_id <> s.person_id")
    with faults.writing(ACCOUNTS.name, store.path(ACCOUNTS)):
        remap.whenMatchedUpdate(set={"person_id": "s.person_id"}).execute()
    return resolved.count()
