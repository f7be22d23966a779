"""Gaming must not pay: the attack scenarios of clout.synth.attacks, run through the daily job over generated days.

Every scenario is planted into every day of one generated population (honest people around them: the session's
attacked lakehouse, conftest.attacked_lake), the daily job runs each day (ingest, identity, aggregates, bots, rings,
authority, scores, gates, publish), and the assertions are on the published scores of the last day. An attacker's
gain is measured against its twin: an account that received exactly the same honest reactions and posted the same
posts, but did not attack (see clout.synth.attacks).
"""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from clout.score import stage as score_stage
from clout.tables import ACCOUNT_RISK, ACCOUNTS, RINGS, SCORES, TableStore
from conftest import ATTACK_DAYS

LAST = ATTACK_DAYS[-1]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def attacked(spark, attacked_lake):
    """(settings, planted ids, {person_id: score} of the last day) of the attacked days (conftest.attacked_lake)."""
    settings, planted = attacked_lake
    store = TableStore(spark, settings)
    scores = store.read(SCORES).where(score_stage.snapshot_rows(LAST, "v1")).select("person_id", "score", "suppressed").collect()  # ~700 rows
    return settings, planted, {r.person_id: r for r in scores}


def person(planted, idx: int) -> str:
    return planted.account(idx)  # planted accounts are on one network and nobody links them: each is its own person


def score_of(scores, planted, idx: int) -> int:
    """The published score; a person the snapshot did not score (nothing they did moved anyone) has none: 0 here."""
    row = scores.get(person(planted, idx))
    return row.score if row else 0


def test_the_timer_bot_with_a_follower_farm_ends_below_the_median(spark, attacked):
    settings, planted, scores = attacked
    median = sorted(r.score for r in scores.values())[len(scores) // 2]
    assert score_of(scores, planted, planted.timer_bot) < median
    risk = TableStore(spark, settings).read(ACCOUNT_RISK).where(F.col("risk_date") == F.lit(LAST))
    farm = {person(planted, i) for i in planted.farm}
    flagged = risk.where(F.col("account").isin(*farm) & F.col("is_risky")).count()
    assert flagged >= 0.9 * len(farm), f"only {flagged} of {len(farm)} farm accounts are risky"


def test_replying_to_big_accounts_lifts_the_author_at_most_5_points(attacked):
    _, planted, scores = attacked
    author, twin = score_of(scores, planted, planted.author), score_of(scores, planted, planted.author_twin)
    assert twin > 0, "the twin's honest audience must be enough to score it"
    assert author - twin <= 5, (author, twin)


def test_a_ring_gains_at_most_5_points_each(spark, attacked):
    settings, planted, scores = attacked
    gains = {m: score_of(scores, planted, m) - score_of(scores, planted, t) for m, t in zip(planted.ring, planted.ring_twins, strict=True)}
    assert max(gains.values()) <= 5, gains
    rings = TableStore(spark, settings).read(RINGS).where(F.col("snapshot_date") == F.lit(LAST))
    found = {r.person_id for r in rings.select("person_id").collect()}  # ring members: a few dozen
    assert {person(planted, m) for m in planted.ring} <= found


def test_bought_followers_gain_nothing(attacked):
    _, planted, scores = attacked
    buyer, twin = score_of(scores, planted, planted.buyer), score_of(scores, planted, planted.buyer_twin)
    assert twin > 0
    assert buyer <= twin, (buyer, twin)


def test_an_expert_with_an_engaged_audience_outranks_a_celebrity_with_a_passive_one(spark, attacked):
    settings, planted, scores = attacked
    assert score_of(scores, planted, planted.expert) > score_of(scores, planted, planted.celebrity) > 0
    accounts = TableStore(spark, settings).read(ACCOUNTS)
    assert accounts.where(F.col("account_id") == planted.account(planted.celebrity)).count() == 1
