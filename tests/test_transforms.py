"""Pure transforms on tiny hand-built DataFrames."""

import datetime as dt

import pytest
from pyspark.sql import functions as F

from clout import window_state
from clout.aggregate.stage import interactions, posts, with_persons
from clout.config import load_algorithm, load_settings
from clout.identity.stage import accounts_seen, parse_links, resolve_persons
from clout.score.calibrate import normal_quantile, percentile, to_scale
from clout.score.reactions import window_reactions
from clout.score.stage import combine, parts
from conftest import edited_v1

D = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def algo():
    return load_algorithm(load_settings("local"))


def ev(spark, rows):
    return spark.createDataFrame(
        [(D, "twitter", a, t, act, topics) for a, t, act, topics in rows],
        "event_date date, network string, actor_account string, target_account string, action string, topics array<string>",
    )


def test_interactions_weigh_effort_and_count_each_action_once_in_all(spark, algo):
    events = ev(spark, [("a", "b", "reply", ["ai", "music"]), ("c", "b", "like", []), ("c", "b", "like", []), ("b", None, "post", ["ai"])])
    accounts = spark.createDataFrame([("a", "person:x"), ("b", "person:y")], "account_id string, person_id string")
    out = interactions(with_persons(events, accounts), algo)
    got = {(r.actor_person, r.action, r.topic): (r.actions, r.effort) for r in out.collect()}
    assert got == {
        ("person:x", "reply", "_all"): (1, 4.0),
        ("person:x", "reply", "ai"): (1, 4.0),
        ("person:x", "reply", "music"): (1, 4.0),
        ("c", "like", "_all"): (2, 2.0),  # unlinked account is its own person
    }


def test_interactions_between_two_accounts_of_one_person_are_not_influence(spark, algo):
    events = ev(spark, [("a", "b", "share", [])])
    accounts = spark.createDataFrame([("a", "person:x"), ("b", "person:x")], "account_id string, person_id string")
    assert interactions(with_persons(events, accounts), algo).count() == 0


def test_posts_count_creations_only(spark):
    events = ev(spark, [("b", None, "post", []), ("b", None, "post", []), ("b", "a", "reply", [])])
    accounts = spark.createDataFrame([], "account_id string, person_id string")
    assert [(r.person_id, r.posts) for r in posts(with_persons(events, accounts)).collect()] == [("b", 2)]


def test_links_resolve_accounts_to_persons(spark):
    raw = spark.createDataFrame(
        [('{"person_id":"p1","accounts":[{"network":"twitter","id":"1"},{"network":"nope","id":"2"}]}', "f")],
        "raw_payload string, source_file string",
    )
    links = parse_links(raw, ["twitter"])
    assert sorted((r.account_id, r.reason) for r in links.collect()) == [("nope:2", "unknown_network"), ("twitter:1", None)]
    seen = accounts_seen(ev(spark, [("twitter:1", "twitter:3", "like", [])]))
    resolved = {r.account_id: r.person_id for r in resolve_persons(seen, links.where("reason is null")).collect()}
    assert resolved == {"twitter:1": "person:p1", "twitter:3": "twitter:3"}


DAILY = (
    "event_date date, network string, actor_person string, target_person string, action string, topic string, actions long, effort double, "
    "algorithm_version string"
)


def test_window_reactions_decay_by_half_life_and_discount_bots(spark, algo):
    old = D - dt.timedelta(days=21)
    daily = spark.createDataFrame(
        [
            (D, "twitter", "a", "b", "reply", "_all", 1, 4.0, "v1"),
            (old, "twitter", "a", "b", "reply", "_all", 1, 4.0, "v1"),
            (D - dt.timedelta(days=90), "twitter", "a", "b", "reply", "_all", 1, 4.0, "v1"),  # outside the 90-day window
            (D, "twitter", "bot", "b", "like", "_all", 5, 5.0, "v1"),
            (D, "twitter", "maybe", "b", "like", "_all", 1, 1.0, "v1"),
            (D, "stackexchange", "stackexchange:anonymous", "b", "vote_up", "_all", 3, 6.0, "v1"),
        ],
        DAILY,
    )
    risk = spark.createDataFrame([("bot", 0.3, True), ("maybe", 0.25, False)], "person_id string, bot_probability double, is_risky boolean")
    rows = {r.actor_person: r for r in window_reactions(window_state.pairs_of(daily, algo, D), risk, D, algo, ["stackexchange:anonymous"]).collect()}
    assert rows["a"].effort == pytest.approx(4.0 + 2.0) and rows["a"].recency == 1.0
    assert rows["bot"].effort == 0.0 and rows["bot"].effort_raw == 5.0  # risky: its reactions weigh nothing
    assert rows["maybe"].effort == pytest.approx(0.75)  # 1 - probability
    assert rows["stackexchange:anonymous"].anonymous and rows["stackexchange:anonymous"].reactions == 3.0


def test_action_weights_are_checked_against_the_vocabulary(tmp_path):
    from clout.config import ConfigError

    with pytest.raises(ConfigError, match=r"unknown action.*replly"):
        edited_v1(tmp_path, "  reply: 4.0", "  replly: 4.0")
    with pytest.raises(ConfigError, match=r"no weight for action.*reply"):
        edited_v1(tmp_path, "  reply: 4.0\n", "")
    with pytest.raises(ConfigError, match=r"unknown network.*stackexchnge"):
        edited_v1(tmp_path, "  stackexchange:\n    vote_up: 2.0", "  stackexchnge:\n    vote_up: 2.0")
    assert edited_v1(tmp_path, "version: v1", "version: v1").weights_for("stackexchange")["vote_up"] == 2.0


def test_action_weights_differ_per_network(spark, algo):
    events = spark.createDataFrame(
        [(D, "stackexchange", "stackexchange:1", "stackexchange:2", "vote_up", []), (D, "twitter", "twitter:1", "twitter:2", "vote_up", [])],
        "event_date date, network string, actor_account string, target_account string, action string, topics array<string>",
    )
    accounts = spark.createDataFrame([], "account_id string, person_id string")
    effort = {r.network: r.effort for r in interactions(with_persons(events, accounts), algo).collect()}
    assert effort == {"stackexchange": algo.network_action_weights["stackexchange"]["vote_up"], "twitter": algo.action_weights["vote_up"]}


def test_normal_quantile_and_scale(spark):
    df = spark.createDataFrame([(0.5,), (0.95,), (0.99999,), (0.001,)], "p double")
    z = [r.z for r in df.select(normal_quantile(F.col("p")).alias("z")).collect()]
    assert z == pytest.approx([0.0, 1.6449, 4.2649, -3.0902], abs=1e-3)
    scaled = [r.s for r in df.select(to_scale(F.col("p"), 40.0, 63.0, 1, 100).alias("s")).collect()]
    assert scaled == [40, 63, 100, 1]


def test_calibration_hits_mean_and_p95_on_a_continuous_population(spark):
    pop = spark.range(20000).select((F.pow(F.col("id") * 0.001 + 1, 3)).alias("raw"))
    scored = percentile(pop, "raw").withColumn("score", to_scale(F.col("p"), 40.0, 63.0, 1, 100))
    stats = scored.agg(F.mean("score").alias("m"), F.percentile_approx("score", 0.95).alias("p95"), F.max("score").alias("top")).first()
    assert abs(stats.m - 40) < 1 and abs(stats.p95 - 63) <= 1 and stats.top >= 95


def test_percentile_ties_share_the_middle_and_the_plan_stays_small(spark):
    pop = spark.range(1000).select(F.when(F.col("id") < 500, F.lit(0.0)).otherwise(F.col("id").cast("double")).alias("raw"))
    ranked = percentile(pop, "raw")
    tied = {r.p for r in ranked.where("raw = 0").select("p").distinct().collect()}
    assert len(tied) == 1 and tied.pop() == pytest.approx(0.25, abs=0.01)
    assert ranked.agg(F.max("p")).first()[0] > 0.99
    # the knots live in a joined table, not in a CASE WHEN per knot (which outgrew the 64 KB codegen limit)
    assert ranked._jdf.queryExecution().optimizedPlan().toString().count("CASE WHEN") <= 2


def test_score_prefers_engaged_expert_over_passive_celebrity(spark, algo):
    # the celebrity has 300 followers (follow carries no effort: not in daily_interactions) and two likes;
    # the expert gets replies from 20 distinct people
    rows = [(D, "twitter", f"fan{i}", "expert", "reply", "_all", 1, 4.0, "v1") for i in range(20)]
    rows += [(D, "twitter", f"fan{i}", "celebrity", "like", "_all", 1, 1.0, "v1") for i in range(2)]
    rows += [(D, "twitter", "expert", f"fan{i}", "like", "_all", 1, 1.0, "v1") for i in range(3)]
    daily = spark.createDataFrame(rows, DAILY)
    posted = spark.createDataFrame(
        [(D, "twitter", "celebrity", 10), (D, "twitter", "expert", 2)], "event_date date, network string, person_id string, posts long"
    )
    authority = spark.createDataFrame([], "person_id string, network string, authority double")
    risk = spark.createDataFrame([], "person_id string, bot_probability double, is_risky boolean")
    reactions = window_reactions(window_state.pairs_of(daily, algo, D), risk, D, algo, [])
    window_posts = window_state.of_rows(window_state.POSTS, posted, algo, D)
    scores = {r.person_id: r.score for r in combine(parts(reactions, window_posts, authority, risk, algo), algo).collect()}
    assert scores["expert"] > scores["celebrity"]
    assert all(1 <= s <= 100 for s in scores.values())


def test_anonymous_voters_count_as_people_reached_but_are_never_scored(spark, algo):
    rows = [(D, "stackexchange", "stackexchange:anonymous", "stackexchange:7", "vote_up", "_all", 5, 10.0, "v1")]
    rows += [(D, "stackexchange", "stackexchange:8", "stackexchange:7", "comment", "_all", 1, 4.0, "v1")]
    daily = spark.createDataFrame(rows, DAILY)
    posted = spark.createDataFrame([], "event_date date, network string, person_id string, posts long")
    authority = spark.createDataFrame([], "person_id string, network string, authority double")
    risk = spark.createDataFrame([], "person_id string, bot_probability double, is_risky boolean")
    reactions = window_reactions(window_state.pairs_of(daily, algo, D), risk, D, algo, ["stackexchange:anonymous"])
    scored = {r.person_id: r for r in parts(reactions, window_state.of_rows(window_state.POSTS, posted, algo, D), authority, risk, algo).collect()}
    assert set(scored) == {"stackexchange:7"}  # the commenter received nothing; the placeholder is nobody
    assert scored["stackexchange:7"].reach == pytest.approx(5 + 1)  # five unnamed voters and one commenter
