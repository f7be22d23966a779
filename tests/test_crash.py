"""Crash consistency: the daily job SIGKILLed inside each stage, then run again, ends where a clean run ends.

``CLOUT_FAULT=<stage>:<point>[:<table>]`` (clout.faults) kills the job (JVM first, then the Python driver) before a
write, after it, or once its data files are on storage but its Delta commit is not. The kills run in one chain on
one lakehouse, each a real ``clout daily`` subprocess: a run killed at a later stage is also the rerun of the kill
before it (it goes through every earlier stage again). After each kill: the job died by SIGKILL, a before_commit
kill left orphan data files and no new commit, ``events`` holds no event twice, and ``scores_current`` shows
nothing or the complete clean snapshot. After the chain, a run without a fault must give exactly the rows of a
clean run of the same day in another lakehouse: scores, authority and explanations (checksums over every
column), events, quarantine and the reconciled ingest_log. Measured 2026-12-02: every kill lands and every check
holds, the last one included since every sum behind the scores is exact (clout.exact, clout.ordering); before that
the rerun wrote the clean run's row counts with other last bits.

Cost: every subprocess pays a JVM start and the stages before its kill, so the chain kills each stage once (the
three points rotate over the stages) instead of all 24 pairs. The bot models are trained once, by the clean run,
into an MLflow store both lakehouses use. Quality gates are off in both: they only read, and they cost every run.
Even so the chain is far over the suite's budget on 2 cores: it runs only with CLOUT_CRASH_TESTS=1.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest
from pyspark.sql import functions as F

from checksums import checksum, day_checksums
from clout import faults
from clout.pipeline import run_daily
from clout.synth.generator import SynthSpec, generate
from clout.synth.presets import SMALL_BOT_TRAINING
from clout.tables import EVENTS, INGEST_LOG, QUARANTINE, SCORES, TableStore
from conftest import REPO, overrides_for, settings_for

DAY = dt.date(2026, 11, 20)
SPEC = SynthSpec(day=DAY, events=3000, persons=300, networks=("twitter", "mastodon", "instagram"))
FAST = [*SMALL_BOT_TRAINING, "quality.enabled=false"]

# The table each stage writes first: a kill without a table lands at the stage's first write, and a before_commit
# kill's orphan files are looked for there.
FIRST_WRITE = {
    "ingest": "events", "identity": "identity_links", "accounts": "accounts", "aggregate": "daily_interactions", "bots": "account_risk",
    "score": "authority", "explain": "score_explanations", "publish": "scores",
}  # fmt: skip
# (stage, point, table), in the daily job's order: each stage once, the three points taking turns
KILLS = [
    ("ingest", "after_write", "events"),  # events stored, ingest_log not: the rerun must find them stored, not add them again
    ("identity", "before_commit", "identity_links"),
    ("accounts", "after_write", "accounts"),  # the upsert committed, the re-map of late links not
    ("aggregate", "before_commit", "daily_interactions"),
    ("bots", "before_write", "account_risk"),
    ("score", "after_write", "authority"),  # authority replaced, the staged scores not
    ("explain", "before_commit", "score_explanations"),
    ("publish", "before_commit", "scores"),  # the new snapshot's files are in scores, the commit is not
]
if os.environ.get("CLOUT_CRASH_ALL"):  # every stage at every point: 24 kills, about three times the default's cost
    KILLS = [(stage, point, table) for stage, table in FIRST_WRITE.items() for point in ("before_write", "before_commit", "after_write")]
TIMEOUT_SECONDS = 1200
# Measured 2026-12-02 (2 cores at load 9-11, other Spark tests running): 49 min for the chain (the clean run 14 min
# of it, 7.5 of them training the bot models; each killed run 3-5 min); on a quiet machine, with Delta state rebuilt
# in 2 tasks (conf/local.yaml), 11.4 min. Still over what the suite's 45-minute budget has left: opt-in.
needs_opt_in = pytest.mark.skipif(not os.environ.get("CLOUT_CRASH_TESTS"), reason="the kill chain takes 11-50 min: set CLOUT_CRASH_TESTS=1")


@dataclass
class Kill:
    fault: str
    returncode: int
    seconds: float
    stderr_tail: str
    events: int = 0
    distinct_events: int = 0
    current: tuple[int, int] | None = None  # scores_current's (rows, checksum), None: no scores table yet
    orphans: int = 0  # before_commit: data files the killed write left, referenced by no commit
    versions: tuple[int | None, int | None] = (None, None)  # before_commit: the table's log version before / after the run
    notes: list[str] = field(default_factory=list)


def daily_job(overrides: list[str], fault: str | None) -> tuple[int, float, str]:
    """``clout daily`` for DAY in a subprocess, with ``CLOUT_FAULT`` set to ``fault``: (returncode, seconds, stderr tail)."""
    env = {k: v for k, v in os.environ.items() if k != faults.ENV} | {"GX_ANALYTICS_ENABLED": "false"}
    if fault:
        env[faults.ENV] = fault
    command = [sys.executable, "-m", "clout.cli", "daily", "--env", "local", "--date", DAY.isoformat(), *[x for o in overrides for x in ("--set", o)]]
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    return done.returncode, time.monotonic() - started, done.stderr[-3000:]


def current_snapshot(spark, settings) -> tuple[int, int] | None:
    """What ``scores_current`` shows, through the view itself (registered in this session from the Delta tables)."""
    store = TableStore(spark, settings)
    if not store.exists(SCORES):
        return None
    store.register_all()
    return checksum(spark.table(f"{settings.storage.database}.scores_current"))


def events_counts(spark, settings) -> tuple[int, int]:
    got = TableStore(spark, settings).read(EVENTS).agg(F.count(F.lit(1)).alias("n"), F.countDistinct("event_id").alias("ids")).first()
    return got.n, got.ids


def ingest_counts(spark, settings) -> dict[str, int]:
    """ingest_log's totals per count, its rows and files, and quarantine's rows (events' rows are in events_counts)."""
    store = TableStore(spark, settings)
    log = store.read(INGEST_LOG)
    sums = log.agg(
        *[F.sum(c).alias(c) for c in ("records", "events_emitted", "accepted", "quarantined", "already_present")],
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct("source_file").alias("files"),
        F.sum((F.col("events_emitted") != F.col("accepted") + F.col("quarantined") + F.col("already_present")).cast("int")).alias("unreconciled"),
    ).first()
    return sums.asDict() | {
        "quarantine_rows": store.read(QUARANTINE).count(),
        "quarantine_ids": store.read(QUARANTINE).select("quarantine_id").distinct().count(),
    }


@pytest.fixture(scope="module")
def clean(spark, test_root):
    """A clean run of the day (in this process; it trains the bot models into its MLflow store)."""
    settings = settings_for(test_root, "crash_clean", [*FAST, "storage.database=crash_clean"])
    generate(spark, settings, SPEC)
    run_daily(spark, settings, DAY)
    return settings


@pytest.fixture(scope="module")
def crashed(spark, test_root, clean):
    """The same landing files in another lakehouse, the daily job killed once per stage, then run without a fault."""
    shared_mlflow = [f"mlflow.tracking_uri={clean.mlflow.tracking_uri}", f"mlflow.artifact_root={clean.mlflow.artifact_root}"]
    overrides = overrides_for(test_root, "crash", [*FAST, "storage.database=crash", *shared_mlflow])
    settings = settings_for(test_root, "crash", [*FAST, "storage.database=crash", *shared_mlflow])
    shutil.copytree(clean.path(clean.storage.landing), settings.path(settings.storage.landing))
    kills = []
    for stage, point, table in KILLS:
        fault = f"{stage}:{point}:{table}"
        watched = settings.table_path(table)
        files_before, version_before = faults.data_files(watched), faults.log_version(watched)
        code, seconds, stderr = daily_job(overrides, fault)
        kill = Kill(fault, code, seconds, stderr)
        kill.events, kill.distinct_events = events_counts(spark, settings)
        kill.current = current_snapshot(spark, settings)
        if point == "before_commit":
            kill.orphans = len(faults.data_files(watched) - files_before)
            # a table this run created has its empty create commit (version 0): the killed write is the one after it
            kill.versions = (0 if version_before is None else version_before, faults.log_version(watched))
        kills.append(kill)
    code, seconds, stderr = daily_job(overrides, None)
    return settings, kills, (code, seconds, stderr)


@needs_opt_in
def test_every_stage_is_killed_by_sigkill(crashed):
    _, kills, _ = crashed
    assert {k.fault.split(":")[0] for k in kills} == set(FIRST_WRITE)
    for kill in kills:
        assert kill.returncode == -signal.SIGKILL, f"{kill.fault}: exit {kill.returncode}, not SIGKILL\n{kill.stderr_tail}"
        assert f"clout fault: SIGKILL at {kill.fault.split(':')[0]}:" in kill.stderr_tail


@needs_opt_in
def test_before_commit_leaves_data_files_and_no_commit(crashed):
    """The before_commit kills really land between the data files and the commit."""
    _, kills, _ = crashed
    before_commit = [k for k in kills if ":before_commit" in k.fault]
    assert before_commit
    for kill in before_commit:
        assert kill.orphans > 0, f"{kill.fault}: no new data file on storage"
        assert kill.versions[0] == kill.versions[1], f"{kill.fault}: the write committed (log version {kill.versions})"


@needs_opt_in
def test_events_are_never_doubled(spark, clean, crashed):
    _, kills, _ = crashed
    clean_events, _ = events_counts(spark, clean)
    for kill in kills:
        assert kill.events == kill.distinct_events <= clean_events, f"{kill.fault}: {kill.events} events, {kill.distinct_events} ids"


@needs_opt_in
def test_scores_current_never_shows_a_partial_snapshot(spark, clean, crashed):
    """After every kill the view shows nothing or the complete snapshot a clean run publishes."""
    _, kills, _ = crashed
    complete = current_snapshot(spark, clean)
    assert complete and complete[0] > 0
    for kill in kills:
        assert kill.current in (None, (0, 0), complete), f"{kill.fault}: scores_current shows {kill.current}, the complete snapshot is {complete}"


@needs_opt_in
def test_the_rerun_after_the_kills_stores_what_a_clean_run_stores(spark, clean, crashed):
    settings, _, (code, _, stderr) = crashed
    assert code == 0, stderr
    assert {k: n for k, (n, _) in day_checksums(spark, settings, DAY).items()} == {k: n for k, (n, _) in day_checksums(spark, clean, DAY).items()}
    assert events_counts(spark, settings) == events_counts(spark, clean)
    got, want = ingest_counts(spark, settings), ingest_counts(spark, clean)
    assert got["unreconciled"] == 0 and got["rows"] == got["files"] == want["files"]
    # the run killed after its events append logged them as already present: the same rows, counted where they went
    assert got["accepted"] + got["already_present"] == want["accepted"] and want["already_present"] == 0
    for key in ("records", "events_emitted", "quarantined", "quarantine_rows", "quarantine_ids"):
        assert got[key] == want[key], key


def test_fault_values_parse_or_fail_loudly():
    """A mistyped CLOUT_FAULT must fail the job, not run it without the fault (a crash test that tests nothing)."""
    assert faults.parse(None) is None and faults.parse("") is None
    assert faults.parse("publish:before_commit") == faults.Fault("publish", "before_commit")
    assert faults.parse("ingest:after_write:events") == faults.Fault("ingest", "after_write", "events")
    for bad in ("publish", "publish:before_comit", ":after_write", "a:after_write:b:c"):
        with pytest.raises(ValueError, match="CLOUT_FAULT"):
            faults.parse(bad)
    fault = faults.Fault("ingest", "after_write", "events")
    assert fault.matches("ingest", "after_write", "events") and not fault.matches("ingest", "after_write", "quarantine")
    assert faults.Fault("ingest", "after_write").matches("ingest", "after_write", "quarantine") and not fault.matches("identity", "after_write", "events")


@needs_opt_in
def test_the_rerun_after_the_kills_writes_a_clean_runs_rows(spark, clean, crashed):
    settings, _, _ = crashed
    assert day_checksums(spark, settings, DAY) == day_checksums(spark, clean, DAY)
    assert current_snapshot(spark, settings) == current_snapshot(spark, clean)
