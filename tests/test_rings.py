"""Coordinated rings (clout.graph.rings) on a small constructed population, with real Spark, Delta and GraphFrames.

The population (seeded, built here so every figure can be reasoned about):
- 400 honest persons: each reacts to 8 persons a day on 4 days, targets drawn by a planted influence (index 0 most
  influential), so the top persons also react to each other (a dense, reciprocal, but not insular celebrity club);
- a ring: 30 of them (indexes 150..179, mid-table) like and share every other member, on two networks, every day;
- an honest tight-knit community: 20 others (indexes 200..219) who like each other most days, and also react to
  many outsiders and are commented on by many outsiders.

Three stores are scored with ``score_snapshot`` (the pipeline's score step: rings, authority, staged scores):
the honest population alone; the population with the ring, ring detection off; and the same with it on.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from pyspark.sql import functions as F

from clout import window_state
from clout.config import ConfigError, load_algorithm, load_settings
from clout.explain import stage as explain_stage
from clout.graph import rings
from clout.pipeline import score_snapshot
from clout.score.reactions import snapshot_risk, window_reactions
from clout.tables import DAILY_INTERACTIONS, POSTS_DAILY, RINGS, SCORE_EXPLANATIONS, SCORES_STAGING, TableStore
from conftest import edited_v1, settings_for

DAY = dt.date(2026, 11, 20)
DAYS = [DAY - dt.timedelta(days=k) for k in range(4)]
WEIGHTS = {"like": 1.0, "share": 3.0, "comment": 4.0}
N = 400
RING = [f"person:{i}" for i in range(150, 180)]
COMMUNITY = [f"person:{i}" for i in range(200, 220)]


def _honest(rng: random.Random) -> list[tuple]:
    """(date, network, actor, target, action) of the honest population and the honest community."""
    influence = [(i + 1) ** -1.0 for i in range(N)]
    rows = []
    for day in DAYS:
        for actor in range(N):
            for target in rng.choices(range(N), weights=influence, k=8):
                if target != actor:
                    rows.append((day, rng.choice(["twitter", "instagram"]), f"person:{actor}", f"person:{target}", rng.choice(["like", "like", "comment"])))
        for friend in COMMUNITY:
            # friends like each other most days ...
            rows += [(day, "instagram", friend, other, "like") for other in COMMUNITY if other != friend and rng.random() < 0.6]
            # ... and also react widely (insularity about 0.5) ...
            rows += [(day, "twitter", friend, f"person:{rng.randrange(N)}", "like") for _ in range(12)]
            # ... and are commented on by outsiders, who value what they post (inbound share about 0.25)
            rows += [(day, "twitter", f"person:{rng.randrange(300, N)}", friend, "comment") for _ in range(8)]
    return rows


def _ring() -> list[tuple]:
    """Every member likes (instagram) and shares (twitter) every other member, every day."""
    return [
        (day, network, actor, target, action)
        for day in DAYS
        for actor in RING
        for target in RING
        if actor != target
        for network, action in (("instagram", "like"), ("twitter", "share"))
    ]


def _write_lake(spark, settings, events: list[tuple], rng: random.Random) -> None:
    store = TableStore(spark, settings)
    counted = Counter(e for e in events if e[2] != e[3])
    daily = [(d, net, a, t, act, "_all", n, n * WEIGHTS[act], "v1") for (d, net, a, t, act), n in counted.items()]
    store.append(DAILY_INTERACTIONS, spark.createDataFrame(daily, DAILY_INTERACTIONS.schema))
    posts = [(d, net, f"person:{i}", rng.randint(1, 3)) for d in DAYS for i in range(N) for net in ("twitter", "instagram")]
    store.append(POSTS_DAILY, spark.createDataFrame(posts, POSTS_DAILY.schema))


def _staged(spark, settings) -> dict[str, object]:
    rows = TableStore(spark, settings).read(SCORES_STAGING).where(F.col("snapshot_date") == F.lit(DAY))
    return {r.person_id: r for r in rows.select("person_id", "score", "reach", "amplification", "authority").collect()}  # 400 rows


@pytest.fixture(scope="module")
def algo():
    return load_algorithm(load_settings("local"))


@pytest.fixture(scope="module")
def honest_lake(spark, test_root, algo):
    settings = settings_for(test_root, "rings-honest")
    _write_lake(spark, settings, _honest(random.Random(13)), random.Random(14))
    metrics = score_snapshot(spark, settings, algo, DAY, bots=False)
    return settings, metrics, _staged(spark, settings)


@pytest.fixture(scope="module")
def ringed_lake(spark, test_root, algo):
    """The honest population plus the ring, scored first without ring detection, then with it (the run kept)."""
    settings = settings_for(test_root, "rings-planted")
    _write_lake(spark, settings, _honest(random.Random(13)) + _ring(), random.Random(14))
    blind = algo.model_copy(update={"rings": algo.rings.model_copy(update={"enabled": False})})
    blind_metrics = score_snapshot(spark, settings, blind, DAY, bots=False)
    undetected = _staged(spark, settings)
    metrics = score_snapshot(spark, settings, algo, DAY, bots=False)
    return settings, blind_metrics, undetected, metrics, _staged(spark, settings)


@pytest.fixture(scope="module")
def ring_rows(spark, ringed_lake):
    settings = ringed_lake[0]
    return {r.person_id: r for r in rings.snapshot_rings(TableStore(spark, settings), DAY, "v1").collect()}  # ring members only


def test_the_planted_ring_is_found_with_its_evidence(ringed_lake, ring_rows):
    _, blind_metrics, _, metrics, _ = ringed_lake
    assert blind_metrics["rings_found"] == 0 and blind_metrics["ring_members"] == 0  # detection off: nothing written
    assert metrics["rings_found"] == 1 and metrics["ring_members"] == 30 and metrics["ring_largest_size"] == 30
    assert set(ring_rows) == set(RING)
    evidence = {(r.ring_id, r.ring_size, r.reciprocal_ties, r.density) for r in ring_rows.values()}
    assert evidence == {("ring-1", 30, 435, 1.0)}  # every one of the 30 * 29 / 2 pairs is a reciprocal tie
    any_member = ring_rows[RING[0]]
    assert any_member.insularity > 0.85 and any_member.inbound_share > 0.9  # members also react to honest persons
    assert any_member.internal_effort == pytest.approx(metrics["ring_internal_effort"])
    assert all(r.member_ties == 29 and r.member_insularity > 0.85 for r in ring_rows.values())
    print(
        f"\nring: size {any_member.ring_size}, density {any_member.density:.2f}, insularity {any_member.insularity:.3f}, "
        f"inbound share {any_member.inbound_share:.3f}, internal effort {any_member.internal_effort:.0f}"
    )


def test_honest_tight_knit_community_and_celebrities_are_not_rings(spark, ringed_lake, ring_rows, algo):
    """No honest person is in a ring; and the community, even taken whole as a candidate, is dense but open both ways."""
    assert not set(ring_rows) & set(COMMUNITY)
    assert not any(int(p.split(":")[1]) < 20 for p in ring_rows)  # the top persons react to each other, and to everyone
    store = TableStore(spark, ringed_lake[0])
    reactions = window_reactions(window_state.pairs(store, algo, DAY), snapshot_risk(store, DAY, bots=False), DAY, algo, [])
    pairs = rings.pair_effort(reactions)
    ties = rings.reciprocal_ties(pairs, algo.rings)
    as_one_group = spark.createDataFrame([(p, "community") for p in COMMUNITY], "person_id string, group string")
    community = rings.evidence(as_one_group, pairs, ties).select("ring_size", "density", "insularity", "inbound_share").distinct().collect()
    assert len(community) == 1
    group = community[0]
    assert group.ring_size == 20 and group.density >= algo.rings.min_density  # dense enough to look like a ring ...
    assert group.insularity < algo.rings.min_insularity and group.inbound_share < algo.rings.min_inbound_share  # ... but open both ways
    print(
        f"\nhonest community as one group: size {group.ring_size}, density {group.density:.2f}, "
        f"insularity {group.insularity:.3f}, inbound share {group.inbound_share:.3f}"
    )


def test_ring_members_reach_and_authority_drop(ringed_lake):
    _, _, undetected, _, detected = ringed_lake
    for member in RING:
        before, after = undetected[member], detected[member]
        assert after.reach < before.reach - 25  # 29 fellow members counted as reach without the discount
        assert after.authority < before.authority
        assert after.amplification < before.amplification
    outsiders = [p for p in detected if p not in RING and p not in COMMUNITY]
    # nothing else is discounted: an outsider's reach is exactly what it was
    assert all(detected[p].reach == pytest.approx(undetected[p].reach) for p in outsiders if p in undetected)


def test_a_ring_gains_at_most_5_points_each(honest_lake, ringed_lake):
    """The issue's scenario: the ring's activity lifts no member by more than 5 points over its honest score."""
    _, _, honest = honest_lake
    _, _, undetected, _, detected = ringed_lake
    undetected_gain = sorted(undetected[m].score - honest[m].score for m in RING)
    gain = sorted(detected[m].score - honest[m].score for m in RING)
    print(f"\nring members' score gain over their honest score: without detection {undetected_gain}; with it {gain}")
    assert undetected_gain[0] > 5  # when nobody looks, the ring lifts every member by more: the test would catch a broken discount
    assert max(gain) <= 5


def test_explanation_names_the_ring_discount(spark, ringed_lake, algo):
    settings = ringed_lake[0]
    explain_stage.compute(spark, settings, algo, DAY, bots=False)
    rows = TableStore(spark, settings).read(SCORE_EXPLANATIONS).where(F.col("person_id").isin(RING[0], "person:0"))
    by_person = {r.person_id: r for r in rows.select("person_id", "summary", "bot_discount").collect()}
    assert "ring −" in by_person[RING[0]].summary and by_person[RING[0]].bot_discount == pytest.approx(0.0, abs=1e-9)
    assert "ring" not in by_person["person:0"].summary


def test_rings_conf_is_strict(tmp_path):
    with pytest.raises(ConfigError, match=r"rings.min_densty: unknown key"):
        edited_v1(tmp_path, "  min_density: 0.5", "  min_densty: 0.5")
    with pytest.raises(ConfigError, match=r"min_size \(600\) is above rings.max_size"):
        edited_v1(tmp_path, "  min_size: 5", "  min_size: 600")
    with pytest.raises(ConfigError, match=r"rings.reaction_weight"):
        edited_v1(tmp_path, "  reaction_weight: 0.0", "  reaction_weight: 1.5")


def test_rings_table_is_declared(algo):
    assert RINGS.columns[:4] == ["snapshot_date", "algorithm_version", "ring_id", "person_id"]
    assert algo.rings.enabled and 0.0 <= algo.rings.reaction_weight <= 0.1
