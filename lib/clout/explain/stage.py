"""Explanations: why each staged score is what it is, one row per person in ``score_explanations``.

The explanation reads the same window reactions as the graph and the score (``window_reactions`` of the window
state, with the snapshot's risk), so what it says counted is exactly what counted:

- the three parts as percentiles, and the networks by their share of the effort received (from the staged row);
- the topics by their share of the topical effort received (after the bot discount), top 5;
- the top 5 engagers by the effort they gave (after the discount), with their own staged score and share;
- the bot discount: the share of the raw effort received that bot risk removed; the ring discount apart, the share
  removed because it came from the person's own coordinated ring (clout.graph.rings), named in the summary;
- the change since the previous published snapshot of the same algorithm version; when the daily bound held the
  score off the calibrated one, or the person is carried forward (clout.score.bound), the summary says so.

It runs on the staged snapshot, before publishing: a snapshot is published together with its explanations.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from clout import window_state
from clout.config import Algorithm, Settings
from clout.exact import FRACTION, exact_sum
from clout.graph.rings import snapshot_rings
from clout.identity.stage import anonymous_accounts
from clout.score.bound import previous_scores, previous_snapshot
from clout.score.reactions import discount_rings, snapshot_risk, window_reactions
from clout.score.stage import snapshot_rows, staged
from clout.sqltext import snapshot_condition
from clout.tables import SCORE_EXPLANATIONS, TableStore

TOP = 5  # topics and engagers kept per person
IN_SUMMARY = 3  # networks, topics and engagers named in the one-line summary
_SEPARATOR = " · "


def _field_type(column: str):
    return SCORE_EXPLANATIONS.schema[column].dataType


def _by_share_desc(left: Column, right: Column, name: str) -> Column:
    """Comparator: larger share first, then by name, so ties come out the same on every run."""
    return (
        F.when(left["share"] > right["share"], -1)
        .when(left["share"] < right["share"], 1)
        .when(left[name] < right[name], -1)
        .when(left[name] > right[name], 1)
        .otherwise(0)
    )


def network_shares(staged_scores: DataFrame) -> DataFrame:
    """(person_id, networks): each network's share of the effort received, from the staged parts, largest first.

    A network whose reactions all came from risky actors weighs nothing and is left out.
    """
    shares = F.transform(
        F.filter("network_parts", lambda part: part["effort_share"] > 0),
        lambda part: F.struct(part["network"].alias("network"), part["effort_share"].alias("share")),
    )
    return staged_scores.select("person_id", F.array_sort(shares, lambda a, b: _by_share_desc(a, b, "network")).alias("networks"))


def _top_per_person(rows: DataFrame, name: str) -> DataFrame:
    """Keep each target's ``TOP`` rows by effort; add ``share`` of the target's total effort (over every row)."""
    per_target = Window.partitionBy("target_person")
    ranking = per_target.orderBy(F.desc("effort"), F.asc(name))
    return (
        rows.withColumn("share", F.col("effort") / exact_sum("effort", over=per_target))  # exact sums throughout: clout.exact
        .withColumn("rank", F.row_number().over(ranking))
        .where(F.col("rank") <= TOP)
    )


def topic_shares(topical_reactions: DataFrame) -> DataFrame:
    """(person_id, topics): the top topics by share of the person's topical effort (after the discount)."""
    gave_effort = F.col("effort") > 0  # a topic only risky actors reacted on built nothing
    per_topic = topical_reactions.where(gave_effort).groupBy("target_person", "topic").agg(exact_sum("effort").alias("effort"))
    top = _top_per_person(per_topic, "topic")
    return top.groupBy(F.col("target_person").alias("person_id")).agg(
        F.transform(
            F.array_sort(F.collect_list(F.struct("rank", "topic", "share"))),
            lambda t: F.struct(t["topic"].alias("topic"), t["share"].alias("share")),
        ).alias("topics")
    )


def received_totals(reactions: DataFrame) -> DataFrame:
    """(person_id, effort, effort_raw, engagers): effort received after / before the discount, distinct named engagers."""
    named_engager = ~F.col("anonymous") & (F.col("effort") > 0)  # a risky actor's reactions count for nothing
    return reactions.groupBy(F.col("target_person").alias("person_id")).agg(
        exact_sum("effort").alias("effort"),
        exact_sum("effort_raw").alias("effort_raw"),
        F.countDistinct(F.when(named_engager, F.col("actor_person"))).alias("engagers"),
    )


def ring_effort(window: DataFrame, reactions: DataFrame) -> DataFrame:
    """(person_id, ring_effort): the bot-discounted effort received that the ring discount removed (``window``: the
    window reactions before it, ``reactions``: after it; the same rows, so per person the difference is the ring's)."""
    before = window.groupBy(F.col("target_person").alias("person_id")).agg(exact_sum("effort").alias("before"))
    after = reactions.groupBy(F.col("target_person").alias("person_id")).agg(exact_sum("effort").alias("after"))
    return before.join(after, on="person_id", how="inner").select("person_id", (F.col("before") - F.col("after")).alias("ring_effort"))


def top_engagers(reactions: DataFrame, staged_scores: DataFrame) -> DataFrame:
    """(person_id, top_engagers, top_engagers_share): who gave the most effort across networks, with their score.

    An anonymous placeholder is listed as itself (it stands for unnamed voters; it has no score).
    """
    gave_effort = F.col("effort") > 0
    per_actor = reactions.where(gave_effort).groupBy("target_person", "actor_person").agg(exact_sum("effort").alias("effort"))
    their_scores = staged_scores.select(F.col("person_id").alias("actor_person"), F.col("score").alias("actor_score"))
    top = _top_per_person(per_actor, "actor_person").join(their_scores, on="actor_person", how="left")
    engager = F.struct("rank", F.col("actor_person").alias("person_id"), F.col("actor_score").alias("score"), "share")
    return top.groupBy(F.col("target_person").alias("person_id")).agg(
        F.transform(
            F.array_sort(F.collect_list(engager)),
            lambda e: F.struct(e["person_id"].alias("person_id"), e["score"].alias("score"), e["share"].alias("share")),
        ).alias("top_engagers"),
        exact_sum("share", FRACTION).alias("top_engagers_share"),
    )


def _percent(value: Column) -> Column:
    return F.format_string("%.0f%%", value * 100)


def _listed(array: str, name: str) -> Column:
    """'twitter 61%, reddit 30%' for the first ``IN_SUMMARY`` entries of an array of (name, share); null when empty."""
    named = F.transform(F.slice(array, 1, IN_SUMMARY), lambda x: F.concat_ws(" ", x[name], _percent(x["share"])))
    return F.when(F.size(array) > 0, F.array_join(named, ", "))


def engagers_piece(top: Column) -> Column:
    """'top engagers person:p3 (81), twitter:12 (unscored) gave 12%': the first engagers and the share they gave.

    Erasure rebuilds this piece when it removes someone from another person's engagers (clout.erasure).
    """
    shown = F.slice(top, 1, IN_SUMMARY)
    names = F.transform(shown, lambda e: F.format_string("%s (%s)", e["person_id"], F.coalesce(e["score"].cast("string"), F.lit("unscored"))))
    gave = F.aggregate(shown, F.lit(0.0), lambda total, e: total + e["share"])
    return F.when(F.size(top) > 0, F.format_string("top engagers %s gave %s", F.array_join(names, ", "), _percent(gave)))


def bound_piece() -> Column:
    """'carried: ...' or 'bounded: calibrated 71', from the staged ``calibrated_score`` and ``carried_forward``; null otherwise."""
    carried = F.coalesce(F.col("carried_forward"), F.lit(False))  # null: a staged row from before the bound's columns
    held = ~F.col("suppressed") & (F.col("calibrated_score") != F.col("score"))
    piece = F.when(carried & ~F.col("suppressed"), F.lit("carried: no reaction in the window any more, drifting down to the floor"))
    return piece.when(~carried & held, F.format_string("bounded: calibrated %d", F.col("calibrated_score")))


def summary(previous: dt.date | None) -> Column:
    """The one-line explanation, from the explanation's own columns (and the staged ``bot_probability``,
    ``calibrated_score`` and ``carried_forward``)."""
    suppressed = F.when(F.col("suppressed"), F.format_string("suppressed: risky account (bot probability %.2f)", F.col("bot_probability")))
    part = lambda name: F.format_string(f"{name} p%d", F.floor(F.col(f"p_{name}") * 100).cast("int"))  # noqa: E731
    bots = F.when(F.col("bot_discount") > 0, F.concat(F.lit("bots −"), _percent(F.col("bot_discount"))))
    ring = F.when(F.col("ring_discount") > 0, F.concat(F.lit("ring −"), _percent(F.col("ring_discount"))))
    scored_before = F.col("previous_score").isNotNull()
    since = F.col("previous_date").cast("string")  # format_string would print a date's internal day number
    change = F.when(scored_before & (F.col("score_change") > 0), F.format_string("+%d since %s", "score_change", since))
    change = change.when(scored_before & (F.col("score_change") < 0), F.format_string("−%d since %s", F.abs("score_change"), since))
    change = change.when(scored_before, F.format_string("±0 since %s", since))
    if previous is not None:  # there was a snapshot, and the person was not in it
        change = change.otherwise(F.lit(f"new since {previous.isoformat()}"))
    return F.concat_ws(
        _SEPARATOR,
        suppressed,
        F.col("score").cast("string"),
        bound_piece(),
        part("reach"),
        part("amplification"),
        part("authority"),
        _listed("networks", "network"),
        _listed("topics", "topic"),
        engagers_piece(F.col("top_engagers")),
        bots,
        ring,
        change,
    )


def explain(
    staged_scores: DataFrame,
    reactions: DataFrame,
    topical_reactions: DataFrame,
    previous: DataFrame,
    previous_date: dt.date | None,
    rings: DataFrame | None = None,
) -> DataFrame:
    """One explanation per staged person (the ``score_explanations`` columns).

    ``rings``: (person_id, ring_effort) from ``ring_effort``: the summary names the ring discount apart from the
    bot discount, and ``bot_discount`` stays the share removed as bot reactions only.
    """
    totals = received_totals(reactions)
    totals = totals.join(rings, on="person_id", how="left") if rings is not None else totals.withColumn("ring_effort", F.lit(0.0))
    removed_by_ring = F.coalesce(F.col("ring_effort"), F.lit(0.0))
    nothing_received = F.coalesce(F.col("effort_raw"), F.lit(0.0)) <= 0  # a suppressed person may have received nothing
    explained_parts = staged_scores.select(
        "snapshot_date", "algorithm_version", "person_id", "score", "p_reach", "p_amplification", "p_authority", "suppressed", "bot_probability",
        "calibrated_score", "carried_forward",
    )  # fmt: skip
    explained = (
        explained_parts.join(network_shares(staged_scores), on="person_id", how="left")
        .join(topic_shares(topical_reactions), on="person_id", how="left")
        .join(top_engagers(reactions, staged_scores), on="person_id", how="left")
        .join(totals, on="person_id", how="left")
        .join(previous, on="person_id", how="left")
        .select(
            "snapshot_date",
            "algorithm_version",
            "person_id",
            "score",
            "p_reach",
            "p_amplification",
            "p_authority",
            F.coalesce("networks", F.array().cast(_field_type("networks"))).alias("networks"),
            F.coalesce("topics", F.array().cast(_field_type("topics"))).alias("topics"),
            F.coalesce("top_engagers", F.array().cast(_field_type("top_engagers"))).alias("top_engagers"),
            F.coalesce("top_engagers_share", F.lit(0.0)).alias("top_engagers_share"),
            F.coalesce("engagers", F.lit(0)).cast("long").alias("engagers"),
            F.when(nothing_received, F.lit(0.0)).otherwise(F.lit(1.0) - (F.col("effort") + removed_by_ring) / F.col("effort_raw")).alias("bot_discount"),
            F.when(nothing_received, F.lit(0.0)).otherwise(removed_by_ring / F.col("effort_raw")).alias("ring_discount"),
            "suppressed",
            "bot_probability",
            "calibrated_score",
            "carried_forward",
            "previous_date",
            "previous_score",
            (F.col("score") - F.col("previous_score")).alias("score_change"),
        )
    )
    return explained.withColumn("summary", summary(previous_date)).select(*SCORE_EXPLANATIONS.columns)


def compute(spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date, bots: bool = True) -> dict[str, float]:
    """Replace the snapshot's partition of ``score_explanations`` from its staged scores.

    ``bots`` must match the score run (``clout.pipeline.score_snapshot``) so the discount explained is the one applied.
    """
    store = TableStore(spark, settings)
    staged_scores = staged(store, algorithm.version, snapshot_date).cache()
    risk = snapshot_risk(store, snapshot_date, bots).cache()
    anonymous = anonymous_accounts(settings)
    # the ring discount the score applied (clout.pipeline.score_snapshot), from the rings it wrote for this snapshot
    members = snapshot_rings(store, snapshot_date, algorithm.version).select("person_id", "ring_id").cache()
    window = window_reactions(window_state.pairs(store, algorithm, snapshot_date), risk, snapshot_date, algorithm, anonymous).cache()
    reactions = discount_rings(window, members, algorithm).cache()  # read for totals and engagers
    topical_pairs = window_state.pairs(store, algorithm, snapshot_date, topics=True)
    topical = discount_rings(window_reactions(topical_pairs, risk, snapshot_date, algorithm, anonymous), members, algorithm)
    previous_date = previous_snapshot(store, algorithm.version, snapshot_date)
    previous = previous_scores(store, algorithm.version, previous_date)
    explanations = explain(staged_scores, reactions, topical, previous, previous_date, ring_effort(window, reactions))
    this_snapshot = snapshot_condition(snapshot_date, algorithm.version)
    store.replace_partitions(SCORE_EXPLANATIONS, explanations, this_snapshot)
    for cached in (reactions, window, members, risk, staged_scores):
        cached.unpersist()
    stats = (
        store.read(SCORE_EXPLANATIONS)
        .where(snapshot_rows(snapshot_date, algorithm.version))
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.mean("bot_discount").alias("bot_discount"),
            F.mean("top_engagers_share").alias("top_engagers_share"),
            F.count("previous_score").alias("with_previous"),
        )
        .first()
    )
    return {
        "explanations": float(stats.rows),
        "explanations_bot_discount_mean": float(stats.bot_discount or 0),
        "explanations_top_engagers_share_mean": float(stats.top_engagers_share or 0),
        "explanations_with_previous": float(stats.with_previous),
    }
