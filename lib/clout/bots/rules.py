"""Rules for what a classifier trained on other data cannot be trusted to see, and the ``account_risk`` rows.

- ``fixed_interval``: over at least ``timer_min_gaps`` gaps, nearly all gaps are whole multiples of the timer
  period (a scheduler firing on its clock, even when it skips ticks) or most gaps have one and the same
  length of a period or more. A person's gaps at second resolution are whole minutes one time in sixty, so
  ten such gaps in a row are not chance. Not applied on networks with coarse clocks (see features).
- ``follow_farm``: most actions are follows, to many distinct accounts, while the account itself draws
  almost no reactions: audience building, not a person taking part.

Where an account's profile is known (``account_profiles``), the profile model's probability joins the behaviour
model's by conf ``bots.evidence.combine`` (``combined_probability``), and ``reasons`` names which evidence fired.

Engagement rings are found on the engagement graph by clout.graph.rings (GraphFrames), not here.
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


def combined_probability(conf: BotsConf) -> Column:
    """The day's probability: the behaviour model's, combined with the profile model's where the profile is known.

    ``noisy_or``: 1 - (1 - b)(1 - p), two independent pieces of evidence that the account is a bot, either of
    which suffices; ``max``: the stronger one alone (no evidence adds up, so two weak signals stay weak).
    """
    behaviour, profile = F.col("probability"), F.col("profile_probability")
    both = F.lit(1.0) - (F.lit(1.0) - behaviour) * (F.lit(1.0) - profile) if conf.evidence.combine == "noisy_or" else F.greatest(behaviour, profile)
    return F.when(profile.isNull(), behaviour).otherwise(both)


def account_risk(scored: DataFrame, day: dt.date, model_version: str, conf: BotsConf) -> DataFrame:
    """Scored behaviour features (with ``probability``, and ``profile_probability`` / ``profile_model_version``,
    null for an account without a known profile) -> ``account_risk`` rows for ``day``.

    An account is risky when the combined probability (``combined_probability``) reaches the threshold or a rule
    fires. ``reasons`` names which evidence fired, first rule first: ``classifier:<b>`` (the behaviour model alone
    reaches the threshold), ``profile:<p>`` (the profile model alone), ``combined:<c>`` (neither alone, the two
    together), then the rules.
    """
    combined = combined_probability(conf)
    by_behaviour = F.col("probability") >= F.lit(conf.threshold)
    by_profile = F.coalesce(F.col("profile_probability") >= F.lit(conf.threshold), F.lit(False))
    by_both = (combined >= F.lit(conf.threshold)) & ~by_behaviour & ~by_profile
    reasons = F.filter(
        F.array(
            F.when(by_behaviour, F.format_string("classifier:%.2f", F.col("probability"))),
            F.when(by_profile, F.format_string("profile:%.2f", F.col("profile_probability"))),
            F.when(by_both, F.format_string("combined:%.2f", combined)),
            F.when(fixed_interval(conf), F.lit("fixed_interval")),
            F.when(follow_farm(conf), F.lit("follow_farm")),
        ),
        lambda reason: reason.isNotNull(),
    )
    return scored.select(
        F.lit(day).alias("risk_date"),
        "network",
        "account",
        combined.alias("probability"),
        (F.size(reasons) > 0).alias("is_risky"),
        reasons.alias("reasons"),
        F.lit(model_version).alias("model_version"),
        F.col("probability").alias("behaviour_probability"),
        "profile_probability",
        "profile_model_version",
    )
