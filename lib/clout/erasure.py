"""Erasure: remove one person from every table, history included, and record that it happened.

``forget`` finds the person's accounts (``accounts`` and ``identity_links``; an unlinked person's id is its
account id), DELETEs every row that names the person or one of those accounts, then VACUUMs each table it
changed, so older Delta versions stop holding the rows too. VACUUM follows the tables' retention policy
(``delta.deletedFileRetentionDuration``, 7 days unless set): until it has passed, time travel to a version
before the erasure still reads the person. ``retain_hours`` shortens that for one erasure (0 = now).

Other persons' explanations name the person among their top engagers: those rows are rewritten without them
(engagers, their summed share and the summary), in the same commit that deletes the person's own explanations.

Quarantined records have no account columns; a record is erased when its network is one of the person's and
its raw payload or event id holds one of their native ids as a whole token (both parts of a ``user@host``
id). That may erase a few more quarantined lines than strictly needed.

The person id and account ids go on the suppression list (``clout.suppression``, hashed): ingest and identity
linking keep them out from then on, so re-ingesting the landing files does not bring the person back.

``erasure_log`` keeps one row per table changed: a request id, the time, the rows removed and the Delta
versions. It holds no person or account id. Landing files and MLflow artifacts (top-100 lists) are outside
the tables and are not touched here.
"""

from __future__ import annotations

import logging
import re
import uuid

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from clout import suppression
from clout.config import Settings
from clout.tables import (
    ACCOUNT_PROFILES,
    ACCOUNT_RISK,
    ACCOUNTS,
    AUTHORITY,
    COMMUNITY_SCORES,
    DAILY_INTERACTIONS,
    ERASURE_LOG,
    EVENTS,
    IDENTITY_LINKS,
    POSTS_DAILY,
    PROFILE_QUARANTINE,
    QUARANTINE,
    RINGS,
    SCORE_EXPLANATIONS,
    SCORES,
    SCORES_STAGING,
    TOPIC_SCORES,
    TOPIC_SCORES_STAGING,
    WINDOW_PAIRS,
    WINDOW_POSTS,
    TableSpec,
    TableStore,
    utc_now,
)

log = logging.getLogger(__name__)


def person_accounts(store: TableStore, person_id: str) -> list[str]:
    """Every account id of the person: linked ones, and the person id itself when it is an account id."""
    found = {person_id} if person_id.split(":", 1)[0] in store.settings.networks else set()
    for spec in (ACCOUNTS, IDENTITY_LINKS):
        if store.exists(spec):
            found |= {r.account_id for r in store.read(spec).where(F.col("person_id") == person_id).select("account_id").collect()}
    return sorted(found)


def _tokens(native_id: str) -> list[str]:
    """Java regexes that together find the native id as whole tokens (not inside a longer id or number).

    A ``user@host`` id (ActivityPub) appears in payloads as an IRI, ``https://host/users/user``: both parts
    must be there.
    """
    parts = native_id.split("@", 1) if "@" in native_id.strip("@") else [native_id]
    return [r"(?<![\w.-])" + re.escape(p) + r"(?![\w-])" for p in parts if p]


def _conditions(person_id: str, accounts: list[str]) -> list[tuple[TableSpec, Column]]:
    persons = F.lit(person_id)
    account_list = [F.lit(a) for a in accounts] or [F.lit(None).cast("string")]
    quarantine = F.lit(False)
    for account in accounts:
        network, native = account.split(":", 1)
        found = F.lit(True)
        for token in _tokens(native):
            found = found & (F.coalesce(F.col("raw_payload").rlike(token), F.lit(False)) | F.coalesce(F.col("event_id").rlike(token), F.lit(False)))
        quarantine = quarantine | ((F.col("network") == network) & found)
    return [
        (EVENTS, F.col("actor_account").isin(*account_list) | F.col("target_account").isin(*account_list)),
        (QUARANTINE, quarantine),
        (ACCOUNTS, (F.col("person_id") == persons) | F.col("account_id").isin(*account_list)),
        (IDENTITY_LINKS, (F.col("person_id") == persons) | F.col("account_id").isin(*account_list)),
        (DAILY_INTERACTIONS, (F.col("actor_person") == persons) | (F.col("target_person") == persons)),
        (POSTS_DAILY, F.col("person_id") == persons),
        (WINDOW_PAIRS, (F.col("actor_person") == persons) | (F.col("target_person") == persons)),
        (WINDOW_POSTS, F.col("person_id") == persons),
        (AUTHORITY, F.col("person_id") == persons),
        (RINGS, F.col("person_id") == persons),
        (SCORES_STAGING, F.col("person_id") == persons),
        (SCORES, F.col("person_id") == persons),
        (TOPIC_SCORES_STAGING, F.col("person_id") == persons),
        (TOPIC_SCORES, F.col("person_id") == persons),
        (COMMUNITY_SCORES, F.col("person_id") == persons),
        # their own explanations, and the explanations that name them among the top engagers (rewritten)
        (SCORE_EXPLANATIONS, (F.col("person_id") == persons) | _names_engager(person_id)),
        (ACCOUNT_RISK, F.col("account").isin(*account_list)),
        (ACCOUNT_PROFILES, F.col("account").isin(*account_list)),
        (PROFILE_QUARANTINE, F.col("account").isin(*account_list)),
    ]


def _names_engager(person_id: str) -> Column:
    return F.exists("top_engagers", lambda e: e["person_id"] == F.lit(person_id))


def _erase(store: TableStore, spec: TableSpec, condition: Column, person_id: str) -> tuple[int, int]:
    """Remove what names the person from one table in one commit: (rows deleted, rows rewritten)."""
    if spec is SCORE_EXPLANATIONS:
        return _erase_explanations(store, condition, person_id)
    table = store.delta(spec)
    before = store.version(spec)
    table.delete(condition)
    return int(store.metrics_since(spec, before).get("numDeletedRows", "0")), 0


def _erase_explanations(store: TableStore, condition: Column, person_id: str) -> tuple[int, int]:
    """Delete the person's explanations and drop them from everyone else's top engagers, in one MERGE.

    The rewritten explanation keeps its other engagers (the next one down is not promoted: the window is gone),
    their summed share, and a summary whose engagers piece is rebuilt, so the id appears nowhere.
    """
    from clout.explain.stage import engagers_piece

    table = store.delta(SCORE_EXPLANATIONS)
    version_before = store.version(SCORE_EXPLANATIONS)
    touched = store.read(SCORE_EXPLANATIONS).where(condition)
    same_row = " AND ".join(f"t.{k} = s.{k}" for k in SCORE_EXPLANATIONS.keys)
    theirs = F.col("t.person_id") == F.lit(person_id)
    others = F.filter("t.top_engagers", lambda e: e["person_id"] != F.lit(person_id))
    # the summary's engagers piece sits between other pieces: keep what is before and after it
    piece = r"^(.*?)(?: · )?top engagers [^·]*? gave [0-9]+%(?: · )?(.*)$"
    before_piece, after_piece = F.regexp_extract("t.summary", piece, 1), F.regexp_extract("t.summary", piece, 2)
    rebuilt = F.concat_ws(" · ", F.when(before_piece != "", before_piece), engagers_piece(others), F.when(after_piece != "", after_piece))
    summary = F.when(F.col("t.summary").rlike(piece), rebuilt).otherwise(F.col("t.summary"))
    (
        table.alias("t")
        .merge(touched.alias("s"), same_row)
        .whenMatchedDelete(condition=theirs)
        .whenMatchedUpdate(
            set={
                "top_engagers": others,
                "top_engagers_share": F.aggregate(others, F.lit(0.0), lambda total, e: total + e["share"]),
                "summary": summary,
            }
        )
        .execute()
    )
    metrics = store.metrics_since(SCORE_EXPLANATIONS, version_before)
    return int(metrics.get("numTargetRowsDeleted", "0")), int(metrics.get("numTargetRowsUpdated", "0"))


def forget(spark: SparkSession, settings: Settings, person_id: str, request_id: str | None = None, retain_hours: float | None = None) -> dict[str, int]:
    """Erase ``person_id`` from every table; returns rows removed per table changed (tables left unchanged are left out;
    ``score_explanations`` may show 0 when only other persons' explanations were rewritten to drop the person)."""
    store = TableStore(spark, settings)
    request_id = request_id or f"erasure-{uuid.uuid4().hex}"
    accounts = person_accounts(store, person_id)
    erased_at = utc_now()
    removed: dict[str, int] = {}
    log_rows = []
    for spec, condition in _conditions(person_id, accounts):
        if not store.exists(spec):
            continue
        before = store.version(spec)
        rows, rewritten = _erase(store, spec, condition, person_id)
        after = store.version(spec)
        if after == before:
            continue
        if rows or rewritten:
            _vacuum(spark, store, spec, retain_hours)
            removed[spec.name] = rows
            log_rows.append((request_id, erased_at, spec.name, rows, before, after, None if retain_hours is None else float(retain_hours)))
    if log_rows:
        store.append(ERASURE_LOG, spark.createDataFrame(log_rows, ERASURE_LOG.schema))
    # hashed, so that ingesting the same landing files again does not bring the person back (clout.suppression)
    suppression.add(store, [person_id, *accounts], "forget", request_id)
    log.info("forget %s: %d accounts, rows removed %s", request_id, len(accounts), removed)
    return removed


def _vacuum(spark: SparkSession, store: TableStore, spec: TableSpec, retain_hours: float | None) -> None:
    if retain_hours is None:
        store.delta(spec).vacuum()  # the table's own retention policy
        return
    key = "spark.databricks.delta.retentionDurationCheck.enabled"
    previous = spark.conf.get(key, "true")
    spark.conf.set(key, "false")  # a retention shorter than the table's default is this erasure's explicit choice
    try:
        store.delta(spec).vacuum(retain_hours)
    finally:
        spark.conf.set(key, previous)
