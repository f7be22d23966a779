"""End to end on a generated day: real Spark, Delta, GraphFrames, GE and MLflow (SQLite), through the daily job.

The generator plants the truth: person p0 is the most influential, the last 0.5% of ids are bots acting on a
timer. The scores must find p0, keep every bot out of the top, explain the top, and the gate must refuse a
corrupted snapshot without touching the published one.
"""

import datetime as dt
import json

import mlflow
import pytest
from pyspark.sql import functions as F

from checksums import day_checksums, stage_checksums
from clout import cli
from clout.pipeline import run_daily
from clout.score import stage as score_stage
from clout.synth.generator import SynthSpec, generate, n_bots
from clout.tables import (
    ACCOUNT_RISK,
    ACCOUNTS,
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
    TableStore,
)
from conftest import overrides_for, settings_for, with_bot_models

DAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 21, 6, 0)
SPEC = SynthSpec(day=DAY, events=60_000, persons=1500)
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def day(spark, test_root):
    settings = settings_for(test_root, "e2e", with_bot_models(test_root, "e2e"))
    meta = generate(spark, settings, SPEC)
    # the day runs as conf/base.yaml runs it, adaptive execution on (the tests' settings turn it off for speed: conftest)
    before = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "true")
    try:
        result = run_daily(spark, settings, DAY, now=NOW)
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", before)
    return settings, meta, result


def published(spark, settings):
    return TableStore(spark, settings).read(SCORES).where(score_stage.snapshot_rows(DAY, "v1"))


def bot_persons(spark, settings):
    """Person ids of the planted bots, as the pipeline knows them (linked person or unlinked account)."""
    first_bot = SPEC.n_persons - n_bots(SPEC)
    accounts = TableStore(spark, settings).read(ACCOUNTS).collect()  # 1,500 persons x 9 networks: small
    return {f"person:p{i}" for i in range(first_bot, SPEC.n_persons)} | {r.person_id for r in accounts if (_planted_index(r.account_id) or -1) >= first_bot}


def _planted_index(account_id: str) -> int | None:
    """The generator's person index behind an account id, for the id styles it uses (see synth.native_id)."""
    network, native = account_id.split(":", 1)
    if network == "reddit":
        return int(native, 36)
    if network == "mastodon":
        return int(native.removeprefix("user").split("@")[0])
    if network == "linkedin":
        return int(native.removeprefix("urn:li:person:"), 36) - 90_000_000
    if network == "youtube":
        return int(native.removeprefix("UC"))
    return int(native) - 100_000_000 if native.isdigit() else None


def test_generator_wrote_every_renderable_network(day):
    _, meta, _ = day
    assert {"twitter", "reddit", "mastodon", "facebook", "linkedin", "youtube"} <= set(meta["networks"])


def test_counts_reconcile_per_file(spark, day):
    settings, _, _ = day
    store = TableStore(spark, settings)
    log = store.read(INGEST_LOG).collect()
    assert log and all(r.events_emitted == r.accepted + r.quarantined + r.already_present for r in log)
    accepted = sum(r.accepted for r in log)
    quarantined = sum(r.quarantined for r in log)
    assert store.read(EVENTS).count() == accepted
    assert store.read(QUARANTINE).where(F.col("detail").isNull() | (F.col("detail") != "identity link record")).count() == quarantined
    assert store.read(QUARANTINE).where(F.col("reason") == "malformed_record").count() > 0


def test_every_generated_network_links_accounts_to_persons(spark, day):
    """Link records name native ids; every network's accounts must resolve to the persons they name."""
    settings, meta, _ = day
    accounts = TableStore(spark, settings).read(ACCOUNTS)
    linked = {r.network: r["count"] for r in accounts.where(F.col("person_id").startswith("person:")).groupBy("network").count().collect()}
    assert set(meta["networks"]) <= set(linked), f"networks with no linked account: {set(meta['networks']) - set(linked)}"
    # the planted top person links an account on every network it was seen on
    p0 = {r.network for r in accounts.where(F.col("person_id") == "person:p0").collect()}
    assert p0 == set(meta["networks"])
    assert accounts.where(F.col("account_id").rlike(r"^reddit:t2_")).count() == 0


def test_bots_are_scored_in_the_daily_flow(spark, day):
    settings, _, result = day
    risk = TableStore(spark, settings).read(ACCOUNT_RISK).where(F.col("risk_date") == F.lit(DAY))
    assert risk.count() > 0 and result.metrics["accounts_risky"] > 0
    bots = bot_persons(spark, settings)
    scores = published(spark, settings)
    suppressed = {r.person_id for r in scores.where("suppressed").collect()}
    assert suppressed, "no risky person was suppressed"
    assert len(suppressed & bots) >= 0.8 * len(suppressed), "suppressed persons are mostly not the planted bots"
    assert scores.where("suppressed AND score > 1").count() == 0


def test_scores_rank_planted_influence(spark, day):
    settings, _, result = day
    scores = published(spark, settings)
    assert scores.count() == result.metrics["persons_scored"] > 500
    assert scores.where((F.col("score") < 1) | (F.col("score") > 100)).count() == 0
    ordered = scores.orderBy(F.desc("score"), F.desc("raw_score"), "person_id")
    top5 = [r.person_id for r in ordered.limit(5).collect()]
    assert "person:p0" in top5
    top100 = {r.person_id for r in ordered.limit(100).collect()}
    assert not top100 & bot_persons(spark, settings)


def test_scores_are_calibrated_and_keep_network_parts(spark, day):
    settings, _, _ = day
    calibrated = published(spark, settings).where(~F.col("suppressed"))
    stats = calibrated.agg(F.mean("score").alias("mean"), F.percentile("score", 0.95).alias("p95")).first()
    assert abs(stats.mean - 40) <= 1 and abs(stats.p95 - 63) <= 1
    p0 = published(spark, settings).where(F.col("person_id") == "person:p0").first()
    parts = {p.network: p for p in p0.network_parts}
    assert len(parts) >= 6 and abs(sum(p.effort_share for p in parts.values()) - 1) < 1e-9
    assert all(p.reach > 0 and p.authority > 0 for p in parts.values())


def test_explanations_exist_for_the_top(spark, day):
    settings, _, _ = day
    store = TableStore(spark, settings)
    top10 = [r.person_id for r in published(spark, settings).orderBy(F.desc("score"), F.desc("raw_score")).limit(10).collect()]
    explained = store.read(SCORE_EXPLANATIONS).where(score_stage.snapshot_rows(DAY, "v1") & F.col("person_id").isin(top10)).collect()
    assert sorted(r.person_id for r in explained) == sorted(top10)
    assert all(r.top_engagers and r.networks and r.summary for r in explained)


def test_mlflow_run_records_the_day(spark, day):
    settings, _, result = day
    mlflow.set_tracking_uri(settings.tracking_uri())
    run = mlflow.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["version"] == "v1"
    assert run.data.metrics["rows_in"] == run.data.metrics["rows_accepted"] + run.data.metrics["rows_quarantined"] + run.data.metrics["rows_already_present"]
    assert run.data.tags["gate.clout_scores"] == "passed" and run.data.tags["gate.clout_scores_calibration"] == "passed"
    assert run.data.tags["gate.clout_topic_scores"] == "passed" and run.data.metrics["topics_scored"] > 0
    assert "delta.scores.version" in run.data.tags
    # lineage: each table the snapshot read and wrote, as an MLflow dataset with its Delta path and version
    lineage = {}
    for item in run.inputs.dataset_inputs:
        context = {t.key: t.value for t in item.tags}["mlflow.data.context"]
        lineage[(context, item.dataset.name)] = (item.dataset.source_type, json.loads(item.dataset.source), json.loads(item.dataset.profile))
    store = TableStore(spark, settings)
    expected = {("input", s.name): s for s in (EVENTS, ACCOUNTS, DAILY_INTERACTIONS, POSTS_DAILY, ACCOUNT_RISK)}
    outputs = (WINDOW_PAIRS, WINDOW_POSTS, AUTHORITY, RINGS, SCORES_STAGING, SCORE_EXPLANATIONS, SCORES, TOPIC_SCORES_STAGING, TOPIC_SCORES)
    expected |= {("output", s.name): s for s in outputs}
    assert set(lineage) == set(expected)
    for key, spec in expected.items():
        source_type, source, profile = lineage[key]
        assert source_type == "delta_table" and source["path"] == store.path(spec)
        # MLflow leaves a version 0 out of the source, so the profile carries it too; nothing wrote the inputs
        # between the score stage and the end of the run, when the versions were tagged
        version = int(run.data.tags[f"delta.{spec.name}.version"])
        assert source.get("delta_table_version", 0) == profile["delta_version"] == version <= store.version(spec)


def test_scores_current_view_shows_the_published_snapshot(spark, day):
    settings, _, _ = day
    TableStore(spark, settings).register_all()
    current = spark.table(f"{settings.storage.database}.scores_current")
    assert current.count() == published(spark, settings).count()
    assert {r.snapshot_date for r in current.select("snapshot_date").distinct().collect()} == {DAY}


def test_rerunning_the_day_with_other_shuffle_partitions_writes_identical_rows(spark, day):
    """The same day run again writes the same rows, bit for bit (checksums over every column), even with another
    number of shuffle partitions, which splits and orders every aggregation's rows differently. Double sums would
    follow the partitioning in their last bits (and break exact ties in the percentile ranks); they are exact sums
    (clout.exact). The first run had adaptive execution on (it coalesces and splits partitions at run time), the rerun
    has it off. One rerun proves all three: a rerun that appended instead of replacing, or rows that followed the
    partitioning, would change the checksums."""
    assert spark.conf.get("spark.sql.adaptive.enabled") == "false"  # conftest's setting; the first run had it on
    settings, _, _ = day
    outputs = day_checksums(spark, settings, DAY)
    assert all(n > 0 for n, _ in outputs.values())
    first = outputs | stage_checksums(spark, settings, DAY)
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "7")
    try:
        run_daily(spark, settings, DAY, now=NOW)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
    assert day_checksums(spark, settings, DAY) | stage_checksums(spark, settings, DAY) == first


def test_gate_blocks_a_corrupted_snapshot(spark, day, test_root, monkeypatch, capsys):
    """Runs last: a scoring bug that doubles every score must not reach the published table."""
    settings, _, _ = day
    store = TableStore(spark, settings)
    version_before = store.version(SCORES)
    before = published(spark, settings).select("person_id", "score").orderBy("person_id").collect()
    healthy = score_stage.combine
    monkeypatch.setattr(score_stage, "combine", lambda parts, algorithm: healthy(parts, algorithm).withColumn("score", F.least(F.col("score") * 2, F.lit(100))))
    sets = [x for o in overrides_for(test_root, "e2e", with_bot_models(test_root, "e2e")) for x in ("--set", o)]
    code = cli.main(["daily", "--date", DAY.isoformat(), *sets])
    assert code == 1
    assert "clout_scores_calibration" in capsys.readouterr().err
    assert store.version(SCORES) == version_before
    assert published(spark, settings).select("person_id", "score").orderBy("person_id").collect() == before
    mlflow.set_tracking_uri(settings.tracking_uri())
    last = mlflow.search_runs(experiment_names=[settings.mlflow.experiment], order_by=["attributes.start_time DESC"], max_results=1, output_format="list")[0]
    assert last.info.status == "FAILED" and "clout_scores_calibration" in last.data.tags["error"]
