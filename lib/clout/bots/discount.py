"""How bot risk reaches the score: per-person risk of a snapshot day, and the weight a reaction keeps.

``account_risk`` is per account; reactions in ``daily_interactions`` are per person. A person is as risky as
their riskiest account that day: one automated account behind a person is enough to distrust what that person's
reactions say about others.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clout.config import Algorithm


def person_risk(account_risk: DataFrame, accounts: DataFrame, day: dt.date) -> DataFrame:
    """(person_id, bot_probability, is_risky) for every person with an assessed account on ``day``."""
    assessed = account_risk.where(F.col("risk_date") == F.lit(day)).select(F.col("account").alias("account_id"), "probability", "is_risky")
    owners = accounts.select("account_id", "person_id")
    with_person = assessed.join(owners, on="account_id", how="left").withColumn("person_id", F.coalesce("person_id", "account_id"))
    return with_person.groupBy("person_id").agg(
        F.max("probability").alias("bot_probability"), F.max(F.col("is_risky").cast("int")).cast("boolean").alias("is_risky")
    )


def no_risk(spark) -> DataFrame:
    """The person risk of a run without bot detection (real dumps with no behaviour to judge): nobody assessed."""
    return spark.createDataFrame([], "person_id string, bot_probability double, is_risky boolean")


def reaction_weight(algorithm: Algorithm) -> Column:
    """Weight a reaction keeps, from its actor's ``bot_probability`` and ``is_risky`` (null: not assessed -> 1).

    A risky actor's reactions (classifier over threshold, or a rule fired) weigh nothing; others weigh
    ``1 - probability``, so an uncertain account builds less than a clearly human one.
    """
    if not algorithm.bots.discount_reactions:
        return F.lit(1.0)
    risky = F.coalesce(F.col("is_risky"), F.lit(False))
    return F.when(risky, F.lit(0.0)).otherwise(F.lit(1.0) - F.coalesce(F.col("bot_probability"), F.lit(0.0)))
