"""Backfill: recompute the aggregates and snapshots of a date range under one algorithm version.

Other versions' rows are never touched: ``daily_interactions`` rows carry their version, snapshots are the
partitions (snapshot_date, algorithm_version) of their tables, ``account_risk`` (the same for every version) is
reused, and ``daily_posts`` is written only for days that have none. Resumable: a day whose snapshot of the
version is already published is skipped unless ``force``. One MLflow parent run, one child run per day.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from clout.aggregate.stage import build_day
from clout.config import Algorithm, Settings, load_algorithm
from clout.errors import InputError
from clout.pipeline import DailyResult, StageTimer, compute_snapshot, snapshot_tags
from clout.publish import tracking
from clout.score import stage as score_stage
from clout.tables import DAILY_INTERACTIONS, EVENTS, POSTS_DAILY, TableStore
from clout.versions.promotions import published_dates
from clout.window import window_start

log = logging.getLogger(__name__)


@dataclass
class BackfillPlan:
    snapshots: list[dt.date]  # days whose snapshot is (re)computed
    skipped: list[dt.date]  # already published for the version (resume)
    empty: list[dt.date]  # no stored event in the day's window: nothing to score
    aggregates: list[dt.date]  # event days whose daily_interactions rows of the version are (re)built first
    posts_missing: set[dt.date] = field(default_factory=set)  # event days without daily_posts (never aggregated)


@dataclass
class BackfillReport:
    algorithm_version: str
    start: dt.date
    end: dt.date
    plan: BackfillPlan
    run_id: str | None = None
    done: list[dt.date] = field(default_factory=list)
    seconds: dict[dt.date, float] = field(default_factory=dict)
    child_runs: dict[dt.date, str] = field(default_factory=dict)


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def plan_backfill(store: TableStore, algorithm: Algorithm, start: dt.date, end: dt.date, force: bool) -> BackfillPlan:
    """Which snapshots to compute and which daily aggregates they need first."""
    days = days_between(start, end)
    first_window_day = window_start(start, algorithm.window.days)
    event_days = store.partition_dates(EVENTS, "event_date", first_window_day, end)
    published = set(published_dates(store, algorithm.version, start, end))

    def has_events_in_window(day: dt.date) -> bool:
        return any(window_start(day, algorithm.window.days) <= e <= day for e in event_days)

    scoreable = [d for d in days if has_events_in_window(d)]
    snapshots = [d for d in scoreable if force or d not in published]
    plan = BackfillPlan(snapshots, skipped=[d for d in scoreable if d not in snapshots], empty=[d for d in days if d not in scoreable], aggregates=[])
    if not snapshots:
        return plan
    span_start = window_start(snapshots[0], algorithm.window.days)
    needed = [e for e in event_days if span_start <= e <= snapshots[-1]]
    built = set(store.partition_dates(DAILY_INTERACTIONS, "event_date", span_start, snapshots[-1], version=algorithm.version))
    redo = set(days) if force else set()  # --force rebuilds the range's own days; the window before it is reused when present
    plan.aggregates = [e for e in needed if e not in built or e in redo]
    plan.posts_missing = set(needed) - set(store.partition_dates(POSTS_DAILY, "event_date", span_start, snapshots[-1]))
    return plan


def run_backfill(
    spark: SparkSession,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    version: str,
    force: bool = False,
    progress: Callable[[str], None] = print,
) -> BackfillReport:
    """Compute and publish the snapshots of [start, end] under ``version``; see the module docstring."""
    import mlflow

    if end < start:
        raise InputError(f"--to {end} is before --from {start}")
    algorithm = load_algorithm(settings, version)
    store = TableStore(spark, settings)
    if not store.exists(EVENTS):
        raise InputError(f"no events stored under {settings.path(settings.storage.root)}: nothing to backfill (ingest first)")
    plan = plan_backfill(store, algorithm, start, end, force)
    report = BackfillReport(algorithm.version, start, end, plan)
    tags = {"job": "backfill", "algorithm_version": algorithm.version, "backfill_from": start.isoformat(), "backfill_to": end.isoformat()}
    tags |= {"code_version": score_stage.code_version(), "env": settings.env}
    params = {"force": str(force), "snapshots_planned": str(len(plan.snapshots)), "aggregates_planned": str(len(plan.aggregates))}
    with tracking.job_run(settings, f"backfill-{start}-{end}-{algorithm.version}", tags, params) as run:
        report.run_id = run.info.run_id
        progress(
            f"backfill {algorithm.version} {start}..{end}: {len(plan.snapshots)} snapshot(s) to compute, {len(plan.skipped)} already published"
            f"{' (kept; --force redoes them)' if plan.skipped else ''}, {len(plan.empty)} day(s) with no events in their window; "
            f"{len(plan.aggregates)} day(s) of aggregates to build first"
        )
        started = time.monotonic()
        for d in plan.aggregates:
            build_day(spark, settings, algorithm, d, with_posts=d in plan.posts_missing)
        mlflow.log_metric("seconds_aggregates", round(time.monotonic() - started, 3))
        if plan.aggregates:
            progress(f"backfill {algorithm.version}: aggregates of {len(plan.aggregates)} day(s) built in {time.monotonic() - started:.1f}s")
        for i, day in enumerate(plan.snapshots, 1):
            _snapshot(spark, settings, algorithm, day, report)
            mean = sum(report.seconds.values()) / len(report.seconds)
            eta = mean * (len(plan.snapshots) - i)
            finish = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=eta)).strftime("%H:%M:%S UTC")
            progress(
                f"backfill {algorithm.version} {day} ({i}/{len(plan.snapshots)}) done in {report.seconds[day]:.1f}s; "
                f"ETA {_duration(eta)}{f' (~{finish})' if eta else ''}"
            )
            mlflow.log_metric("snapshots_done", i, step=i)
        mlflow.log_metrics({"snapshots_skipped": len(plan.skipped), "days_empty": len(plan.empty), "seconds_total": round(time.monotonic() - started, 3)})
    return report


def _snapshot(spark: SparkSession, settings: Settings, algorithm: Algorithm, day: dt.date, report: BackfillReport) -> None:
    """One day's snapshot in a child run; a failing day (a gate that rejects it) ends both runs FAILED."""
    started = time.monotonic()
    result = DailyResult(day, algorithm.version)
    tags = snapshot_tags(settings, algorithm, day) | {"job": "backfill-day", "backfill_run_id": report.run_id or ""}
    with tracking.snapshot_run(settings, algorithm, f"snapshot-{day.isoformat()}-{algorithm.version}", tags, nested=True) as child:
        report.child_runs[day] = child.info.run_id
        try:
            compute_snapshot(spark, settings, algorithm, day, result, StageTimer(result), risk="reuse")
        except Exception as err:
            done = f"; {len(report.done)} day(s) were published before it, and a rerun resumes there" if report.done else ""
            raise RuntimeError(f"backfill {algorithm.version}: snapshot {day} failed: {err}{done}") from err
    report.done.append(day)
    report.seconds[day] = round(time.monotonic() - started, 1)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
