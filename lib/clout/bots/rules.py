"""Rules for what a classifier trained on other data cannot be trusted to see, and the ``account_risk`` rows.

- ``fixed_interval``: over at least ``timer_min_gaps`` gaps, nearly all gaps are whole multiples of the timer
  period (a scheduler firing on its clock, even when it skips ticks) or most gaps have one and the same
  length of a period or more. A person's gaps at second resolution are whole minutes one time in sixty, so
  ten such gaps in a row are not chance. Not applied on networks with coarse clocks (see features).
- ``follow_farm``: most actions are follows, to many distinct accounts, while the account itself draws
  almost no reactions: audience building, not a person taking part.

Engagement rings (groups of accounts that mostly react to each other) need connected components / motif
search on the engagement graph, i.e. GraphFrames, whose JVM jar is not available on this machine; they are
left out rather than approximated.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clout.config import BotsConf


def fixed_interval(conf: BotsConf) -> Column:
    r = conf.rules
    enough_gaps = F.col("gaps") >= F.lit(r.timer_min_gaps)
    on_timer = F.col("timer_share") >= F.lit(r.timer_share)
    one_length = F.col("fixed_gap_share") >= F.lit(r.fixed_gap_share)
    return F.coalesce(enough_gaps & (on_timer | one_length), F.lit(False))


def follow_farm(conf: BotsConf) -> Column:
    r = conf.rules
    mostly_follows = F.col("follow_share") >= F.lit(r.follow_share)
    many_targets = F.col("distinct_targets") >= F.lit(r.follow_min_targets)
    ignored = F.col("reactions_per_action") <= F.lit(r.follow_max_reactions_per_action)
    return F.coalesce(mostly_follows & many_targets & ignored, F.lit(False))


def account_risk(scored: DataFrame, day: dt.date, model_version: str, conf: BotsConf) -> DataFrame:
    """Scored behaviour features (with ``probability``) -> ``account_risk`` rows for ``day``.

    An account is risky when the classifier's probability reaches the threshold or a rule fires; ``reasons``
    lists which, the classifier with its probability.
    """
    by_classifier = F.col("probability") >= F.lit(conf.threshold)
    reasons = F.filter(
        F.array(
            F.when(by_classifier, F.format_string("classifier:%.2f", F.col("probability"))),
            F.when(fixed_interval(conf), F.lit("fixed_interval")),
            F.when(follow_farm(conf), F.lit("follow_farm")),
        ),
        lambda reason: reason.isNotNull(),
    )
    return scored.select(
        F.lit(day).alias("risk_date"),
        "network",
        "account",
        F.col("probability"),
        (F.size(reasons) > 0).alias("is_risky"),
        reasons.alias("reasons"),
        F.lit(model_version).alias("model_version"),
    )
