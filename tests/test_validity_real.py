"""Validity of the score on the real dumps, measured end to end by ``clout.validate``.

The ``realdata`` tests run each validation once on the full dump (one module-scoped fixture per data set) and
check the structure of what it measured, then that Clout beats every simple baseline. The latter are the
product's claim, not a formality: they may fail while the model is being improved, and are not to be
weakened to pass. The small tests at the end pin the measurement itself on hand-built frames.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from mlflow.tracking import MlflowClient
from pyspark.sql import functions as F

from clout.aggregate.stage import build_day
from clout.config import load_algorithm
from clout.tables import DAILY_INTERACTIONS, TableStore
from clout.validate import EXPERIMENT, Figure, higgs, stackexchange
from clout.validate.common import CLOUT, scratch_settings, spearman, top_overlap
from conftest import DATASETS, settings_for

HIGGS_FILE = DATASETS / "higgs-twitter" / "higgs-activity_time.txt.gz"
SE_DUMP = DATASETS / "stackexchange-quantumcomputing"


def _report(validation) -> str:
    return "\n" + validation.table()


@pytest.fixture(scope="module")
def higgs_run(spark, test_root):
    """The Higgs validation, its workdir kept (under the test root) so the tests can look at its lakehouse."""
    settings = settings_for(test_root, "validity_higgs")
    workdir = test_root / "validity_higgs" / "work"
    validation = higgs.validate_higgs(spark, settings, HIGGS_FILE, workdir=workdir)
    print(_report(validation))
    return settings, workdir, validation


@pytest.fixture(scope="module")
def se_run(spark, test_root):
    settings = settings_for(test_root, "validity_stackexchange")
    validation = stackexchange.validate_stackexchange(spark, settings, SE_DUMP)
    print(_report(validation))
    return settings, validation


def _assert_recorded(settings, validation, names: list[str]) -> None:
    """One FINISHED run in experiment clout-validation, with the figures as metrics and the JSON artifact."""
    client = MlflowClient(settings.tracking_uri())
    run = client.get_run(validation.run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == EXPERIMENT
    metrics = run.data.metrics
    for name in names:
        assert name in metrics, f"metric {name} missing from {sorted(metrics)}"
    for key, value in validation.metrics().items():
        assert math.isnan(value) or metrics[key] == pytest.approx(value)
    assert f"validation_{validation.dataset}.json" in {a.path for a in client.list_artifacts(run.info.run_id)}
    assert run.data.params["algorithm_version"] == validation.params["algorithm_version"]


# ---------------------------------------------------------------- Higgs: predictive validity


@pytest.mark.realdata
def test_higgs_validation_is_well_formed(spark, higgs_run):
    settings, workdir, validation = higgs_run
    info = validation.info
    assert info["rows_accepted"] == 563_069 - 7_588  # every action but the self-interactions
    assert info["population"] > 0 and 0 < info["population_scored"] <= info["population"]
    assert 0 < info["population_reacted_to_later"] < info["population"]
    by_measure = {f.measure: f for f in validation.figures}
    assert set(by_measure) == {"spearman", "top100"}
    for figure in validation.figures:
        assert set(figure.baselines) == {"reactions", "distinct_reactors"}
        low = -1.0 if figure.measure == "spearman" else 0.0
        assert all(low <= v <= 1.0 for v in [figure.clout, *figure.baselines.values()]), figure
    names = [f"higgs_{m}_{p}" for m in ("spearman", "top100") for p in (CLOUT, "reactions", "distinct_reactors")]
    _assert_recorded(settings, validation, [*names, "higgs_population", "higgs_seconds_total"])
    # the score saw 1-4 July only: no aggregate of a truth day exists in the scratch lakehouse
    lake = scratch_settings(settings, workdir.resolve())
    days = TableStore(spark, lake).read(DAILY_INTERACTIONS).agg(F.min("event_date"), F.max("event_date")).first()
    assert tuple(days) == (higgs.HISTORY_FIRST, higgs.SNAPSHOT)


@pytest.mark.realdata
def test_higgs_aggregates_are_those_of_build_day(spark, higgs_run):
    """The one-pass aggregates the validation writes equal the daily stage's own, day by day (here: 2 July)."""
    settings, workdir, _ = higgs_run
    lake = scratch_settings(settings, workdir.resolve())
    store = TableStore(spark, lake)
    day = dt.date(2012, 7, 2)
    one_pass = store.version(DAILY_INTERACTIONS)
    build_day(spark, lake, load_algorithm(lake), day)
    before = store.read(DAILY_INTERACTIONS, one_pass).where(F.col("event_date") == F.lit(day))
    after = store.read(DAILY_INTERACTIONS).where(F.col("event_date") == F.lit(day))
    assert before.count() > 0
    assert before.exceptAll(after).count() == 0 and after.exceptAll(before).count() == 0


# Issue 11, item 9 is open: on both dumps the v1 score does not beat its simplest baseline yet (measured in the
# issue note: Higgs 0.336 / 0.36 against distinct reactors 0.388 / 0.39; Stack Exchange 0.603 against upvotes
# 0.654). strict: the day the model beats them, these tests report XPASS as a failure and the mark must go.
NOT_YET_BEATEN = pytest.mark.xfail(strict=True, reason="issue 11 item 9: the v1 score does not beat the simplest baseline yet")


@pytest.mark.realdata
@NOT_YET_BEATEN
def test_higgs_clout_beats_every_baseline(higgs_run):
    _, _, validation = higgs_run
    for figure in validation.figures:
        for name, value in figure.baselines.items():
            assert figure.clout > value, f"{figure.measure}: Clout {figure.clout:.3f} <= {name} {value:.3f}{_report(validation)}"


# ---------------------------------------------------------------- Stack Exchange: score vs Reputation


@pytest.mark.realdata
def test_stackexchange_validation_is_well_formed(se_run):
    settings, validation = se_run
    info = validation.info
    assert info["population"] > 0 and 0 < info["population_scored"] <= info["population"]
    # 402 people wrote a question, answer or comment (tests/test_adapters_real.py); those without a Reputation drop out
    assert info["population"] <= 402
    (figure,) = validation.figures
    assert figure.measure == "spearman" and set(figure.baselines) == {"upvotes", "accepted_answers"}
    assert all(-1.0 <= v <= 1.0 for v in [figure.clout, *figure.baselines.values()]), figure
    # the window covers the whole dump (March - September 2018) without decay
    params = validation.params
    assert params["algorithm_version"].endswith("-span") and float(params["half_life_days"]) >= 1e6
    first, last = (dt.date.fromisoformat(d) for d in params["span"].split(".."))
    assert int(params["window_days"]) == (last - first).days + 1 and params["snapshot_date"] == str(last)
    names = [f"stackexchange_spearman_{p}" for p in (CLOUT, "upvotes", "accepted_answers")]
    _assert_recorded(settings, validation, [*names, "stackexchange_population", "stackexchange_seconds_total"])
    run = MlflowClient(settings.tracking_uri()).get_run(validation.run_id)
    assert run.data.params["window_days"] == params["window_days"]


@pytest.mark.realdata
@NOT_YET_BEATEN
def test_stackexchange_clout_beats_every_baseline(se_run):
    _, validation = se_run
    (figure,) = validation.figures
    for name, value in figure.baselines.items():
        assert figure.clout > value, f"Clout {figure.clout:.3f} <= {name} {value:.3f}{_report(validation)}"


# ---------------------------------------------------------------- the measurement on hand-built frames


def test_spearman_uses_average_ranks_for_ties(spark):
    people = spark.createDataFrame([("a", 1, 10.0), ("b", 1, 20.0), ("c", 2, 20.0), ("d", 3, 40.0)], "person_id string, truth long, x double")
    # ranks: truth 1.5 1.5 3 4, x 1 2.5 2.5 4 -> Pearson of the ranks
    tr, xr = [1.5, 1.5, 3, 4], [1, 2.5, 2.5, 4]
    mt, mx = sum(tr) / 4, sum(xr) / 4
    cov = sum((a - mt) * (b - mx) for a, b in zip(tr, xr, strict=True))
    expected = cov / math.sqrt(sum((a - mt) ** 2 for a in tr) * sum((b - mx) ** 2 for b in xr))
    assert spearman(people, "truth", ["x"])["x"] == pytest.approx(expected)


def test_top_overlap_breaks_ties_by_id(spark):
    people = spark.createDataFrame([("a", 5, 1), ("b", 5, 9), ("c", 1, 9), ("d", 0, 0)], "person_id string, truth long, x long")
    # top 2 by truth: a, b; by x: b, c (tie at 9 broken by id) -> one of two in common
    assert top_overlap(people, "truth", ["x", "truth"], n=2) == {"x": 0.5, "truth": 1.0}


def test_higgs_population_counts_history_reactions_and_ranks_unscored_last(spark):
    events = spark.createDataFrame(
        [
            (dt.date(2012, 7, 1), "share", "higgs:1", "higgs:2"),
            (dt.date(2012, 7, 2), "share", "higgs:1", "higgs:2"),
            (dt.date(2012, 7, 2), "reply", "higgs:3", "higgs:2"),
            (dt.date(2012, 7, 3), "mention", "higgs:2", "higgs:4"),
            (dt.date(2012, 7, 5), "share", "higgs:1", "higgs:4"),
            (dt.date(2012, 7, 6), "share", "higgs:1", "higgs:5"),  # reacted to only later: outside the population
            (dt.date(2012, 7, 6), "share", "higgs:6", "higgs:6"),  # self: not a reaction
        ],
        "event_date date, action string, actor_person string, target_person string",
    )
    reactions = higgs.person_reactions(events)
    history = higgs.received(reactions, higgs.HISTORY_FIRST, higgs.SNAPSHOT)
    future = higgs.received(reactions, dt.date(2012, 7, 5), higgs.TRUTH_LAST)
    scores = spark.createDataFrame(
        [("higgs:2", 60, 0.8, 2.0, 1.5, 1.1)], "person_id string, score int, raw_score double, reach double, amplification double, authority double"
    )
    rows = {r.person_id: r for r in higgs.population(history, future, scores).collect()}
    assert set(rows) == {"higgs:2", "higgs:4"}
    assert (rows["higgs:2"].reactions, rows["higgs:2"].distinct_reactors, rows["higgs:2"].truth) == (3, 2, 0)
    assert (rows["higgs:4"].reactions, rows["higgs:4"].truth, rows["higgs:4"].scored) == (1, 1, False)
    assert rows["higgs:4"][CLOUT] < 0 <= rows["higgs:2"][CLOUT] and rows["higgs:4"].clout_score == 0
    assert rows["higgs:4"].part_reach < 0 < rows["higgs:2"].part_reach


def test_stackexchange_reputation_is_read_from_users_rows(spark, tmp_path):
    users = tmp_path / "Users.xml"
    users.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<users>\n'
        '  <row Id="-1" Reputation="1" DisplayName="Community" />\n'
        '  <row Id="7" Reputation="1234" DisplayName="A &amp; B" />\n'
        '  <row Id="8" Reputation="many" />\n'
        "  <row Id=\"9\" Reputation='5' <broken\n"
        "</users>\n"
    )
    assert stackexchange.users_file(tmp_path) == str(users)
    got = {r.account_id: r.reputation for r in stackexchange.reputations(spark, str(users)).collect()}
    assert got == {"stackexchange:-1": 1, "stackexchange:7": 1234}


def test_figure_beats_only_when_above_every_baseline():
    assert Figure("spearman", 0.5, {"a": 0.4, "b": 0.49}).beats_baselines
    assert not Figure("spearman", 0.5, {"a": 0.4, "b": 0.5}).beats_baselines
    assert not Figure("spearman", float("nan"), {"a": 0.4}).beats_baselines
    assert Figure("top100", 0.3, {"a": 0.2, "b": 0.25}).best_baseline == "b"
