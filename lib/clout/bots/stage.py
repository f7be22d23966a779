"""The bots stage of a day: behaviour features over the window -> champion model, with the profile champion's
probability where the account's profile is in ``account_profiles`` -> rules -> ``account_risk``."""

from __future__ import annotations

import datetime as dt
import logging

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clout.bots.features import behaviour_features, first_seen, in_window
from clout.bots.model import Champion, load_champion, score
from clout.bots.profiles import profile_probabilities
from clout.bots.rules import account_risk
from clout.config import Settings
from clout.sqltext import date_literal
from clout.tables import ACCOUNT_RISK, EVENTS, TableStore

log = logging.getLogger(__name__)


def score_accounts(spark: SparkSession, settings: Settings, day: dt.date) -> dict[str, int]:
    """Replace ``account_risk`` for ``day`` (idempotent); return accounts scored, risky, and per reason."""
    store = TableStore(spark, settings)
    champion = champion_or_train(spark, settings)
    features = behaviour_features(store.read(EVENTS), first_seen(store), day, settings.bots)
    scored = score(champion, features)
    # the window's actors, read from events (a scan of two columns), not from `scored`: that would compute the
    # behaviour features a second time
    actors = in_window(store.read(EVENTS), day, settings.bots.window_days).select("network", F.col("actor_account").alias("account"))
    profiles = profile_probabilities(store, actors)
    if profiles is None:  # no profiles stored: behaviour alone, as before profiles existed
        scored = scored.select("*", F.lit(None).cast("double").alias("profile_probability"), F.lit(None).cast("string").alias("profile_model_version"))
    else:
        scored = scored.join(profiles, on=["network", "account"], how="left")
    risk = account_risk(scored, day, champion.label, settings.bots)
    store.replace_partitions(ACCOUNT_RISK, risk, f"risk_date = {date_literal(day)}")
    written = store.read(ACCOUNT_RISK).where(F.col("risk_date") == F.lit(day))
    totals = written.agg(F.count(F.lit(1)).alias("accounts"), F.sum(F.col("is_risky").cast("long")).alias("risky")).first()
    reasons = written.select(F.explode("reasons").alias("reason")).groupBy(F.regexp_replace("reason", ":.*$", "").alias("reason")).count().collect()
    return {"accounts_scored": totals.accounts, "accounts_risky": totals.risky or 0} | {f"risky_{r.reason}": r["count"] for r in reasons}


class NoChampionModel(RuntimeError):
    """No behaviour model is registered under the champion alias, and conf does not allow training one here."""


def champion_or_train(spark: SparkSession, settings: Settings) -> Champion:
    """The registered behaviour champion; on a store without one, train it first when ``bots.train_if_missing``."""
    from mlflow.exceptions import MlflowException

    try:
        return load_champion(settings, "behaviour")
    except MlflowException as err:
        if not settings.bots.train_if_missing:
            name = f"models:/{settings.bots.registry.behaviour_model}@{settings.bots.registry.alias}"
            raise NoChampionModel(f"no {name} in {settings.tracking_uri()}: run `clout bots train` first ({err.error_code})") from None
    log.warning("bots: no champion behaviour model in %s: training one now (bots.train_if_missing)", settings.tracking_uri())
    from clout.bots.training import train  # only a store without a model pays for importing training

    train(spark, settings)
    return load_champion(settings, "behaviour")
