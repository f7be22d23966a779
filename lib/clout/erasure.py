"""Erasure: remove one person from every table, history included, and record that it happened.

``forget`` finds the person's accounts (``accounts`` and ``identity_links``; an unlinked person's id is its
account id), DELETEs every row that names the person or one of those accounts, then VACUUMs each table it
changed, so older Delta versions stop holding the rows too. VACUUM follows the tables' retention policy
(``delta.deletedFileRetentionDuration``, 7 days unless set): until it has passed, time travel to a version
before the erasure still reads the person. ``retain_hours`` shortens that for one erasure (0 = now).

Quarantined records have no account columns; a record is erased when its network is one of the person's and
its raw payload or event id holds one of their native ids as a whole token (both parts of a ``user@host``
id). That may erase a few more quarantined lines than strictly needed.

``erasure_log`` keeps one row per table changed: a request id, the time, the rows removed and the Delta
versions. It holds no person or account id. Landing files and MLflow artifacts (top-100 lists) are outside
the tables and are not touched here.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from clout.config import Settings
from clout.tables import (
    ACCOUNT_RISK,
    ACCOUNTS,
    AUTHORITY,
    DAILY_INTERACTIONS,
    ERASURE_LOG,
    EVENTS,
    IDENTITY_LINKS,
    POSTS_DAILY,
    QUARANTINE,
    SCORES,
    TableSpec,
    TableStore,
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
        (AUTHORITY, F.col("person_id") == persons),
        (SCORES, F.col("person_id") == persons),
        (ACCOUNT_RISK, F.col("account").isin(*account_list)),
    ]


def forget(spark: SparkSession, settings: Settings, person_id: str, request_id: str | None = None, retain_hours: float | None = None) -> dict[str, int]:
    """Erase ``person_id`` from every table; returns rows removed per table (tables with none are left out)."""
    store = TableStore(spark, settings)
    request_id = request_id or f"erasure-{uuid.uuid4().hex}"
    accounts = person_accounts(store, person_id)
    erased_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    removed: dict[str, int] = {}
    log_rows = []
    for spec, condition in _conditions(person_id, accounts):
        if not store.exists(spec):
            continue
        before = store.version(spec)
        table = store.delta(spec)
        table.delete(condition)
        after = store.version(spec)
        if after == before:
            continue
        metrics = table.history(1).select("operationMetrics").first()[0] or {}
        rows = int(metrics.get("numDeletedRows", "0"))
        if rows:
            _vacuum(spark, store, spec, retain_hours)
            removed[spec.name] = rows
            log_rows.append((request_id, erased_at, spec.name, rows, before, after, None if retain_hours is None else float(retain_hours)))
    if log_rows:
        store.append(ERASURE_LOG, spark.createDataFrame(log_rows, ERASURE_LOG.schema))
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
