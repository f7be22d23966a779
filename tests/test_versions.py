"""Versions side by side on one lakehouse: the session's attacked days (conftest.attacked_lake: two generated days
with the attack scenarios planted, shared with test_attacks) published under v1 by the daily job, then a backfill
under v2 (resumable, never touching v1's rows), a comparison of the two, promotion and rollback of scores_current, a
person's history, and the daily job and a forced backfill running at once as two processes. Real Spark, Delta,
GraphFrames, GE and MLflow (SQLite). Small days on three networks: the cost is per stage."""

import datetime as dt
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
from pyspark.sql import functions as F
from scipy import stats

from checksums import checksum
from clout import cli
from clout.aggregate.stage import build_day
from clout.config import ConfigError, load_algorithm
from clout.errors import InputError
from clout.pipeline import refresh_other_versions
from clout.score.stage import snapshot_rows
from clout.tables import ACCOUNT_RISK, ACCOUNTS, AUTHORITY, DAILY_INTERACTIONS, EVENTS, POSTS_DAILY, PROMOTIONS, SCORE_EXPLANATIONS, SCORES, TableStore
from clout.versions.backfill import plan_backfill, run_backfill
from clout.versions.compare import compare_versions, rank_correlations
from clout.versions.promotions import current_version, person_history, promote
from conftest import ATTACK_DAYS, attacked_overrides

DAYS = ATTACK_DAYS
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lake(spark, attacked_lake):
    settings, _ = attacked_lake
    return settings, TableStore(spark, settings)


def checksums(store: TableStore, frames: dict) -> dict[str, tuple[int, int]]:
    return {name: checksum(df) for name, df in frames.items()}


def v1_rows(store: TableStore) -> dict[str, tuple[int, int]]:
    is_v1 = F.col("algorithm_version") == "v1"
    return checksums(
        store,
        {
            "scores": store.read(SCORES).where(is_v1),
            "authority": store.read(AUTHORITY).where(is_v1),
            "score_explanations": store.read(SCORE_EXPLANATIONS).where(is_v1),
            "daily_interactions": store.read(DAILY_INTERACTIONS).where(is_v1),
            "daily_posts": store.read(POSTS_DAILY),
            "account_risk": store.read(ACCOUNT_RISK),
        },
    )


@pytest.fixture(scope="module")
def backfilled(lake):
    settings, store = lake
    before = v1_rows(store)
    messages: list[str] = []
    report = run_backfill(store.spark, settings, DAYS[0], DAYS[-1], "v2", progress=messages.append)
    return report, before, messages


def test_backfill_publishes_every_day_under_v2(lake, backfilled):
    settings, store = lake
    report, _, _ = backfilled
    assert report.done == DAYS and report.plan.skipped == [] and report.plan.empty == []
    assert report.plan.aggregates == DAYS  # v2 weighs actions its own way: its daily_interactions rows are built first
    v2 = load_algorithm(settings, "v2").score.part_weights
    for day in DAYS:
        scores = store.read(SCORES).where(snapshot_rows(day, "v2"))
        assert scores.count() > 100
        # a backfill aggregates every day with the accounts known today: no account that a later link record tied to
        # a person is scored on its own (the daily run's aggregates of past days keep the links known back then)
        linked_elsewhere = store.read(ACCOUNTS).where(F.col("person_id") != F.col("account_id")).select(F.col("account_id").alias("person_id"))
        assert scores.join(linked_elsewhere, on="person_id", how="inner").count() == 0
        # the raw score is v2's weighted mean of the part percentiles, not v1's
        expected = F.col("p_reach") * v2.reach + F.col("p_amplification") * v2.amplification + F.col("p_authority") * v2.authority
        assert scores.where(F.abs(F.col("raw_score") - expected / F.lit(v2.reach + v2.amplification + v2.authority)) > 1e-9).count() == 0
        assert store.read(SCORE_EXPLANATIONS).where(snapshot_rows(day, "v2")).count() == scores.count()
        assert store.read(AUTHORITY).where(snapshot_rows(day, "v2")).count() > 0


def test_backfill_leaves_v1_rows_untouched(lake, backfilled):
    _, store = lake
    _, before, _ = backfilled
    assert v1_rows(store) == before


def test_backfill_prints_progress_with_an_eta(backfilled):
    _, _, messages = backfilled
    assert "2 snapshot(s) to compute" in messages[0]
    per_day = [m for m in messages if " done in " in m and "ETA" in m]
    assert [m.split()[2] for m in per_day] == [d.isoformat() for d in DAYS]
    assert "(1/2)" in per_day[0] and "(2/2)" in per_day[-1] and per_day[-1].endswith("ETA 0m00s")


def test_backfill_is_one_mlflow_run_with_a_child_per_day(lake, backfilled):
    settings, _ = lake
    report, _, _ = backfilled
    mlflow.set_tracking_uri(settings.tracking_uri())
    parent = mlflow.get_run(report.run_id)
    assert parent.info.status == "FINISHED" and parent.data.tags["job"] == "backfill" and parent.data.metrics["snapshots_done"] == 2
    children = mlflow.search_runs(
        experiment_names=[settings.mlflow.experiment], filter_string=f"tags.mlflow.parentRunId = '{report.run_id}'", output_format="list"
    )
    assert sorted(c.data.tags["snapshot_date"] for c in children) == [d.isoformat() for d in DAYS]
    assert all(c.info.status == "FINISHED" and c.data.tags["algorithm_version"] == "v2" and "persons_scored" in c.data.metrics for c in children)
    # each day's run names the tables it read and wrote (Delta path and version), next to its parent link
    assert all({"daily_interactions", "account_risk", "scores"} <= {i.dataset.name for i in c.inputs.dataset_inputs} for c in children)


def test_backfill_resumes_and_plans_a_forced_redo(lake, backfilled):
    settings, store = lake
    again = run_backfill(store.spark, settings, DAYS[0], DAYS[-1], "v2", progress=lambda _: None)
    assert again.done == [] and again.plan.skipped == DAYS and again.plan.aggregates == []
    forced = plan_backfill(store, load_algorithm(settings, "v2"), DAYS[-1], DAYS[-1], force=True)
    assert forced.snapshots == [DAYS[-1]] and forced.aggregates == [DAYS[-1]]  # the day before it is reused, not rebuilt


def test_backfill_of_days_without_events_computes_nothing(lake, backfilled):
    settings, store = lake
    report = run_backfill(store.spark, settings, dt.date(2026, 1, 1), dt.date(2026, 1, 3), "v2", progress=lambda _: None)
    assert report.done == [] and len(report.plan.empty) == 3


def test_rank_correlations_equal_scipy_with_ties():
    rng = np.random.default_rng(3)
    a = rng.integers(1, 30, 2000)
    b = np.clip(a + rng.integers(-6, 7, 2000), 1, 40)
    table = np.zeros((30, 40), dtype=np.int64)
    np.add.at(table, (a - 1, b - 1), 1)
    spearman, kendall = rank_correlations(table)
    assert spearman == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    assert kendall == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)


def test_compare_reports_correlations_overlap_moves_movers_and_calibration(lake, backfilled):
    settings, store = lake
    day = DAYS[-1]
    result = compare_versions(store.spark, settings, day, "v1", "v2", top_k=20, movers=5)
    a = {r.person_id: (r.score, r.raw_score) for r in store.read(SCORES).where(snapshot_rows(day, "v1")).collect()}  # a few hundred rows
    b = {r.person_id: (r.score, r.raw_score) for r in store.read(SCORES).where(snapshot_rows(day, "v2")).collect()}
    both = sorted(a.keys() & b.keys())
    assert result.persons_both == len(both) and result.only_a == len(a.keys() - b.keys()) and result.only_b == len(b.keys() - a.keys())
    xs, ys = [a[p][0] for p in both], [b[p][0] for p in both]
    assert result.spearman == pytest.approx(stats.spearmanr(xs, ys).statistic, abs=1e-9)
    assert result.kendall_tau_b == pytest.approx(stats.kendalltau(xs, ys).statistic, abs=1e-9)
    assert 0.5 < result.spearman < 1.0  # same data, other part weights: related, not identical

    def top(scores):
        return {p for p, _ in sorted(scores.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:20]}

    assert result.top_k_overlap == pytest.approx(len(top(a) & top(b)) / 20)
    assert sum(result.moves.values()) == len(both) and result.moves == _moves(xs, ys)
    assert [abs(m["move"]) for m in result.movers] == sorted((abs(y - x) for x, y in zip(xs, ys, strict=True)), reverse=True)[:5]
    assert all(m["summary_a"] and m["summary_b"] for m in result.movers)
    assert set(result.calibration) == {"v1", "v2"} and all(c.persons > 0 and 1 <= c.p50 <= c.p95 <= c.p99 <= 100 for c in result.calibration.values())

    mlflow.set_tracking_uri(settings.tracking_uri())
    run = mlflow.get_run(result.run_id)
    assert run.data.metrics["spearman"] == pytest.approx(result.spearman) and run.data.tags["job"] == "compare"
    artifacts = {f.path for f in mlflow.MlflowClient().list_artifacts(result.run_id, "compare")}
    assert {"compare/moves_histogram.png", "compare/movers.json", "compare/calibration.json"} <= artifacts


def _moves(xs, ys) -> dict[int, int]:
    out: dict[int, int] = {}
    for x, y in zip(xs, ys, strict=True):
        out[y - x] = out.get(y - x, 0) + 1
    return out


def test_compare_cli_prints_and_refuses_a_missing_snapshot(lake, backfilled, test_root, capsys):
    args = attacked_overrides(test_root)
    sets = [x for kv in args for x in ("--set", kv)]
    assert cli.main(["compare", "--date", DAYS[1].isoformat(), "--a", "v1", "--b", "v2", "--top", "10", "--movers", "3", *sets]) == 0
    out = capsys.readouterr().out
    assert "Spearman" in out and "top-10 overlap" in out and "biggest movers" in out and "calibration v2" in out
    assert cli.main(["compare", "--date", "2026-01-01", "--a", "v1", "--b", "v2", *sets]) == 2
    assert "no published snapshot of 2026-01-01 for v1, v2" in capsys.readouterr().err
    assert cli.main(["compare", "--date", DAYS[1].isoformat(), "--a", "v1", "--b", "x' OR '1'='1", *sets]) == 2


def test_promote_switches_scores_current_and_rolls_back(lake, backfilled):
    settings, store = lake
    db = settings.storage.database
    spark = store.spark
    store.register_all()

    def current():
        rows = spark.table(f"{db}.scores_current").groupBy("snapshot_date", "algorithm_version").count().collect()
        return {(r.snapshot_date, r.algorithm_version) for r in rows}

    assert current() == {(DAYS[-1], "v1")}
    assert current_version(store, DAYS[-1]) == "v1"
    done = promote(store, "v2", DAYS[1], "v2 weighs reach higher; validated on Higgs and SE", by="tester")
    assert (done.previous_version, done.promoted_by) == ("v1", "tester")
    assert current() == {(DAYS[-1], "v2")}
    assert spark.table(f"{db}.scores_current").count() == store.read(SCORES).where(snapshot_rows(DAYS[-1], "v2")).count()
    promoted = {
        (r.snapshot_date, r.algorithm_version) for r in spark.table(f"{db}.scores_promoted").select("snapshot_date", "algorithm_version").distinct().collect()
    }
    assert promoted == {(DAYS[0], "v1"), (DAYS[1], "v2")}  # promoted from the second day: the first stays v1
    assert [current_version(store, d) for d in DAYS] == ["v1", "v2"]

    rollback = promote(store, "v1", DAYS[-1], "rollback: v2 moved too many scores", by="tester")
    assert rollback.previous_version == "v2"
    assert current() == {(DAYS[-1], "v1")}
    assert [current_version(store, d) for d in DAYS] == ["v1", "v1"]
    recorded = store.read(PROMOTIONS).orderBy("promoted_at").collect()
    assert [(r.algorithm_version, r.effective_from, r.promoted_by) for r in recorded][-2:] == [("v2", DAYS[1], "tester"), ("v1", DAYS[-1], "tester")]
    assert all(r.reason and r.promoted_at for r in recorded)


def test_promote_refuses_what_cannot_be_shown(lake, backfilled):
    _, store = lake
    with pytest.raises(InputError, match="no published snapshot on or after 2027-01-01"):
        promote(store, "v2", dt.date(2027, 1, 1), "too early", by="tester")
    with pytest.raises(ConfigError):
        promote(store, "v9", None, "no such version", by="tester")


def test_history_shows_both_versions_and_which_was_current(lake, backfilled, test_root, capsys):
    _, store = lake
    person = store.read(SCORES).where(snapshot_rows(DAYS[-1], "v1")).orderBy(F.desc("score"), "person_id").first().person_id
    rows = person_history(store, person)
    assert {(r.snapshot_date, r.algorithm_version) for r in rows} >= {(d, v) for d in DAYS for v in ("v1", "v2")}
    assert rows == sorted(rows, key=lambda r: (-r.snapshot_date.toordinal(), r.algorithm_version))
    assert {r.snapshot_date: r.algorithm_version for r in rows if r.published_as_current} == {d: current_version(store, d) for d in DAYS}
    for version in ("v1", "v2"):  # each version's deltas are the differences of its own scores (clout.score.bound)
        by_day = {r.snapshot_date: r for r in rows if r.algorithm_version == version}
        assert by_day[DAYS[1]].deltas[0] == by_day[DAYS[1]].score - by_day[DAYS[0]].score and by_day[DAYS[0]].deltas == (None, None, None)
    args = [x for kv in attacked_overrides(test_root) for x in ("--set", kv)]
    assert cli.main(["history", person, *args]) == 0
    out = capsys.readouterr().out
    assert person in out and out.count("  *") == 2 and "promotion:" in out
    assert cli.main(["history", "person:nobody", *args]) == 1


def test_daily_and_backfill_run_at_once_on_one_lakehouse(lake, backfilled, test_root, tmp_path, caplog):
    """The daily job (v1, rerunning the last day, in a process of its own) and a forced backfill of v2 of that day
    (in this test's process) run at once on the same tables and snapshot date: both finish, no Delta conflict is
    lost, and each writes what it wrote alone: the same aggregates bit for bit, the same persons with the same
    scores. The backfill starts once the daily run has linked the day's identities, so both build that day's
    aggregates, scores and explanations at the same time. The files rewritten around them change the order rows are
    read in, which moved scores by a point where two persons tied while sums were double sums; they are exact sums
    now (clout.exact), so every score must be the same."""
    settings, store = lake

    def state(version: str):
        this = F.col("algorithm_version") == version
        scores = {(r.snapshot_date, r.person_id): r.score for r in store.read(SCORES).where(this).select("snapshot_date", "person_id", "score").collect()}
        return checksum(store.read(DAILY_INTERACTIONS).where(this)), scores

    alone = {v: state(v) for v in ("v1", "v2")}
    sets = [x for kv in attacked_overrides(test_root) for x in ("--set", kv)]
    env = os.environ | {"PYSPARK_PYTHON": sys.executable}
    day = DAYS[-1].isoformat()  # both write this snapshot date; the gates only read, so the daily run skips them to save minutes
    daily_log = tmp_path / "daily.log"
    with daily_log.open("w") as out:
        daily = subprocess.Popen(
            [sys.executable, "-m", "clout.cli", "daily", "--date", day, "--set", "quality.enabled=false", *sets],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 900
            while f"{day} v1: identity done" not in daily_log.read_text() and daily.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
            assert daily.poll() is None, f"the daily run was not running when the backfill started:\n{daily_log.read_text()[-3000:]}"
            with caplog.at_level(logging.WARNING):
                report = run_backfill(store.spark, settings, DAYS[-1], DAYS[-1], "v2", force=True, progress=lambda _: None)
            daily.wait(timeout=1200)
        finally:
            if daily.poll() is None:
                daily.kill()
    output = daily_log.read_text()
    assert daily.returncode == 0, f"daily failed:\n{output[-3000:]}"
    assert report.done == [DAYS[-1]] and f"daily {day} (v1) done" in output
    here = [r.getMessage() for r in caplog.records]
    conflicts = [line for line in [*output.splitlines(), *here] if "Delta conflict" in line]
    assert not [c for c in conflicts if "persisted" in c]

    for version, (aggregates, scores) in alone.items():
        now_aggregates, now_scores = state(version)
        assert now_aggregates == aggregates and now_scores.keys() == scores.keys()
        moved = {p: now_scores[p] - scores[p] for p in scores if now_scores[p] != scores[p]}
        print(f"{version}: {len(scores) - len(moved)} of {len(scores)} scores identical, moved {sorted(moved.values())}; conflicts retried {len(conflicts)}")
        assert not moved


def test_late_events_rebuild_the_aggregates_of_every_version_that_has_the_day(lake, backfilled):
    """Last in the module: it adds an event. The daily run rebuilds the days its ingest touched under its own
    version and under every version already aggregated there, so a later backfill does not score stale rows."""
    settings, store = lake
    day = DAYS[-1]
    like = store.read(EVENTS).where((F.col("event_date") == F.lit(day)) & (F.col("action") == "like")).orderBy("event_id").first()
    late = like.asDict() | {"event_id": f"{like.network}:late-1", "actor_account": f"{like.network}:late-actor", "run_id": "late"}
    store.append(EVENTS, store.spark.createDataFrame([late], EVENTS.schema))
    build_day(store.spark, settings, load_algorithm(settings, "v1"), day)
    assert refresh_other_versions(store.spark, settings, load_algorithm(settings, "v1"), [day]) == 1

    def late_rows(version: str) -> int:
        rows = store.read(DAILY_INTERACTIONS).where((F.col("event_date") == F.lit(day)) & (F.col("algorithm_version") == version))
        return rows.where(F.col("actor_person") == f"{like.network}:late-actor").count()

    assert late_rows("v1") > 0 and late_rows("v2") == late_rows("v1")


@pytest.mark.parametrize("notebook", ["explore_day.ipynb", "compare_versions.ipynb"])
def test_notebook_runs_against_the_lakehouse(lake, backfilled, test_root, notebook, monkeypatch):
    """Each notebook under notebooks/ runs top to bottom in a real kernel (its own Spark session) on this lakehouse
    (v1 and v2 published); a failing cell fails the test."""
    import nbclient
    import nbformat

    path = Path(__file__).resolve().parents[1] / "notebooks" / notebook
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("CLOUT_ENV", "local")  # the kernel inherits this process's environment
    monkeypatch.setenv("CLOUT_SET", "\n".join(attacked_overrides(test_root)))
    monkeypatch.setenv("CLOUT_B", "v2")
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plots were drawn
