"""The daily driver: ingest -> identity -> daily aggregates -> bots -> authority -> score (staged) -> topic scores
(staged) -> gate -> explain -> publish.

Every stage is idempotent for a given date and algorithm version: re-running a day replaces that day's
partitions and adds nothing to events. One MLflow run records the whole day; a failing stage or a failing
data-quality suite ends that run FAILED and the job exits non-zero. Scores are computed into ``scores_staging``
and copied into the published ``scores`` only after their suites pass, so a rejected snapshot never replaces
the published one; topic scores likewise (``topic_scores_staging`` -> the topic_scores suite -> ``topic_scores``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from pyspark import SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clout import faults, window_state
from clout.aggregate.stage import build_day
from clout.bots.stage import score_accounts
from clout.config import Algorithm, ConfigError, Settings, load_algorithm
from clout.explain import stage as explain_stage
from clout.graph import rings as rings_stage
from clout.graph import stage as authority_stage
from clout.identity.stage import anonymous_accounts, link_accounts, update_accounts
from clout.ingest.stage import IngestReport, ingest, named_files
from clout.publish import tracking
from clout.quality.suites import GateResult, validate
from clout.score import stage as score_stage
from clout.score import topics as topics_stage
from clout.score.reactions import discount_rings, snapshot_risk, window_reactions
from clout.sqltext import snapshot_condition
from clout.tables import (
    ACCOUNT_RISK,
    ACCOUNTS,
    ALL_TABLES,
    AUTHORITY,
    DAILY_INTERACTIONS,
    EVENTS,
    INGEST_LOG,
    POSTS_DAILY,
    QUARANTINE,
    RINGS,
    SCORE_EXPLANATIONS,
    SCORES,
    SCORES_STAGING,
    TOPIC_SCORES,
    TOPIC_SCORES_STAGING,
    WINDOW_PAIRS,
    WINDOW_POSTS,
    TableSpec,
    TableStore,
)  # fmt: skip
from clout.versions.promotions import current_version

log = logging.getLogger(__name__)

# A snapshot's lineage in MLflow: the tables its stages read (bots: events, accounts; score: the window's
# aggregates and posts, the risk bots wrote; explain: the aggregates) and the tables it writes (the window state first).
SNAPSHOT_INPUTS = (EVENTS, ACCOUNTS, DAILY_INTERACTIONS, POSTS_DAILY, ACCOUNT_RISK)
SNAPSHOT_OUTPUTS = (WINDOW_PAIRS, WINDOW_POSTS, AUTHORITY, RINGS, SCORES_STAGING, SCORE_EXPLANATIONS, SCORES, TOPIC_SCORES_STAGING, TOPIC_SCORES)


class QualityGateFailed(RuntimeError):
    """A Great Expectations suite failed: the snapshot is not published."""


@dataclass
class DailyResult:
    day: dt.date
    algorithm_version: str
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    gates: list[GateResult] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)


STAGE_PREFIX = "clout "  # job descriptions of the daily stages: "clout <date> <version> <stage>"


@contextlib.contextmanager
def job_description(text: str) -> Iterator[None]:
    """Spark jobs started inside carry ``text`` as their description (the UI's job list, the event log's
    ``spark.job.description``); the previous description comes back afterwards."""
    context = SparkContext._active_spark_context
    if context is None:  # no session yet (or Spark Connect): nothing to label
        yield
        return
    before = context.getLocalProperty("spark.job.description")
    context.setJobDescription(text)
    try:
        yield
    finally:
        context.setJobDescription(before)


@contextlib.contextmanager
def part_of_stage(name: str) -> Iterator[None]:
    """Inside a stage's job description ("clout <date> <version> score"), label the jobs of one part of it
    ("... score/authority"); outside one, nothing."""
    context = SparkContext._active_spark_context
    current = context.getLocalProperty("spark.job.description") if context is not None else None
    if not current or not current.startswith(STAGE_PREFIX):
        yield
        return
    with job_description(f"{current}/{name}"):
        yield


class StageTimer:
    """Runs a stage, records its seconds in the result and logs them to the active MLflow run."""

    def __init__(self, result: DailyResult):
        self.result = result
        self.logged: set[str] = set()  # metrics (other than timings) already logged to the run

    def log_new_metrics(self) -> None:
        self.logged = _log_new_metrics(self.result.metrics, self.logged)

    def __call__(self, name: str, fn):
        import mlflow

        started = time.monotonic()
        # the crash tests' fault hook (clout.faults) matches writes against the stage running; the job description
        # names the stage in the Spark UI and the event log (bench/stage_profile.py sums shuffle bytes per stage)
        with faults.stage(name), job_description(f"{STAGE_PREFIX}{self.result.day.isoformat()} {self.result.algorithm_version} {name}"):
            out = fn()
        key = f"seconds_{name}"
        self.result.metrics[key] = round(time.monotonic() - started, 3)
        mlflow.log_metric(key, self.result.metrics[key])
        log.info("%s %s: %s done in %.1fs", self.result.day, self.result.algorithm_version, name, self.result.metrics[key])
        return out


def snapshot_tags(settings: Settings, algorithm: Algorithm, day: dt.date) -> dict[str, str]:
    return {"snapshot_date": day.isoformat(), "algorithm_version": algorithm.version, "code_version": score_stage.code_version(), "env": settings.env}


def run_daily(spark: SparkSession, settings: Settings, day: dt.date, algorithm_version: str | None = None, now: dt.datetime | None = None) -> DailyResult:
    """Ingest the day's landing files, rebuild the days they touched, gate them, and compute + publish the snapshot."""
    store = TableStore(spark, settings)
    algorithm = load_algorithm(settings, algorithm_version or current_version(store, day))
    result = DailyResult(day, algorithm.version)
    with tracking.snapshot_run(settings, algorithm, f"snapshot-{day.isoformat()}-{algorithm.version}", snapshot_tags(settings, algorithm, day)) as run:
        result.run_id = run.info.run_id
        timed = StageTimer(result)
        report = timed("ingest", lambda: ingest(spark, settings, day, now=now))
        result.reasons = report.reasons
        result.metrics.update(report.metrics())
        timed.log_new_metrics()
        if not report.reconciled:
            raise RuntimeError(f"ingest counts do not reconcile: {report.files}")
        links = timed("identity", lambda: link_accounts(spark, settings, day))
        result.metrics.update(links)
        days = sorted(set(report.touched_dates) | {day})
        result.metrics["accounts_updated"] = timed("accounts", lambda: update_accounts(spark, settings, days))
        for d in days:  # late events re-open the days they belong to
            result.metrics.update(timed(f"aggregate_{d.isoformat()}" if d != day else "aggregate", lambda d=d: build_day(spark, settings, algorithm, d)))
        result.metrics["aggregates_other_versions"] = timed("aggregate_other_versions", lambda: refresh_other_versions(spark, settings, algorithm, days))

        if settings.quality.enabled:
            day_events = store.read(EVENTS).where(F.col("event_date") == F.lit(day))
            result.gates.append(timed("gate_events", lambda: validate(day_events, "events", list(settings.networks))))
            result.gates.extend(timed("gate_ingest", lambda: ingest_gates(store, report)))
            result.gates.append(timed("gate_accounts", lambda: validate(store.read(ACCOUNTS), "accounts", list(settings.networks))))
            _check_gates(result)
        compute_snapshot(spark, settings, algorithm, day, result, timed)
    return result


def compute_snapshot(
    spark: SparkSession, settings: Settings, algorithm: Algorithm, day: dt.date, result: DailyResult, timed: StageTimer, risk: str = "compute"
) -> None:
    """Bots, scores, their gate, explanations and publishing of one snapshot, from the daily aggregates already built.

    Runs inside the caller's MLflow run. ``risk``: "compute" scores the day's accounts into ``account_risk``;
    "reuse" (backfills) keeps the day's existing risk rows, shared by every algorithm version, and computes them
    only when the day has none.
    """
    import mlflow

    store = TableStore(spark, settings)
    if risk == "compute" or not has_risk(store, day):
        result.metrics.update(timed("bots", lambda: score_accounts(spark, settings, day)))
    inputs = table_datasets(store, [(spec, store.version(spec)) for spec in SNAPSHOT_INPUTS])  # the versions score and explain read
    result.metrics.update(timed("score", lambda: score_snapshot(spark, settings, algorithm, day)))
    result.metrics.update(timed("topics", lambda: topic_snapshot(spark, settings, algorithm, day)))
    staged = staged_scores(spark, settings, algorithm.version, day)
    if settings.quality.enabled:
        result.gates.extend(timed("gate_scores", lambda: score_gates(staged, settings, algorithm)))
        staged_topics = topics_stage.staged(store, algorithm.version, day)
        result.gates.append(timed("gate_topic_scores", lambda: topic_score_gate(staged_topics, settings, algorithm)))
    for gate in result.gates:
        tracking.log_json(f"quality/{gate.suite}.json", gate.result_json)
        mlflow.set_tag(f"gate.{gate.suite}", "passed" if gate.success else "failed")
    _check_gates(result)  # a rejected snapshot stops here: the published partition is untouched

    # explained before publishing: a snapshot whose explanations failed is not published either
    result.metrics.update(timed("explain", lambda: explain_stage.compute(spark, settings, algorithm, day)))
    timed("publish", lambda: publish_snapshot(spark, settings, algorithm, day))
    timed.log_new_metrics()
    versions = [(spec, store.version(spec)) for spec in ALL_TABLES]  # TableSpec holds a dict: not hashable
    for spec, version in versions:
        if version is not None:
            mlflow.set_tag(f"delta.{spec.name}.version", str(version))
    tracking.log_tables(inputs, "input")
    tracking.log_tables(table_datasets(store, [(spec, version) for spec, version in versions if spec in SNAPSHOT_OUTPUTS]), "output")
    scores = store.read(SCORES).where(score_stage.snapshot_rows(day, algorithm.version))
    tracking.log_histogram(scores, f"Clout scores {day.isoformat()} ({algorithm.version})")
    tracking.log_json("config/settings.json", settings.model_dump(mode="json"))
    tracking.log_json("config/algorithm.json", algorithm.model_dump(mode="json"))
    tracking.log_json("top100.json", {"top": tracking.top(scores, 100)})


def table_datasets(store: TableStore, versions: list[tuple[TableSpec, int | None]]) -> list:
    """Each (table, version) whose table exists (version not None) as an MLflow dataset at that version (nothing is read)."""
    return [tracking.table_dataset(store.read(spec), spec.name, store.path(spec), version) for spec, version in versions if version is not None]


def refresh_other_versions(spark: SparkSession, settings: Settings, algorithm: Algorithm, days: list[dt.date]) -> int:
    """Rebuild the aggregates of the days this run touched for every other version that already has them.

    A backfilled version keeps its own ``daily_interactions`` rows; without this, events arriving late for a day it
    covers would reach only the daily version's rows, and the next backfill (which reuses aggregates already
    built) would score from stale ones. Returns the (day, version) aggregates rebuilt.
    """
    store = TableStore(spark, settings)
    if not store.exists(DAILY_INTERACTIONS):
        return 0
    other = F.col("algorithm_version") != F.lit(algorithm.version)
    found = store.read(DAILY_INTERACTIONS).where(F.col("event_date").isin(*days) & other).select("event_date", "algorithm_version").distinct().collect()
    rebuilt = 0
    for row in sorted(found):  # a few rows: touched days x versions
        try:
            version = load_algorithm(settings, row.algorithm_version)
        except ConfigError as err:  # a retired version whose conf is gone: its rows stay as they were
            log.warning("aggregates of %s for %s left as they are: %s", row.algorithm_version, row.event_date, err)
            continue
        build_day(spark, settings, version, row.event_date, with_posts=False)
        rebuilt += 1
    return rebuilt


def has_risk(store: TableStore, day: dt.date) -> bool:
    return store.exists(ACCOUNT_RISK) and store.read(ACCOUNT_RISK).where(F.col("risk_date") == F.lit(day)).limit(1).count() > 0


def ingest_gates(store: TableStore, report: IngestReport) -> list[GateResult]:
    """The quarantine and ingest_log suites on the rows this ingest run wrote."""
    networks = list(store.settings.networks)
    this_run = F.col("run_id") == F.lit(report.run_id)
    return [
        validate(store.read(QUARANTINE).where(this_run), "quarantine", networks),
        validate(store.read(INGEST_LOG).where(this_run), "ingest_log", networks),
    ]


def run_ingest(
    spark: SparkSession, settings: Settings, day: dt.date | None, paths: dict[str, list[str]] | None = None, force: bool = False
) -> tuple[IngestReport, list[GateResult], list[str]]:
    """The standalone ingest job: ingest, gate what it wrote, and record it all in an MLflow run.

    Returns the report, the gates and the problems found. With problems (counts that do not reconcile, more
    than ``ingest.fail_on_quarantine_ratio`` of the rows quarantined, a failing suite) the run ends FAILED.
    """
    import mlflow

    if paths:
        named_files(spark, settings, paths)  # a mistyped network or path is an error before any run is recorded
    store = TableStore(spark, settings)
    tags = {"job": "ingest", "env": settings.env, "ingest_date": day.isoformat() if day else "", "code_version": score_stage.code_version()}
    params = {"force": str(force), "paths": ",".join(f"{n}={p}" for n, ps in (paths or {}).items() for p in ps)[:500] or "landing"}
    with tracking.job_run(settings, f"ingest-{day.isoformat() if day else 'paths'}", tags, params) as run:
        report = ingest(spark, settings, day, paths=paths, force=force)
        mlflow.set_tag("ingest_run_id", report.run_id)
        mlflow.log_metrics(report.metrics() | {"seconds_ingest": report.seconds})
        tracking.log_json(
            "ingest/files.json", {"run_id": report.run_id, "files": report.files, "skipped_files": report.skipped_files, "reasons": report.reasons}
        )
        gates: list[GateResult] = []
        if report.files and settings.quality.enabled:
            new_events = store.read(EVENTS).where(F.col("run_id") == F.lit(report.run_id))
            gates = [validate(new_events, "events", list(settings.networks)), *ingest_gates(store, report)]
            for gate in gates:
                tracking.log_json(f"quality/{gate.suite}.json", gate.result_json)
                mlflow.set_tag(f"gate.{gate.suite}", "passed" if gate.success else "failed")
        problems = [g.describe() for g in gates if not g.success]
        if not report.reconciled:
            problems.append(f"counts do not reconcile: {report.unreconciled}")
        emitted = report.total("events_emitted")
        if emitted and report.total("quarantined") / emitted > settings.ingest.fail_on_quarantine_ratio:
            problems.append(f"more than {settings.ingest.fail_on_quarantine_ratio:.0%} of rows quarantined")
        if problems:
            mlflow.set_tag("error", "; ".join(problems)[:5000])
            mlflow.end_run(status="FAILED")
        report.mlflow_run_id = run.info.run_id
    return report, gates, problems


def _log_new_metrics(metrics: dict[str, float], logged: set[str]) -> set[str]:
    """Log the metrics not logged yet (stage timings are logged as they happen); return the logged keys."""
    import mlflow

    new = {k: float(v) for k, v in metrics.items() if k not in logged and not k.startswith("seconds_")}
    mlflow.log_metrics(new)
    return logged | set(new)


def _check_gates(result: DailyResult) -> None:
    failed = [g for g in result.gates if not g.success]
    if failed:
        raise QualityGateFailed("; ".join(g.describe() for g in failed))


def score_snapshot(
    spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date, bots: bool = True, keep_window: bool = True
) -> dict[str, float]:
    """Authority and the staged scores of ``snapshot_date`` from the daily aggregates already built.

    ``bots``: discount reactions and suppress persons by the day's ``account_risk`` (written by the bots stage);
    without it (real dumps with no behaviour model) nobody is assessed. The scores land in ``scores_staging``
    (``staged_scores``); publishing them is a separate, gated step (``publish_snapshot``).
    """
    store = TableStore(spark, settings)
    risk = snapshot_risk(store, snapshot_date, bots).cache()
    # the window state first: graph, score, topics and explanations read the snapshot's window from it. Without
    # ``keep_window`` (one snapshot of a dump, no next day to update it for) the window is read from the aggregates.
    metrics: dict[str, float] = {}
    if keep_window:
        with part_of_stage("window"):
            metrics = window_state.update(store, algorithm, snapshot_date)
    window = window_reactions(window_state.pairs(store, algorithm, snapshot_date), risk, snapshot_date, algorithm, anonymous_accounts(settings)).cache()
    # rings are found on the reactions before their discount, then graph and score read the discounted rows
    with part_of_stage("rings"):
        metrics |= rings_stage.compute(spark, settings, algorithm, snapshot_date, window)
    reactions = discount_rings(window, rings_stage.snapshot_rings(store, snapshot_date, algorithm.version), algorithm).cache()
    population = reactions.where(F.col("effort") > 0).select(F.col("target_person").alias("person_id")).distinct()
    with part_of_stage("authority"):
        metrics |= authority_stage.compute(spark, settings, algorithm, snapshot_date, reactions, population)
    with part_of_stage("parts"):
        metrics |= score_stage.compute(spark, settings, algorithm, snapshot_date, reactions, risk)
        metrics["persons_unscored"] = float(_unscored(store, reactions, snapshot_date, algorithm).count())
    reactions.unpersist()
    window.unpersist()
    risk.unpersist()
    return metrics


def topic_snapshot(spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date, bots: bool = True) -> dict[str, float]:
    """The staged topic scores of ``snapshot_date``, after ``score_snapshot`` wrote the snapshot's rings and authority.

    A stage of its own (not inside ``score_snapshot``): the real-data validations and the ring tests score the global
    snapshot alone, and need not pay for the topic window. Its reactions get the same risk and ring discount.
    """
    store = TableStore(spark, settings)
    risk = snapshot_risk(store, snapshot_date, bots).cache()
    window = window_reactions(window_state.pairs(store, algorithm, snapshot_date, topics=True), risk, snapshot_date, algorithm, anonymous_accounts(settings))
    topical = discount_rings(window, rings_stage.snapshot_rings(store, snapshot_date, algorithm.version), algorithm)
    metrics = topics_stage.compute(spark, settings, algorithm, snapshot_date, topical, risk)
    risk.unpersist()
    return metrics


def _unscored(store: TableStore, reactions: DataFrame, snapshot_date: dt.date, algorithm: Algorithm) -> DataFrame:
    """Persons active in the window (they reacted or posted) whom nobody's weighted reaction reached."""
    window_posts = window_state.posts(store, algorithm, snapshot_date).select("person_id")
    active = reactions.where(~F.col("anonymous")).select(F.col("actor_person").alias("person_id")).unionByName(window_posts).distinct()
    scored = staged_scores(store.spark, store.settings, algorithm.version, snapshot_date).where(~F.col("carried_forward")).select("person_id")
    return active.join(scored, on="person_id", how="left_anti")  # a carried-forward person is not in the scored population


def staged_scores(spark: SparkSession, settings: Settings, algorithm_version: str, snapshot_date: dt.date) -> DataFrame:
    return score_stage.staged(TableStore(spark, settings), algorithm_version, snapshot_date)


def score_gates(staged: DataFrame, settings: Settings, algorithm: Algorithm) -> list[GateResult]:
    """The scores suite on the whole staged snapshot, and the calibration suite on its calibrated (not suppressed, not
    carried-forward) part.

    The calibration suite checks ``calibrated_score``, the calibration's own output: the published score follows it
    at most ``score.max_daily_move`` a day behind (clout.score.bound), so on a day the population shifts its mean may
    sit off the target for a few days by design, while a broken calibration still fails here.
    """
    networks = list(settings.networks)
    calibrated = staged.where(~F.col("suppressed") & ~F.col("carried_forward")).withColumn("score", F.col("calibrated_score"))
    return [
        validate(staged, "scores", networks, max_daily_move=algorithm.score.max_daily_move),
        validate(calibrated, "scores_calibration", networks, calibration=algorithm.calibration),
    ]


def topic_score_gate(staged: DataFrame, settings: Settings, algorithm: Algorithm) -> GateResult:
    """The topic_scores suite on the staged topic scores of a snapshot."""
    return validate(staged, "topic_scores", list(settings.networks), calibration=algorithm.calibration, topics=algorithm.topics)


def publish_snapshot(spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date) -> None:
    """Replace the published partitions of ``scores`` and ``topic_scores`` with the validated staged snapshot (one Delta
    commit each: scores first, so a topic score is never published beside a global score that is not)."""
    store = TableStore(spark, settings)
    condition = snapshot_condition(snapshot_date, algorithm.version)
    store.add_missing_columns(SCORES)  # a lakehouse from before the bound's columns (README: Scores over time)
    store.replace_partitions(SCORES, staged_scores(spark, settings, algorithm.version, snapshot_date), condition)
    store.replace_partitions(TOPIC_SCORES, topics_stage.staged(store, algorithm.version, snapshot_date), condition)
    store.register_all()
