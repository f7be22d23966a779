"""The bots stage of a day: behaviour features over the window -> champion model + rules -> ``account_risk``."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clout.bots.classifier import first_seen, load_champion, score
from clout.bots.features import behaviour_features
from clout.bots.rules import account_risk
from clout.config import Settings
from clout.tables import ACCOUNT_RISK, EVENTS, TableStore


def score_accounts(spark: SparkSession, settings: Settings, day: dt.date) -> dict[str, int]:
    """Replace ``account_risk`` for ``day`` (idempotent); return accounts scored, risky, and per reason."""
    store = TableStore(spark, settings)
    champion = load_champion(settings, "behaviour")
    features = behaviour_features(store.read(EVENTS), first_seen(store), day, settings.bots)
    risk = account_risk(score(champion, features), day, champion.label, settings.bots)
    store.replace_partitions(ACCOUNT_RISK, risk, f"risk_date = DATE'{day.isoformat()}'")
    written = store.read(ACCOUNT_RISK).where(F.col("risk_date") == F.lit(day))
    totals = written.agg(F.count(F.lit(1)).alias("accounts"), F.sum(F.col("is_risky").cast("long")).alias("risky")).first()
    reasons = written.select(F.explode("reasons").alias("reason")).groupBy(F.regexp_replace("reason", ":.*$", "").alias("reason")).count().collect()
    return {"accounts_scored": totals.accounts, "accounts_risky": totals.risky or 0} | {f"risky_{r.reason}": r["count"] for r in reasons}
