"""Predictive validity on the Higgs Twitter dump: does the score of 4 July predict the reactions of 5-7 July?

- Score: the snapshot of 2012-07-04 from the aggregates of 1-4 July only. All seven days are ingested
  (the truth is read from ``events``), but the days after the snapshot are never aggregated, so they cannot
  reach the score.
- Truth: reactions a person received on 5-7 July.
- Population: persons who received at least one reaction on 1-4 July (the people a score claims to rank).
- Baselines, from the same 1-4 July events: reactions received, distinct people who reacted.
- Figures: Spearman rank correlation with the truth (average ranks for ties) and top-100 overlap
  (|top 100 by predictor ∩ top 100 by truth| / 100, ties broken by person id).

Persons are the ``higgs:<id>`` accounts (nothing links them), read through ``accounts`` as every stage does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.aggregate.stage import with_persons
from clout.config import Settings, load_algorithm
from clout.ingest.actions import REACTIONS
from clout.tables import ACCOUNTS, EVENTS, TableStore
from clout.validate.common import (
    CLOUT,
    DIAGNOSTICS,
    Figure,
    Stopwatch,
    Validation,
    ValidationError,
    clout_columns,
    event_days,
    ingest_dump,
    log_outcome,
    measure_into,
    record,
    score_window,
    scratch_lake,
    spearman,
    tie_info,
    top_overlap,
)

NETWORK = "higgs"
HISTORY_FIRST = dt.date(2012, 7, 1)
SNAPSHOT = dt.date(2012, 7, 4)
TRUTH_LAST = dt.date(2012, 7, 7)
BASELINES = ["reactions", "distinct_reactors"]
# Evidence levels of the breakdown: the same Spearman within persons reacted to by at least k people. Most of
# the population was reacted to by one person and most of the truth is 0, so the whole-population figure is
# dominated by how a predictor orders that mass of ties (a tie-break by a weak signal costs more rank variance
# than it brings covariance); the breakdown shows how each predictor orders people with more evidence.
EVIDENCE_LEVELS = (3, 10)


def person_reactions(events_with_persons: DataFrame) -> DataFrame:
    """Reactions from one person to another: what 'received a reaction' means for truth and baselines alike."""
    is_reaction = F.col("action").isin(*sorted(REACTIONS))
    between_two_persons = F.col("target_person").isNotNull() & (F.col("actor_person") != F.col("target_person"))
    return events_with_persons.where(is_reaction & between_two_persons).select("event_date", "actor_person", "target_person")


def received(reactions: DataFrame, first: dt.date, last: dt.date) -> DataFrame:
    """Per person reacted to from ``first`` to ``last``: reactions received and distinct people who reacted."""
    in_period = F.col("event_date").between(F.lit(first), F.lit(last))
    return (
        reactions.where(in_period)
        .groupBy(F.col("target_person").alias("person_id"))
        .agg(F.count(F.lit(1)).alias("reactions"), F.count_distinct("actor_person").alias("distinct_reactors"))
        .select("person_id", "reactions", "distinct_reactors")
    )


def population(history: DataFrame, future: DataFrame, scores: DataFrame) -> DataFrame:
    """Everyone reacted to in the history period, with the truth and every predictor (absent = lowest)."""
    truth = future.select("person_id", F.col("reactions").alias("truth"))
    return (
        history.join(truth, on="person_id", how="left")
        .join(scores, on="person_id", how="left")
        .select(
            "person_id",
            F.coalesce("truth", F.lit(0)).alias("truth"),
            *clout_columns(),
            *BASELINES,
        )
    )


def measure(people: DataFrame) -> tuple[list[Figure], dict[str, float]]:
    """Spearman and top-100 overlap of Clout and each baseline against the truth, and the context numbers."""
    predictors = [CLOUT, *DIAGNOSTICS, *BASELINES]
    rho = spearman(people, "truth", predictors)
    overlap = top_overlap(people, "truth", predictors)
    figures = [
        Figure("spearman", rho[CLOUT], {b: rho[b] for b in BASELINES}),
        Figure("top100", overlap[CLOUT], {b: overlap[b] for b in BASELINES}),
    ]
    counts = people.agg(
        F.count(F.lit(1)).alias("population"),
        F.count(F.when(F.col("truth") > 0, 1)).alias("population_reacted_to_later"),
        F.count(F.when(F.col("scored"), 1)).alias("population_scored"),
        F.sum("truth").alias("truth_reactions"),
    ).first()
    info = {key: float(value or 0) for key, value in counts.asDict().items()}
    info |= {f"spearman_{d}": rho[d] for d in DIAGNOSTICS} | {f"top100_{d}": overlap[d] for d in DIAGNOSTICS}
    info |= tie_info(people, "truth", "truth") | tie_info(people, CLOUT, "clout")
    info |= evidence_breakdown(people, predictors)
    return figures, info


def evidence_breakdown(people: DataFrame, predictors: list[str]) -> dict[str, float]:
    """Spearman of every predictor within persons reacted to by at least k distinct people (k in EVIDENCE_LEVELS)."""
    out: dict[str, float] = {}
    for k in EVIDENCE_LEVELS:
        enough_evidence = F.col("distinct_reactors") >= F.lit(k)
        rho = spearman(people.where(enough_evidence), "truth", predictors)
        out |= {f"spearman_min{k}reactors_{name}": value for name, value in rho.items()}
    return out


def validate_higgs(
    spark: SparkSession, settings: Settings, path: str | Path, workdir: str | Path | None = None, algorithm_version: str | None = None
) -> Validation:
    """Run the Higgs predictive validation end to end in a scratch lakehouse; log it to MLflow and return it."""
    algorithm = load_algorithm(settings, algorithm_version)
    validation = Validation(
        NETWORK,
        {
            "dataset": NETWORK, "path": str(Path(path).resolve()), "algorithm_version": algorithm.version,
            "window_days": str(algorithm.window.days), "half_life_days": str(algorithm.window.half_life_days),
            "history": f"{HISTORY_FIRST}..{SNAPSHOT}", "snapshot_date": str(SNAPSHOT),
            "truth": f"{SNAPSHOT + dt.timedelta(days=1)}..{TRUTH_LAST}", "workdir": str(Path(workdir).resolve() if workdir else "temporary"),
        },
    )  # fmt: skip
    clock = Stopwatch()
    with record(settings, validation, {"algorithm_version": algorithm.version}) as run, scratch_lake(settings, workdir) as lake:
        validation.run_id = run.info.run_id
        with clock.step("ingest"):
            validation.info |= ingest_dump(spark, lake, NETWORK, str(path))
        days = event_days(spark, lake, NETWORK)
        _check_covers(days)
        scores = score_window(spark, lake, algorithm, days, HISTORY_FIRST, SNAPSHOT, clock)
        with clock.step("measure"):
            store = TableStore(spark, lake)
            events = store.read(EVENTS).where(F.col("network") == F.lit(NETWORK))
            reactions = person_reactions(with_persons(events, store.read(ACCOUNTS)))
            history = received(reactions, HISTORY_FIRST, SNAPSHOT)
            future = received(reactions, SNAPSHOT + dt.timedelta(days=1), TRUTH_LAST)
            measure_into(validation, population(history, future, scores), measure)
        validation.seconds = clock.seconds | {"total": clock.total()}
        log_outcome(validation)
    return validation


def _check_covers(days: list[dt.date]) -> None:
    """The measurement needs events both before and after the snapshot: another file would be meaningless here."""
    before = [d for d in days if HISTORY_FIRST <= d <= SNAPSHOT]
    after = [d for d in days if SNAPSHOT < d <= TRUTH_LAST]
    if not before or not after:
        raise ValidationError(f"the Higgs file must hold events of {HISTORY_FIRST}..{TRUTH_LAST}; found days {days[:3]}..{days[-3:]}")
