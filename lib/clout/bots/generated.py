"""Behaviour training data: generated days with planted bots, labelled by the generator's truth.

The only bots module that imports the generator (``clout.synth``); only training (``clout.bots.training``)
imports this one. The generated days of ``bots.training.days`` are rendered to native files, ingested into a
scratch lakehouse (never the real ``events``) and labelled with the generator's truth. The days differ in how much
bots act relative to people (as often on one, several times more on the other), so daily volume alone does not
separate them and a prolific person is not a bot by default.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clout import fs
from clout.bots.features import behaviour_features, first_seen
from clout.config import BotTrainingDayConf, Settings
from clout.ingest.stage import ingest
from clout.synth.generator import SynthSpec, generate, native_id
from clout.tables import EVENTS, TableStore


def training_settings(settings: Settings) -> Settings:
    """The scratch lakehouse generated training days are ingested into (never the real ``events``)."""
    root = f"{settings.path(settings.storage.root).rstrip('/')}/_bots_training"
    storage = settings.storage.model_copy(update={"root": root, "landing": f"{root}/landing"})
    return settings.model_copy(update={"storage": storage})


def truth_accounts(truth: DataFrame, networks: list[str]) -> DataFrame:
    """(network, account, label, bot_strategy) for every generated person on every network, from the generator's truth.

    Account ids are "<network>:<native id>", as every adapter spells them (and as link records name them).
    """
    parts = [
        truth.select(
            F.lit(n).alias("network"),
            F.concat(F.lit(f"{n}:"), native_id(n, F.col("person_idx"))).alias("account"),
            F.col("is_bot").cast("double").alias("label"),
            F.col("bot_strategy"),  # how a bot acted (clout.synth.generator); null for people
        )
        for n in networks
    ]
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out.distinct()


def behaviour_training_data(spark: SparkSession, settings: Settings, days: list[BotTrainingDayConf] | None = None) -> DataFrame:
    """Behaviour features of generated days (default: ``bots.training.days``), labelled by the generator's truth.

    One row per (day, network, account) with ``label`` and the ``bot_strategy`` the bot acted by (null for people).
    """
    scratch = training_settings(settings)
    fs.remove(spark, scratch.path(scratch.storage.root))
    training = settings.bots.training
    networks = {}
    for d in days or training.days:
        spec = SynthSpec(
            day=d.date,
            events=d.events,
            persons=d.persons,
            bot_permille=d.bot_permille,
            bot_event_share=d.bot_event_share,
            seed=d.seed,
            bot_strategies=tuple(d.bot_strategies),
            networks=tuple(training.networks) if training.networks else None,
        )
        networks[d.date] = generate(spark, scratch, spec)["networks"]
    # one ingest for every day; "now" is after the last one, so no generated day is in the future
    last = max(networks)
    ingest(spark, scratch, None, now=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(6)))
    store = TableStore(spark, scratch)
    days = []
    for day, day_networks in sorted(networks.items()):
        truth = spark.read.parquet(f"{scratch.landing_path('_truth')}/{day.isoformat()}/persons")
        features = behaviour_features(store.read(EVENTS), first_seen(store), day, settings.bots, window_days=1)
        days.append(features.join(truth_accounts(truth, day_networks), on=["network", "account"], how="inner").withColumn("day", F.lit(day)))
    out = days[0]
    for d in days[1:]:
        out = out.unionByName(d)
    return out
