"""Score explanations on a tiny real lakehouse: daily interactions, risk and staged scores written by hand, so every
share, the bot discount and the change since the previous snapshot can be computed here and compared."""

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from clout.cli import main
from clout.config import load_algorithm
from clout.explain import stage as explain_stage
from clout.tables import ACCOUNT_RISK, ACCOUNTS, DAILY_INTERACTIONS, SCORE_EXPLANATIONS, SCORES, SCORES_STAGING, TableStore
from conftest import settings_for

DAY = dt.date(2026, 11, 20)
EARLIER = DAY - dt.timedelta(days=30)
PREVIOUS = dt.date(2026, 11, 18)  # the latest published v1 snapshot before DAY
D30 = 0.5 ** (30 / 21)  # decay of a reaction 30 days old (half-life 21 days in v1)
ANON = "stackexchange:anonymous"

# (date, network, actor, target, action, actions, effort per action, topics): every row also counts under '_all'
REACTIONS = [
    (DAY, "twitter", "person:b", "person:a", "reply", 3, 4.0, ["physics"]),
    (EARLIER, "twitter", "person:b", "person:a", "like", 1, 1.0, ["physics"]),
    (DAY, "twitter", "person:c", "person:a", "like", 3, 1.0, ["music"]),
    (DAY, "stackexchange", ANON, "person:a", "vote_up", 5, 2.0, ["physics"]),
    (DAY, "stackexchange", "person:c", "person:a", "vote_down", 2, 0.0, []),  # no effort: not a reaction to build on
    (DAY, "twitter", "twitter:666", "person:a", "like", 10, 1.0, ["physics"]),  # risky: weighs nothing
    (DAY, "twitter", "twitter:55", "person:a", "reply", 1, 4.0, ["music"]),  # bot probability 0.25: weighs 0.75
    (DAY, "twitter", "person:d", "person:a", "like", 1, 1.0, []),
    (DAY, "twitter", "person:e", "person:a", "like", 1, 1.0, []),
    (DAY, "twitter", "person:a", "person:b", "reply", 1, 4.0, []),
]
# person:a, after the discount: twitter 12 + D30 (b) + 3 (c) + 3 (55) + 1 (d) + 1 (e); stackexchange 10 (anonymous)
A_EFFORT = 30 + D30
A_EFFORT_RAW = A_EFFORT + 10 + 1  # twitter:666's 10 removed entirely, a quarter of twitter:55's 4
A_TOPICAL = {"physics": 22 + D30, "music": 6.0}  # twitter:666's physics likes weigh nothing


def _score_row(date, version, person, score, parts=(), suppressed=False, bot_probability=0.0, p=(0.5, 0.5, 0.5)):
    return {
        "snapshot_date": date, "algorithm_version": version, "person_id": person, "score": score, "raw_score": 0.5,
        "reach": 1.0, "amplification": 1.0, "authority": 1.0, "p_reach": p[0], "p_amplification": p[1], "p_authority": p[2],
        "networks": sorted(n for n, _ in parts), "network_parts": [(n, 1.0, 1.0, 1.0, share) for n, share in parts],
        "bot_probability": bot_probability, "suppressed": suppressed, "code_version": "test",
    }  # fmt: skip


# Session settings this module needs, restored afterwards:
# - VACUUM lists files with Spark's partition-discovery parallelism (10,000 tasks by default): 30-60 s per tiny table
#   in forget, where 2 tasks take a few seconds.
MODULE_CONF = {
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
}


@pytest.fixture(scope="module")
def module_conf(spark):
    previous = {key: spark.conf.get(key, None) for key in MODULE_CONF}
    for key, value in MODULE_CONF.items():
        spark.conf.set(key, value)
    yield
    for key, value in previous.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)


@pytest.fixture(scope="module")
def lake(spark, test_root, module_conf):
    settings = settings_for(test_root, "explain")
    store = TableStore(spark, settings)
    daily = [
        (date, network, actor, target, action, topic, actions, actions * effort, version)
        for date, network, actor, target, action, actions, effort, topics in REACTIONS
        for topic in ["_all", *topics]
        for version in ("v1", "v0")  # another version's aggregates must not leak in
    ]
    store.append(DAILY_INTERACTIONS, spark.createDataFrame(daily, DAILY_INTERACTIONS.schema))
    owners = {"person:a": "twitter:1", "person:b": "twitter:2", "person:c": "twitter:3", "person:d": "twitter:4", "person:e": "twitter:5"}
    accounts = [(account, "twitter", person, EARLIER, DAY) for person, account in owners.items()]
    accounts += [
        ("twitter:55", "twitter", "twitter:55", DAY, DAY),
        ("twitter:666", "twitter", "twitter:666", DAY, DAY),
        (ANON, "stackexchange", ANON, DAY, DAY),
    ]
    store.append(ACCOUNTS, spark.createDataFrame(accounts, ACCOUNTS.schema))
    risk = [
        (DAY, "twitter", "twitter:666", 0.93, True, ["classifier:0.93"], "test/1", 0.93, None, None),
        (DAY, "twitter", "twitter:55", 0.25, False, [], "test/1", 0.25, None, None),
    ]
    store.append(ACCOUNT_RISK, spark.createDataFrame(risk, ACCOUNT_RISK.schema))

    a_twitter = (20 + D30) / A_EFFORT
    staged = [
        _score_row(DAY, "v1", "person:a", 87, [("twitter", a_twitter), ("stackexchange", 1 - a_twitter)], p=(0.995, 0.92, 0.97)),
        _score_row(DAY, "v1", "person:b", 81, [("twitter", 1.0)]),
        _score_row(DAY, "v1", "twitter:666", 1, suppressed=True, bot_probability=0.93),  # risky, received nothing
    ]
    store.append(SCORES_STAGING, spark.createDataFrame(staged, SCORES_STAGING.schema))
    published = [
        _score_row(PREVIOUS - dt.timedelta(days=1), "v1", "person:a", 20),
        _score_row(PREVIOUS, "v1", "person:a", 83),
        _score_row(DAY - dt.timedelta(days=1), "v0", "person:a", 50),  # another version, later
        _score_row(DAY, "v1", "person:a", 10),  # an earlier publication of DAY itself: not "previous"
    ]
    store.append(SCORES, spark.createDataFrame(published, SCORES.schema))
    return settings


@pytest.fixture(scope="module")
def explained(spark, lake):
    metrics = explain_stage.compute(spark, lake, load_algorithm(lake), DAY)
    rows = TableStore(spark, lake).read(SCORE_EXPLANATIONS).where((F.col("snapshot_date") == F.lit(DAY)) & (F.col("algorithm_version") == "v1"))
    return metrics, {r.person_id: r for r in rows.collect()}


def test_one_explanation_per_staged_person(explained):
    metrics, rows = explained
    assert sorted(rows) == ["person:a", "person:b", "twitter:666"]
    assert metrics["explanations"] == 3


def test_networks_and_topics_are_shares_largest_first(explained):
    a = explained[1]["person:a"]
    assert [n.network for n in a.networks] == ["twitter", "stackexchange"]
    assert sum(n.share for n in a.networks) == pytest.approx(1, abs=1e-9)
    total = sum(A_TOPICAL.values())
    assert [(t.topic, t.share) for t in a.topics] == [
        ("physics", pytest.approx(A_TOPICAL["physics"] / total, abs=1e-9)),
        ("music", pytest.approx(A_TOPICAL["music"] / total, abs=1e-9)),
    ]
    assert sum(t.share for t in a.topics) == pytest.approx(1, abs=1e-9)
    assert explained[1]["person:b"].topics == []  # a's reply to b carried no topic


def test_top_engagers_with_their_scores_and_shares(explained):
    a = explained[1]["person:a"]
    engagers = [(e.person_id, e.score, e.share) for e in a.top_engagers]
    assert engagers == [
        ("person:b", 81, pytest.approx((12 + D30) / A_EFFORT, abs=1e-9)),
        (ANON, None, pytest.approx(10 / A_EFFORT, abs=1e-9)),  # listed as itself, never scored
        ("person:c", None, pytest.approx(3 / A_EFFORT, abs=1e-9)),  # unscored: nobody reacted to c
        ("twitter:55", None, pytest.approx(3 / A_EFFORT, abs=1e-9)),  # tie with c, by name
        ("person:d", None, pytest.approx(1 / A_EFFORT, abs=1e-9)),  # d and e tie: five kept, e is out
    ]
    assert a.top_engagers_share == pytest.approx(1 - 1 / A_EFFORT, abs=1e-9)
    assert a.engagers == 5  # b, c, 55, d, e: not the anonymous placeholder, not the risky twitter:666


def test_bot_discount_is_the_share_of_raw_effort_removed(explained):
    rows = explained[1]
    assert rows["person:a"].bot_discount == pytest.approx(1 - A_EFFORT / A_EFFORT_RAW, abs=1e-12)
    assert rows["person:b"].bot_discount == 0.0
    assert rows["twitter:666"].bot_discount == 0.0  # received nothing


def test_change_since_the_previous_published_snapshot_of_the_version(explained):
    rows = explained[1]
    a, b = rows["person:a"], rows["person:b"]
    assert (a.previous_date, a.previous_score, a.score_change) == (PREVIOUS, 83, 4)
    assert (b.previous_date, b.previous_score, b.score_change) == (None, None, None)  # not in the previous snapshot


def test_summary_is_one_readable_line(explained):
    rows = explained[1]
    a = rows["person:a"].summary
    for piece in ("87", "reach p99", "amplification p92", "authority p97", "twitter ", "stackexchange ", "physics ", "music ",
                  "top engagers person:b (81), stackexchange:anonymous (unscored), person:c (unscored) gave", "bots −", "+4 since 2026-11-18"):  # fmt: skip
        assert piece in a, (piece, a)
    assert a.startswith("87 · reach p99")
    assert "\n" not in a
    assert rows["person:b"].summary.endswith("new since 2026-11-18")
    suppressed = rows["twitter:666"]
    assert suppressed.suppressed and suppressed.summary.startswith("suppressed: risky account (bot probability 0.93) · 1 · ")
    assert suppressed.networks == [] and suppressed.top_engagers == [] and suppressed.engagers == 0


def _cli(lake, *args):
    conf = {
        "storage.root": lake.storage.root, "storage.landing": lake.storage.landing, "storage.checkpoint_dir": lake.storage.checkpoint_dir,
        "mlflow.tracking_uri": lake.mlflow.tracking_uri, "mlflow.artifact_root": lake.mlflow.artifact_root,
        "spark.conf.spark.sql.shuffle.partitions": "2",
    }  # fmt: skip
    return main(["explain", *args, *[x for k, v in conf.items() for x in ("--set", f"{k}={v}")]])


def test_cli_prints_the_explanation(lake, explained, capsys):
    assert _cli(lake, "person:a") == 0  # default date: the latest snapshot holding the person
    out = capsys.readouterr().out
    assert "person:a: score 87 on 2026-11-20 (algorithm v1)" in out
    assert "change: +4 since 2026-11-18 (was 83)" in out
    for line in ("reach          p99", "amplification  p92", "authority      p97", "physics", "music", "from 5 distinct engagers"):
        assert line in out, (line, out)
    assert [line.split()[:3] for line in out.splitlines() if line.startswith("  person:b ")] == [["person:b", "score", "81"]]
    assert "stackexchange:anonymous" in out and "unscored" in out
    assert f"bot discount: {100 * (1 - A_EFFORT / A_EFFORT_RAW):.1f}%" in out
    assert "suppressed: no" in out

    assert _cli(lake, "twitter:666", "--date", DAY.isoformat()) == 0
    out = capsys.readouterr().out
    assert "suppressed: yes" in out and "SUPPRESSED" in out


def test_cli_not_scored_unknown_and_malformed(lake, explained, capsys):
    assert _cli(lake, "person:c") == 0  # known (an account maps to c), nobody reacted to c
    assert "person:c is not scored on 2026-11-20 (v1): nobody's weighted reaction reached them" in capsys.readouterr().out
    assert _cli(lake, "person:zz") == 1
    assert "person:zz is unknown" in capsys.readouterr().out
    assert _cli(lake, "person:a", "--date", "2026-11-19") == 0  # no snapshot explained that day
    assert "no snapshot of v1 is explained on 2026-11-19" in capsys.readouterr().out
    assert _cli(lake, "person:a' OR '1'='1 --") == 2  # never reaches Spark
    assert _cli(lake, "person:a", "--algorithm", "v1; DROP") == 2
    assert "not an algorithm version" in capsys.readouterr().err


def test_forget_removes_the_person_from_staged_scores_and_every_explanation(spark, lake, explained):
    """Runs last in this module: it erases person:b, a's top engager, from the lake."""
    from clout.erasure import forget
    from clout.tables import ERASURE_LOG

    store = TableStore(spark, lake)
    explanations = lambda: {r.person_id: r for r in store.read(SCORE_EXPLANATIONS).collect()}  # noqa: E731
    old_files = set(store.read(SCORE_EXPLANATIONS).inputFiles())
    a_before = explanations()["person:a"]

    removed = forget(spark, lake, "person:b", request_id="req-explain-1", retain_hours=0)

    assert removed["scores_staging"] == 1 and removed["score_explanations"] == 1 and removed["accounts"] == 1
    assert store.read(SCORES_STAGING).where(F.col("person_id") == "person:b").count() == 0
    after = explanations()
    assert sorted(after) == ["person:a", "twitter:666"]
    a = after["person:a"]
    assert [e.person_id for e in a.top_engagers] == [ANON, "person:c", "twitter:55", "person:d"]  # nobody promoted
    assert a.top_engagers_share == pytest.approx(a_before.top_engagers_share - (12 + D30) / A_EFFORT, abs=1e-9)
    assert "top engagers stackexchange:anonymous (unscored), person:c (unscored), twitter:55 (unscored) gave" in a.summary
    assert a.summary.startswith("87 · reach p99") and a.summary.endswith("+4 since 2026-11-18")
    # the id is nowhere in the table, nor in the files of the versions before the erasure
    as_text = store.read(SCORE_EXPLANATIONS).select(F.to_json(F.struct("*")).alias("row"))
    assert as_text.where(F.col("row").contains("person:b")).count() == 0
    gone = old_files - set(store.read(SCORE_EXPLANATIONS).inputFiles())
    assert gone and not any(Path(f.removeprefix("file:")).exists() for f in gone)
    logged = {r.table_name: r.rows_deleted for r in store.read(ERASURE_LOG).where(F.col("request_id") == "req-explain-1").collect()}
    assert logged == removed
    assert forget(spark, lake, "person:b", retain_hours=0) == {}
