"""Topic scores and the influencer search, on the attacked days (conftest.attacked_lake) and their planted topic scenarios.

clout.synth.attacks plants, every day, a topic expert on ``TOPIC`` (replies and shares from the most influential 2 %)
beside a high-volume poster on the same topic (likes from many of the least influential half), a quiet expert who
never acts, and a niche poster on
``NICHE_TOPIC`` that only three fixed persons react on. The daily runs that built the lakehouse computed, gated and
published the topic scores; these tests read them (no run of their own).
"""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from clout import cli
from clout.config import load_algorithm
from clout.score import stage as score_stage
from clout.score.calibrate import percentile_within
from clout.search import COLUMNS, SearchRequest, search
from clout.synth.attacks import NETWORK, NICHE_TOPIC, TOPIC
from clout.tables import DAILY_INTERACTIONS, TOPIC_SCORES, TableStore
from conftest import ATTACK_DAYS, attacked_overrides

LAST = ATTACK_DAYS[-1]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def topics(spark, attacked_lake):
    """(settings, planted ids, the last day's published v1 topic score rows): a few hundred rows."""
    settings, planted = attacked_lake
    rows = TableStore(spark, settings).read(TOPIC_SCORES).where(score_stage.snapshot_rows(LAST, "v1")).collect()
    return settings, planted, rows


def test_a_topic_expert_read_by_influential_people_ranks_above_a_poster_liked_by_many_nobodies(topics):
    _, planted, rows = topics
    on_topic = {r.person_id: r for r in rows if r.topic == TOPIC}
    expert, poster = on_topic[planted.account(planted.topic_expert)], on_topic[planted.account(planted.topic_poster)]
    assert poster.reactors > 5 * expert.reactors and poster.effort > expert.effort  # the poster's crowd is bigger and gave more
    assert expert.score > poster.score, (expert, poster)
    assert expert.networks == [NETWORK]


def test_a_trivial_topic_is_not_scored(spark, topics):
    settings, _, rows = topics
    niche = TableStore(spark, settings).read(DAILY_INTERACTIONS).where((F.col("topic") == NICHE_TOPIC) & (F.col("algorithm_version") == "v1"))
    reactors = niche.select("actor_person").distinct().count()
    assert 0 < reactors < load_algorithm(settings, "v1").topics.min_reactors  # ingested and aggregated, below the threshold
    assert not [r for r in rows if r.topic == NICHE_TOPIC]
    assert all(r.topic_reactors >= 5 for r in rows)


def test_scores_are_calibrated_within_each_topic(topics):
    _, _, rows = topics
    by_topic: dict[str, list] = {}
    for r in rows:
        by_topic.setdefault(r.topic, []).append(r)
    assert TOPIC in by_topic and len(by_topic) >= 10
    for topic, members in by_topic.items():
        scores = [r.score for r in sorted(members, key=lambda r: r.raw_score)]
        assert all(1 <= s <= 100 for s in scores)
        assert scores == sorted(scores), f"{topic}: the scale does not follow the raw score"
        assert all(r.topic_persons == len(members) for r in members)
        if len(members) >= 20:  # the scale's shape within the topic: mean 40, top above the p95 of 63, bottom far below the mean
            assert abs(sum(scores) / len(scores) - 40) <= 3, topic
            assert scores[-1] > 63 and scores[0] < 20, (topic, scores[0], scores[-1])


def test_search_and_the_sql_view_return_the_same_rows(spark, topics, test_root, capsys):
    settings, planted, rows = topics
    store = TableStore(spark, settings)
    on_topic = sorted((r for r in rows if r.topic == TOPIC), key=lambda r: (-r.score, -r.raw_score, r.person_id))
    found = search(store, SearchRequest(TOPIC, network=NETWORK, min_score=50, limit=5))
    assert found.day == LAST and found.algorithm_version == "v1"
    expected = [r.person_id for r in on_topic if NETWORK in r.networks and r.score >= 50][:5]
    assert [r.person_id for r in found.rows] == expected and len(expected) == 5
    assert all(r.score is not None and r.summary for r in found.rows)  # the global score and the explanation line

    # --active-days 1: acted on the last day. The expert posts every day; the quiet expert, scored on what their readers
    # did, never posts or reacts.
    everyone = {r.person_id for r in search(store, SearchRequest(TOPIC, limit=1000)).rows}
    active = search(store, SearchRequest(TOPIC, active_days=1, limit=1000)).rows
    quiet, expert = planted.account(planted.quiet_expert), planted.account(planted.topic_expert)
    assert {quiet, expert} <= everyone and expert in {r.person_id for r in active} and quiet not in {r.person_id for r in active}
    assert all(r.last_active == LAST for r in active) and len(everyone) == len(on_topic)

    db = settings.storage.database
    store.register_all()
    view = spark.sql(
        f"SELECT {', '.join(COLUMNS)} FROM {db}.topic_influencers WHERE snapshot_date = DATE'{LAST}' AND topic = '{TOPIC}' "
        f"AND array_contains(networks, '{NETWORK}') AND topic_score >= 50 ORDER BY topic_rank LIMIT 5"
    ).collect()
    assert view == found.rows

    sets = [x for kv in attacked_overrides(test_root) for x in ("--set", kv)]
    assert cli.main(["search", "--topic", TOPIC, "--network", NETWORK, "--min-score", "50", "--limit", "5", *sets]) == 0
    out = capsys.readouterr().out
    printed = [line.split("|")[2].strip() for line in out.splitlines() if line.startswith("|") and "person_id" not in line]
    assert printed == expected
    assert cli.main(["search", "--topic", TOPIC, "--network", "myspace", *sets]) == 2
    assert "not a configured network" in capsys.readouterr().err


def test_percentile_within_each_group_is_the_mid_rank_whatever_the_partitioning(spark):
    rows = [("a", float(v)) for v in (5, 1, 4, 2, 3)] + [("b", 3.0), ("b", 7.0), ("b", 3.0)]
    frame = spark.createDataFrame(rows, "topic string, raw double")
    expected = {("a", 1.0): 0.1, ("a", 2.0): 0.3, ("a", 3.0): 0.5, ("a", 4.0): 0.7, ("a", 5.0): 0.9, ("b", 3.0): 1 / 3, ("b", 7.0): 2.5 / 3}
    for parts in (1, 3):
        placed = percentile_within(frame.repartition(parts), "topic", "raw", size="n").collect()
        assert len(placed) == len(rows)
        assert all(r.p == pytest.approx(expected[(r.topic, r.raw)], abs=1e-12) and r.n == (5 if r.topic == "a" else 3) for r in placed)
