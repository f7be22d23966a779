"""Account profiles in the lakehouse: load a Twitter v1 profile export into ``account_profiles``, and the profile
model's probability for the accounts a day scores.

``clout bots profiles --network twitter --profiles FILE.csv[.gz]`` reads the export by header name
(``read_profile_csv``), checks every row (``check_profiles``) and keys it by the account id as ingest spells it
(``<network>:<id>``). Rows that fail a check, repeat an id already in the file (the latest crawl is kept) or name
an account on the suppression list go to ``profile_quarantine`` with their reason (opted-out rows without their
payload); the rest are merged into ``account_profiles`` (one row per account: a newer snapshot replaces the row).
The counts reconcile: rows read = loaded + quarantined, or the load fails before writing.

The daily risk (``clout.bots.stage``) scores the profiles of the day's accounts with the profile champion; with
no ``account_profiles`` table, or an empty one, it runs on behaviour alone, as before profiles existed.
"""

from __future__ import annotations

import uuid

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from clout import commits, faults, suppression
from clout.bots.features import CHECKED_PROFILE, check_profiles, profile_feature_columns, read_profile_csv
from clout.bots.model import load_champion, score
from clout.config import Settings
from clout.errors import InputError
from clout.tables import ACCOUNT_PROFILES, PROFILE_QUARANTINE, TableStore, utc_now

DUPLICATE = "duplicate_id"


class ProfileLoadError(InputError):
    """A profile load that does not reconcile, or names a network that is not configured."""


def load_profiles(spark: SparkSession, settings: Settings, network: str, path: str, run_id: str | None = None) -> dict[str, int]:
    """Load one profile export of ``network``; return rows read, loaded, quarantined and quarantined per reason."""
    if network not in settings.networks:
        raise ProfileLoadError(f"unknown network {network!r}: the configured networks are {', '.join(sorted(settings.networks))}")
    store = TableStore(spark, settings)
    run_id = run_id or uuid.uuid4().hex
    loaded_at = utc_now()
    checked = check_profiles(read_profile_csv(spark, path)).withColumn("account", F.concat(F.lit(f"{network}:"), F.col("id")))
    marked = suppression.mark(checked, suppression.listed_keys(store), settings.ingest.suppression_salt, ["account"])
    # one row per account: the latest crawl of a good row wins, ties broken by the raw text (the same in any order)
    latest = Window.partitionBy("account").orderBy(F.col("crawled").desc(), F.col("raw"))
    ranked = marked.withColumn("_n", F.when(F.col("reason").isNull() & F.col("account").isNotNull(), F.row_number().over(latest)))
    reason = F.when(F.col("opted_out"), F.lit(suppression.REASON)).when(F.col("reason").isNotNull(), F.col("reason")).when(F.col("_n") > 1, F.lit(DUPLICATE))
    rows = ranked.withColumn("reason", reason).cache()
    try:
        good = rows.where(F.col("reason").isNull()).select(
            "account",
            F.lit(network).alias("network"),
            *CHECKED_PROFILE.names,
            F.lit(path).alias("source_file"),
            F.lit(loaded_at).alias("loaded_at"),
            F.lit(run_id).alias("run_id"),
        )
        bad = rows.where(F.col("reason").isNotNull()).select(
            F.sha2(F.concat_ws("\u0000", F.lit(path), F.col("raw")), 256).alias("quarantine_id"),
            F.lit(network).alias("network"),
            F.lit(path).alias("source_file"),
            "reason",
            suppression.unless_opted_out(F.col("account")).alias("account"),
            suppression.unless_opted_out(F.col("raw")).alias("raw_payload"),
            F.lit(loaded_at).alias("loaded_at"),
            F.lit(run_id).alias("run_id"),
        )
        read = rows.count()
        by_reason = {r.reason: r["count"] for r in bad.groupBy("reason").count().collect()}
        loaded = good.count()
        counts = {"rows": read, "loaded": loaded, "quarantined": sum(by_reason.values())} | {f"quarantined_{k}": v for k, v in sorted(by_reason.items())}
        if counts["rows"] != counts["loaded"] + counts["quarantined"]:
            raise ProfileLoadError(f"{path}: {read} rows read, {loaded} loaded + {counts['quarantined']} quarantined: the load does not reconcile")
        _merge(store, good)
        # a bad row's id is its file and its text: loading the file again stores nothing new, and two identical bad
        # lines of one file are both counted (the file reconciles) and stored once
        store.insert_new(PROFILE_QUARANTINE, bad.dropDuplicates(["quarantine_id"]), ["quarantine_id"])
    finally:
        rows.unpersist()
    return counts


def _merge(store: TableStore, good: DataFrame) -> None:
    """Upsert by account: a snapshot crawled no earlier than the stored one replaces it (a late, older export does not)."""
    source = good.select(*ACCOUNT_PROFILES.columns)
    merge = (
        store.delta(ACCOUNT_PROFILES)
        .alias("t")
        .merge(source.alias("s"), "t.account = s.account")
        .whenMatchedUpdateAll(condition="s.crawled >= t.crawled")
        .whenNotMatchedInsertAll()
    )
    with faults.writing(ACCOUNT_PROFILES.name, store.path(ACCOUNT_PROFILES)):
        commits.with_retry(ACCOUNT_PROFILES.name, merge.execute)


def has_profiles(store: TableStore) -> bool:
    return store.exists(ACCOUNT_PROFILES) and store.read(ACCOUNT_PROFILES).limit(1).count() > 0


class NoProfileModel(RuntimeError):
    """Profiles are loaded but no profile model is registered under the champion alias."""


def profile_probabilities(store: TableStore, accounts: DataFrame) -> DataFrame | None:
    """(network, account, profile_probability, profile_model_version) for those of ``accounts`` (network, account)
    with a stored profile; None when no profile is stored (the day then runs on behaviour alone)."""
    if not has_profiles(store):
        return None
    from mlflow.exceptions import MlflowException

    settings = store.settings
    try:
        champion = load_champion(settings, "profile")
    except MlflowException as err:
        name = f"models:/{settings.bots.registry.profile_model}@{settings.bots.registry.alias}"
        raise NoProfileModel(f"account_profiles holds profiles but there is no {name}: run `clout bots train` ({err.error_code})") from None
    known = store.read(ACCOUNT_PROFILES).join(accounts.select("network", "account"), on=["network", "account"], how="left_semi")
    features = known.select("network", "account", *profile_feature_columns(known))
    return score(champion, features).select(
        "network", "account", F.col("probability").alias("profile_probability"), F.lit(champion.label).alias("profile_model_version")
    )
