"""What every validation shares: a scratch lakehouse, the scoring run, the figures and their MLflow run.

A validation scores a real dump with the project's own stages (ingest -> accounts -> daily aggregates ->
one snapshot) in a scratch lakehouse, so the configured tables are never touched, and compares Clout's
figure with simple baselines computed from the same events. Only MLflow is the configured store: the
runs of experiment ``clout-validation`` are how one model version is compared with the next.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import textwrap
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.ml.feature import VectorAssembler
from pyspark.ml.stat import Correlation
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.aggregate.stage import interactions, posts, with_persons
from clout.config import Algorithm, Settings
from clout.identity.stage import update_accounts
from clout.ingest.stage import ingest
from clout.publish import tracking
from clout.sqltext import date_literal, string_literal
from clout.tables import ACCOUNTS, DAILY_INTERACTIONS, EVENTS, POSTS_DAILY, TableStore

log = logging.getLogger(__name__)

EXPERIMENT = "clout-validation"
TOP_N = 100
CLOUT = "clout"  # the predictor name of the score itself; every other predictor is a baseline
PARTS = ("reach", "amplification", "authority")
# Clout's other columns, reported beside the figures (not baselines): where the score gains or loses
DIAGNOSTICS = ["clout_score", *[f"part_{p}" for p in PARTS]]
# raw_score and the parts are >= 0 (percentile means, counts, ranks): a person nobody scored ranks below all scored
UNSCORED = -1.0


class ValidationError(RuntimeError):
    """The measurement could not be made honestly (files did not reconcile, future data leaked in ...)."""


@dataclass(frozen=True)
class Figure:
    """One measure: Clout's value beside each baseline's, all against the same truth and population."""

    measure: str
    clout: float
    baselines: dict[str, float]

    @property
    def best_baseline(self) -> str:
        return max(self.baselines, key=lambda name: self.baselines[name])

    @property
    def beats_baselines(self) -> bool:
        # NaN (a constant predictor) compares False: an undefined figure never counts as a win
        return all(self.clout > value for value in self.baselines.values())


@dataclass
class Validation:
    """The outcome of one validation run: figures, context numbers, timings and the MLflow run."""

    dataset: str
    params: dict[str, str]
    figures: list[Figure] = field(default_factory=list)
    info: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None

    @property
    def beats_baselines(self) -> bool:
        return bool(self.figures) and all(f.beats_baselines for f in self.figures)

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for f in self.figures:
            out[f"{self.dataset}_{f.measure}_{CLOUT}"] = f.clout
            out |= {f"{self.dataset}_{f.measure}_{name}": value for name, value in f.baselines.items()}
            out[f"{self.dataset}_{f.measure}_beats_baselines"] = float(f.beats_baselines)
        out[f"{self.dataset}_beats_baselines"] = float(self.beats_baselines)
        out |= {f"{self.dataset}_{key}": float(value) for key, value in self.info.items()}
        out |= {f"{self.dataset}_seconds_{stage}": value for stage, value in self.seconds.items()}
        return out

    def payload(self) -> dict:
        return {
            "dataset": self.dataset,
            "params": self.params,
            "figures": [
                {"measure": f.measure, CLOUT: f.clout, "baselines": f.baselines, "best_baseline": f.best_baseline,
                 "beats_baselines": f.beats_baselines}
                for f in self.figures
            ],
            "beats_baselines": self.beats_baselines,
            "info": self.info,
            "seconds": self.seconds,
        }  # fmt: skip

    def table(self) -> str:
        """The figures as a small text table, one row per measure."""
        names = sorted({name for f in self.figures for name in f.baselines})
        header = ["measure", CLOUT, *names, "best baseline", "beats"]
        rows = [
            [f.measure, f"{f.clout:.3f}", *(f"{f.baselines[n]:.3f}" if n in f.baselines else "-" for n in names),
             f"{f.best_baseline} {f.baselines[f.best_baseline]:.3f}", "yes" if f.beats_baselines else "no"]
            for f in self.figures
        ]  # fmt: skip
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        context = ", ".join(f"{k} {v:,.0f}" if float(v).is_integer() else f"{k} {v:.3f}" for k, v in sorted(self.info.items()))
        return "\n".join(
            [
                f"validate {self.dataset} ({self.params.get('algorithm_version', '?')}): MLflow run {self.run_id}",
                *lines,
                f"beats baselines: {'yes' if self.beats_baselines else 'no'}",
                *textwrap.wrap(f"context: {context}", width=120, subsequent_indent="  "),
                f"seconds: {', '.join(f'{k} {v:.0f}' for k, v in self.seconds.items())}",
            ]
        )


class Stopwatch:
    """Seconds per named step, in the order the steps ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started = time.monotonic()

    @contextmanager
    def step(self, name: str):
        began = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - began, 1)
            log.info("validate: %s took %.1f s", name, self.seconds[name])

    def total(self) -> float:
        return round(time.monotonic() - self._started, 1)


# ---------------------------------------------------------------- settings and the scratch lakehouse


def scratch_settings(settings: Settings, root: Path) -> Settings:
    """The same settings with tables, landing and checkpoints under ``root``; MLflow stays the configured store."""
    storage = settings.storage.model_copy(
        update={"root": str(root / "lakehouse"), "landing": str(root / "landing"), "checkpoint_dir": str(root / "checkpoints")}
    )
    return settings.model_copy(update={"storage": storage})


def tracking_settings(settings: Settings) -> Settings:
    """The configured MLflow store, experiment ``clout-validation``: validation runs never mix with daily ones."""
    return settings.model_copy(update={"mlflow": settings.mlflow.model_copy(update={"experiment": EXPERIMENT})})


@contextmanager
def scratch_lake(settings: Settings, workdir: str | Path | None):
    """Scratch settings under ``workdir`` (kept afterwards), or under a fresh temporary folder removed afterwards."""
    keep = workdir is not None
    root = Path(workdir) if keep else Path(tempfile.mkdtemp(prefix="clout-validate-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        yield scratch_settings(settings, root.resolve())
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- the project's own stages


def ingest_dump(spark: SparkSession, lake: Settings, network: str, path: str) -> dict[str, float]:
    """Ingest the dump into the scratch events table; a reused workdir skips the files it already holds."""
    report = ingest(spark, lake, None, paths={network: [path]})
    if not report.reconciled:
        raise ValidationError(f"ingest of {path} did not reconcile: {report.unreconciled()}")
    if not report.files and not report.skipped_files:
        raise ValidationError(f"no file to ingest under {path}")
    events = TableStore(spark, lake).read(EVENTS).where(F.col("network") == F.lit(network)).count()
    # rows_* count this run's ingest (0 when a reused workdir already held the files); events what the lake holds
    return {"rows_accepted": float(report.total("accepted")), "rows_quarantined": float(report.total("quarantined")), "events": float(events)}


def event_days(spark: SparkSession, lake: Settings, network: str) -> list[dt.date]:
    """The days holding events of ``network`` (a few hundred dates at most for a dump)."""
    events = TableStore(spark, lake).read(EVENTS).where(F.col("network") == F.lit(network))
    return sorted(r.event_date for r in events.select("event_date").distinct().collect())


def build_aggregates(spark: SparkSession, lake: Settings, algorithm: Algorithm, first: dt.date, last: dt.date) -> None:
    """``daily_interactions`` and ``daily_posts`` of every day from ``first`` to ``last``, in one pass.

    The rows are exactly those ``clout.aggregate.stage.build_day`` writes day by day (the same transforms;
    both group by ``event_date``), but in two Delta commits instead of two per day: a dump spans months,
    and a commit per day would cost more than the whole scoring.
    """
    store = TableStore(spark, lake)
    in_range = F.col("event_date").between(F.lit(first), F.lit(last))
    enriched = with_persons(store.read(EVENTS).where(in_range), store.read(ACCOUNTS)).cache()
    dates = f"event_date >= {date_literal(first)} AND event_date <= {date_literal(last)}"
    store.replace_partitions(DAILY_INTERACTIONS, interactions(enriched, algorithm), f"{dates} AND algorithm_version = {string_literal(algorithm.version)}")
    store.replace_partitions(POSTS_DAILY, posts(enriched), dates)
    enriched.unpersist()


def score_window(
    spark: SparkSession, lake: Settings, algorithm: Algorithm, account_days: list[dt.date], first: dt.date, snapshot: dt.date, clock: Stopwatch
) -> DataFrame:
    """Accounts of ``account_days``, aggregates of ``first``..``snapshot``, one snapshot: its staged scores.

    Only the aggregated days can reach the score: later events may sit in ``events`` (the truth of a
    predictive validation), but the score is built from the daily aggregates alone.
    """
    from clout.pipeline import score_snapshot, staged_scores

    with clock.step("accounts"):
        update_accounts(spark, lake, account_days)
    with clock.step("aggregates"):
        build_aggregates(spark, lake, algorithm, first, snapshot)
    _check_no_future_aggregates(spark, lake, algorithm, snapshot)
    with clock.step("score"):
        # one snapshot of a dump: no day follows to update a window state for, so none is written
        score_snapshot(spark, lake, algorithm, snapshot, bots=False, keep_window=False)
    return staged_scores(spark, lake, algorithm.version, snapshot).select("person_id", "score", "raw_score", *PARTS)


def clout_columns() -> list[Column]:
    """Clout's predictors after a left join with the scores; persons missing from the scores rank last."""
    return [
        F.coalesce("raw_score", F.lit(UNSCORED)).alias(CLOUT),
        F.coalesce("score", F.lit(0)).alias("clout_score"),
        F.col("raw_score").isNotNull().alias("scored"),
        *[F.coalesce(part, F.lit(UNSCORED)).alias(f"part_{part}") for part in PARTS],
    ]


def _check_no_future_aggregates(spark: SparkSession, lake: Settings, algorithm: Algorithm, snapshot: dt.date) -> None:
    """A reused workdir could hold aggregates past the snapshot; they would leak the truth into the score."""
    daily = TableStore(spark, lake).read(DAILY_INTERACTIONS)
    this_version = F.col("algorithm_version") == F.lit(algorithm.version)
    after_snapshot = F.col("event_date") > F.lit(snapshot)
    leaked = daily.where(this_version & after_snapshot).limit(1).count()
    if leaked:
        raise ValidationError(f"daily_interactions ({algorithm.version}) holds days after the snapshot {snapshot}; use a fresh --workdir")


# ---------------------------------------------------------------- figures


def measure_into(validation: Validation, people: DataFrame, measure) -> None:
    """Run a dataset's ``measure(people) -> (figures, info)`` once on the cached population; keep both on ``validation``."""
    people = people.cache()
    try:
        validation.figures, info = measure(people)
    finally:
        people.unpersist()
    validation.info |= info


def spearman(population: DataFrame, truth: str, predictors: list[str]) -> dict[str, float]:
    """Spearman's rank correlation of each predictor with ``truth`` (ties get their average rank)."""
    columns = [truth, *predictors]
    numeric = population.select(*[F.coalesce(F.col(c).cast("double"), F.lit(0.0)).alias(c) for c in columns])
    vectors = VectorAssembler(inputCols=columns, outputCol="v").transform(numeric).select("v")
    matrix = Correlation.corr(vectors, "v", method="spearman").first()[0].toArray()
    return {name: float(matrix[0][i + 1]) for i, name in enumerate(predictors)}


def top_ids(population: DataFrame, column: str, n: int = TOP_N) -> list[str]:
    """The ``n`` person ids with the highest ``column``; ties broken by id so the list is reproducible."""
    return [r.person_id for r in population.orderBy(F.desc(column), F.asc("person_id")).limit(n).select("person_id").collect()]


def top_overlap(population: DataFrame, truth: str, predictors: list[str], n: int = TOP_N) -> dict[str, float]:
    """|top-n by predictor ∩ top-n by truth| / n for each predictor."""
    true_top = set(top_ids(population, truth, n))
    return {name: len(true_top & set(top_ids(population, name, n))) / n for name in predictors}


def tie_info(population: DataFrame, column: str, prefix: str, n: int = TOP_N) -> dict[str, float]:
    """How tied a column is: distinct values, the n-th highest value and how many persons share it.

    Many persons sharing the n-th value make a top-n overlap depend on the id tie-break, not on the model.
    """
    top = population.orderBy(F.desc(column), F.asc("person_id")).limit(n).select(column).collect()
    nth = top[-1][0] if top else None
    stats = population.agg(
        F.count_distinct(column).alias("distinct"),
        F.count(F.when(F.col(column) == F.lit(nth), 1)).alias("at_nth"),
        F.count(F.when(F.col(column) > F.lit(nth), 1)).alias("above_nth"),
    ).first()
    return {
        f"{prefix}_distinct_values": float(stats.distinct),
        f"{prefix}_top{n}_boundary_value": float(nth or 0),
        f"{prefix}_top{n}_boundary_ties": float(stats.at_nth),
        f"{prefix}_top{n}_strictly_above": float(stats.above_nth),
    }


def record(settings: Settings, validation: Validation, tags: dict[str, str]):
    """The MLflow run of a validation (FAILED with the error when the body raises); log with ``log_outcome``."""
    run_name = f"validate-{validation.dataset}-{validation.params.get('algorithm_version', '')}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    return tracking.job_run(tracking_settings(settings), run_name, {"kind": "validation", "dataset": validation.dataset, **tags}, validation.params)


def log_new_params(validation: Validation) -> None:
    """Params learnt during the run (a derived window ...), logged as soon as known so a FAILED run has them too."""
    import mlflow

    logged = mlflow.get_run(mlflow.active_run().info.run_id).data.params
    mlflow.log_params({k: v for k, v in validation.params.items() if k not in logged})


def log_outcome(validation: Validation) -> None:
    import mlflow

    log_new_params(validation)
    mlflow.log_metrics(validation.metrics())
    tracking.log_json(f"validation_{validation.dataset}.json", validation.payload())
