"""The standalone ingest job and the ingest-side quality gates: real MLflow store, real GE suites, real Delta."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import mlflow
import pytest
from pyspark.sql import functions as F

from clout.cli import main
from clout.identity.stage import update_accounts
from clout.pipeline import run_ingest
from clout.quality.suites import validate
from clout.tables import ACCOUNTS, INGEST_LOG, TableStore
from conftest import SAMPLES, settings_for

DAY = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def job_lake(test_root):
    settings = settings_for(test_root, "ingest_job")
    landing = Path(settings.landing_path("twitter", DAY))
    landing.mkdir(parents=True)
    shutil.copy(SAMPLES / "twitter_v2.jsonl", landing / "part-1.jsonl")
    (landing / "part-2.jsonl").write_text("{not json\n")
    return settings


@pytest.fixture(scope="module")
def job_run(spark, job_lake):
    return run_ingest(spark, job_lake, DAY)


def _run(settings, run_id: str):
    mlflow.set_tracking_uri(settings.tracking_uri())
    return mlflow.get_run(run_id)


def test_ingest_job_logs_counts_and_gates_to_mlflow(job_lake, job_run):
    report, gates, problems = job_run
    assert problems == []
    assert {g.suite for g in gates} == {"clout_events", "clout_quarantine", "clout_ingest_log"}
    assert all(g.success for g in gates), [g.describe() for g in gates]
    run = _run(job_lake, report.mlflow_run_id)
    assert run.info.status == "FINISHED"
    m = run.data.metrics
    assert (m["rows_in"], m["rows_accepted"], m["rows_quarantined"], m["quarantined_malformed_record"]) == (7, 6, 1, 1)
    assert m["ingest_reconciled"] == 1.0
    assert run.data.tags["gate.clout_ingest_log"] == "passed" and run.data.tags["ingest_run_id"] == report.run_id
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "ingest")}
    assert artifacts == {"ingest/files.json"}


def test_ingest_log_suite_fails_on_counts_that_do_not_reconcile(spark, job_lake, job_run):
    log = TableStore(spark, job_lake).read(INGEST_LOG)
    assert validate(log, "ingest_log", list(job_lake.networks)).success
    broken = log.withColumn("accepted", F.col("accepted") + 1)
    gate = validate(broken, "ingest_log", list(job_lake.networks))
    assert not gate.success
    assert gate.failed == ["unexpected_rows_expectation(per-file counts reconcile: events_emitted = accepted + quarantined + already_present >= records)"]


def test_accounts_suite(spark, job_lake, job_run):
    update_accounts(spark, job_lake, [DAY])
    accounts = TableStore(spark, job_lake).read(ACCOUNTS)
    assert validate(accounts, "accounts", list(job_lake.networks)).success
    swapped = accounts.withColumn("first_seen", F.date_add("last_seen", 1))
    foreign = accounts.withColumn("account_id", F.concat(F.lit("reddit:"), F.col("account_id")))
    assert validate(swapped, "accounts", list(job_lake.networks)).failed == ["expect_column_pair_values_a_to_be_greater_than_b(last_seen,first_seen)"]
    assert validate(foreign, "accounts", list(job_lake.networks)).failed == [
        "unexpected_rows_expectation(account ids are '<network>:<native id>' of their own network)"
    ]


def test_ingest_command_fails_a_mostly_quarantined_run(spark, test_root):
    settings = settings_for(test_root, "ingest_job_bad")
    garbage = Path(settings.landing_path("reddit", DAY))
    garbage.mkdir(parents=True)
    (garbage / "broken.jsonl").write_text("nope\n{\n[1,2\n")
    overrides = [
        f"--set={k}={v}"
        for k, v in (
            ("storage.root", settings.storage.root),
            ("storage.landing", settings.storage.landing),
            ("storage.checkpoint_dir", settings.storage.checkpoint_dir),
            ("mlflow.tracking_uri", settings.mlflow.tracking_uri),
            ("mlflow.artifact_root", settings.mlflow.artifact_root),
        )
    ]
    assert main(["ingest", "--date", DAY.isoformat(), *overrides]) == 1
    mlflow.set_tracking_uri(settings.tracking_uri())
    (run,) = mlflow.search_runs(experiment_names=[settings.mlflow.experiment], output_format="list")
    assert run.info.status == "FAILED"
    assert "quarantined" in run.data.tags["error"] and run.data.metrics["rows_quarantined"] == 3
