"""Scores over time (clout.score.bound): 20 daily snapshots through the real path from authority on (rings, GraphFrames
authority, score, bound, the scores suite, publish), on daily aggregates and risk written by hand for a few dozen
persons, so a planted person can go silent, a newcomer arrive, a riser jump and an account turn risky on chosen days.

Ingest and bots are left out on purpose: their daily cost does not depend on what is tested here, and the days'
interactions are what each planted story needs, exactly. The algorithm is v1 with a short window (8 days, half-life 4)
so the silent person's last reaction leaves the window inside the 20 days, fewer PageRank iterations, and no ring
search (nothing here is a ring).
"""

import datetime as dt
import itertools

import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F

from clout.config import load_algorithm
from clout.pipeline import publish_snapshot, score_snapshot, staged_scores
from clout.quality.suites import validate
from clout.tables import ACCOUNT_RISK, ACCOUNTS, DAILY_INTERACTIONS, POSTS_DAILY, SCORES, TOPIC_SCORES_STAGING, TableStore
from conftest import settings_for, v1_edited_into

START = dt.date(2026, 9, 1)
DAYS = [START + dt.timedelta(days=k) for k in range(20)]
AFTER_GAP = DAYS[-1] + dt.timedelta(days=2)  # the day after DAYS[-1] is never computed
SILENT_FROM, RISKY_FROM, ARRIVES, RISES_FROM = DAYS[5], DAYS[8], DAYS[10], DAYS[12]
REGULARS = [f"person:r{i:02d}" for i in range(30)]
STAR, BOT, LATE, RISER = "person:star", "twitter:bot", "person:late", "person:riser"
GATED = (RISKY_FROM, DAYS[15], AFTER_GAP)  # the bot's drop to the floor; the star carried forward (and bounded riser); the gap
MOVE = 5  # score.max_daily_move of v1
FLOOR = 1


def interactions(day: dt.date) -> list[tuple]:
    """(actor, target, action, actions, effort per action) of one day: the same every day for the regulars, so their
    scores hold still and the planted persons' stories show."""
    rows = []
    for i, target in enumerate(REGULARS):  # regular i is liked by the next 1 + i % 8 regulars: a spread of scores
        rows += [(REGULARS[(i + k) % len(REGULARS)], target, "like", 1, 1.0) for k in range(1, 2 + i % 8)]
    if day < SILENT_FROM:  # the star: 10 people comment every day (a little above the best regular); it answers some; then silence
        rows += [(r, STAR, "comment", 1, 4.0) for r in REGULARS[:10]]
        rows += [(STAR, r, "reply", 1, 4.0) for r in REGULARS[:5]]
    rows += [(r, BOT, "comment", 1, 4.0) for r in REGULARS[10:22]]  # a well-liked account ... that turns risky
    rows += [(BOT, r, "like", 3, 1.0) for r in REGULARS[:10]]
    if day >= ARRIVES:  # a newcomer with a large audience from the first day
        rows += [(r, LATE, "comment", 2, 4.0) for r in REGULARS[5:25]]
    audience = REGULARS[:25] if day >= RISES_FROM else REGULARS[:1]  # a quiet person whose post takes off
    rows += [(r, RISER, "comment" if day >= RISES_FROM else "like", 1, 4.0 if day >= RISES_FROM else 1.0) for r in audience]
    return rows


def posters(day: dt.date) -> list[str]:
    return REGULARS + [BOT, RISER] + ([STAR] if day < SILENT_FROM else []) + ([LATE] if day >= ARRIVES else [])


@pytest.fixture(scope="module")
def over_time(spark, test_root):
    algorithms = v1_edited_into(
        test_root / "over-time-algorithms",
        {"  days: 90": "  days: 8", "half_life_days: 21": "half_life_days: 4", "max_iter: 30": "max_iter: 4", "  enabled: true": "  enabled: false"},
    )
    settings = settings_for(test_root, "over-time", [f"algorithm.dir={algorithms}", "storage.database=clout_over_time"])
    algorithm = load_algorithm(settings)
    assert algorithm.score.max_daily_move == MOVE and algorithm.calibration.floor == FLOOR
    store = TableStore(spark, settings)
    # the topics stage is not run here (only '_all' rows, nothing to score per topic): publish copies its empty staging
    store.ensure(TOPIC_SCORES_STAGING)
    every_day = [*DAYS, AFTER_GAP]
    daily = [(d, "twitter", a, t, action, "_all", n, n * effort, "v1") for d in every_day for a, t, action, n, effort in interactions(d)]
    store.append(DAILY_INTERACTIONS, spark.createDataFrame(daily, DAILY_INTERACTIONS.schema))
    store.append(POSTS_DAILY, spark.createDataFrame([(d, "twitter", p, 1) for d in every_day for p in posters(d)], POSTS_DAILY.schema))
    store.append(ACCOUNTS, spark.createDataFrame([(BOT, "twitter", BOT, START, AFTER_GAP)], ACCOUNTS.schema))
    risk = [
        (d, "twitter", BOT, 0.95 if d >= RISKY_FROM else 0.05, d >= RISKY_FROM, ["classifier:0.95"] if d >= RISKY_FROM else [], "test/1", None, None, None)
        for d in every_day
    ]
    store.append(ACCOUNT_RISK, spark.createDataFrame(risk, ACCOUNT_RISK.schema))
    metrics = {}
    for day in [*DAYS, AFTER_GAP]:
        metrics[day] = score_snapshot(spark, settings, algorithm, day)
        if day in GATED:  # the scores suite accepts a suppressed drop, carried rows, a gap; a few seconds each, so not every day
            gate = validate(staged_scores(spark, settings, "v1", day), "scores", list(settings.networks), max_daily_move=MOVE)
            assert gate.success, gate.describe()
        publish_snapshot(spark, settings, algorithm, day)
    return store, metrics


def series(store: TableStore, person: str) -> dict[dt.date, object]:
    return {r.snapshot_date: r for r in store.read(SCORES).where(F.col("person_id") == F.lit(person)).collect()}  # one row a day


def test_a_silent_person_drifts_down_steadily_to_the_floor(over_time):
    store, _ = over_time
    star = series(store, STAR)
    before = [star[d].score for d in DAYS if d < SILENT_FROM]
    assert min(before) >= 60, before  # a top person while active
    quiet = [d for d in DAYS if d >= SILENT_FROM]
    scores = [star[DAYS[4]].score] + [star[d].score if d in star else None for d in quiet]
    drops = [a - b for a, b in itertools.pairwise(scores) if a is not None and b is not None]
    assert all(0 <= drop <= MOVE for drop in drops), scores  # never up, never more than the bound: no cliff
    assert scores[0] - min(s for s in scores if s is not None) >= 30, scores  # and it does go down, a long way
    gone = [i for i, s in enumerate(scores) if s is None]
    assert all(scores[i - 1] in (FLOOR, None) for i in gone), scores  # gone only from the floor
    # the bound held the fall back while the star was still in the window, and carried it once its last reaction left
    assert any(star[d].calibrated_score is not None and star[d].calibrated_score < star[d].score for d in quiet if d in star), scores
    carried = [d for d in quiet if d in star and star[d].carried_forward]
    assert carried and carried == [d for d in quiet if d >= carried[0] and d in star], carried  # carried from its first day on
    assert DAYS[15] in carried  # so the scores suite (GATED) saw a carried row
    assert all(star[d].calibrated_score is None and star[d].p_reach == 0.0 and not star[d].suppressed for d in carried)


def test_deltas_are_the_differences_of_the_published_scores(over_time):
    store, _ = over_time
    scores = store.read(SCORES).where(F.col("algorithm_version") == "v1")
    expected = scores.select("person_id", "snapshot_date", "score")
    checked = scores
    for n in (1, 7, 30):
        then = expected.select("person_id", F.date_add("snapshot_date", n).alias("snapshot_date"), F.col("score").alias(f"then_{n}"))
        checked = checked.join(then, on=["person_id", "snapshot_date"], how="left")
    wrong = [~F.col(f"delta_{n}d").eqNullSafe(F.col("score") - F.col(f"then_{n}")) for n in (1, 7, 30)]
    assert checked.where(wrong[0] | wrong[1] | wrong[2]).count() == 0
    counts = scores.agg(*[F.count(f"delta_{n}d").alias(f"d{n}") for n in (1, 7, 30)], F.count(F.lit(1)).alias("rows")).first()
    assert counts.d1 > 0.8 * counts.rows and counts.d7 > 0.5 * counts.rows and counts.d30 == 0  # 21 days: no score 30 days back


def test_a_newcomer_is_placed_directly_then_bounded(over_time):
    store, _ = over_time
    late = series(store, LATE)
    assert min(late) == ARRIVES
    first = late[ARRIVES]
    assert first.score == first.calibrated_score > 50 and first.delta_1d is None  # exempt: nothing to move from
    after = [late[d] for d in DAYS if d > ARRIVES]
    assert all(abs(r.delta_1d) <= MOVE for r in after)


def test_a_risky_person_goes_straight_to_the_floor(over_time):
    store, metrics = over_time
    bot = series(store, BOT)
    before, flagged = bot[RISKY_FROM - dt.timedelta(days=1)], bot[RISKY_FROM]
    assert not before.suppressed and before.score - FLOOR > 3 * MOVE
    assert flagged.suppressed and flagged.score == FLOOR and flagged.delta_1d == FLOOR - before.score  # the bound protects no bot
    assert metrics[RISKY_FROM]["persons_suppressed"] == 1


def test_every_move_is_bounded_and_the_counts_reconcile(over_time):
    store, metrics = over_time
    scores = store.read(SCORES).where(F.col("snapshot_date").isin(*DAYS))
    assert scores.where(~F.col("suppressed") & (F.abs("delta_1d") > MOVE)).count() == 0
    riser = series(store, RISER)
    rises = [riser[d].delta_1d for d in DAYS if d >= RISES_FROM]
    assert rises[:3] == [MOVE] * 3 and riser[RISES_FROM].calibrated_score - riser[RISES_FROM].score > MOVE, rises  # held back going up too
    # nobody above the floor on D-1 vanishes on D: everyone is scored again or carried forward
    by_day = Window.partitionBy("person_id").orderBy("snapshot_date")
    nxt = scores.select("person_id", "snapshot_date", "score", F.lead("snapshot_date").over(by_day).alias("next_date"))
    vanished = nxt.where((F.col("score") > FLOOR) & (F.col("snapshot_date") < F.lit(DAYS[-1])))
    assert vanished.where(F.col("next_date").isNull() | (F.col("next_date") != F.date_add("snapshot_date", 1))).count() == 0
    per_day = scores.groupBy("snapshot_date").agg(F.count(F.lit(1)).alias("n"), F.sum(F.col("carried_forward").cast("int")).alias("c"))
    rows = {r.snapshot_date: r for r in per_day.collect()}
    for day in DAYS:
        assert rows[day].n == metrics[day]["persons_scored"] + metrics[day]["persons_carried"] and rows[day].c == metrics[day]["persons_carried"]


def test_a_missing_day_widens_the_bound_by_the_days_missed(over_time):
    store, _ = over_time
    last = {r.person_id: r for r in store.read(SCORES).where(F.col("snapshot_date") == F.lit(DAYS[-1])).collect()}
    gap = {r.person_id: r for r in store.read(SCORES).where(F.col("snapshot_date") == F.lit(AFTER_GAP)).collect()}
    assert all(r.delta_1d is None for r in gap.values())  # no snapshot the day before
    moved = {p: gap[p].score - last[p].score for p in gap.keys() & last.keys() if not gap[p].suppressed}
    assert moved and max(abs(m) for m in moved.values()) <= 2 * MOVE
    if STAR in last and last[STAR].score > FLOOR:
        assert gap[STAR].score == max(FLOOR, last[STAR].score - 2 * MOVE) and gap[STAR].carried_forward


def test_the_explanation_names_the_bound_and_the_carry(spark):
    from clout.explain.stage import bound_piece

    rows = [(1, 40, 47, False, False), (2, 40, 40, False, False), (3, 35, None, True, False), (4, 1, 70, False, True), (5, 40, None, None, False)]
    staged = spark.createDataFrame(rows, "k int, score int, calibrated_score int, carried_forward boolean, suppressed boolean")
    pieces = dict(staged.select("k", bound_piece().alias("piece")).collect())
    assert pieces == {1: "bounded: calibrated 47", 2: None, 3: "carried: no reaction in the window any more, drifting down to the floor", 4: None, 5: None}


def test_a_scores_table_from_before_the_bound_gains_its_columns(spark, test_root):
    """The migration path of an existing lakehouse (README: Scores over time): the columns are added once, old rows
    read null in them, and a second call changes nothing."""
    import dataclasses

    from pyspark.sql import types as T

    new = ["calibrated_score", "carried_forward", "delta_1d", "delta_7d", "delta_30d"]
    old_spec = dataclasses.replace(SCORES, schema=T.StructType([f for f in SCORES.schema.fields if f.name not in new]))
    store = TableStore(spark, settings_for(test_root, "over-time-migration"))
    old_row = {f.name: None for f in old_spec.schema.fields} | {"snapshot_date": START, "algorithm_version": "v1", "person_id": "person:old", "score": 40}
    old_row |= dict.fromkeys(("raw_score", "reach", "amplification", "authority", "p_reach", "p_amplification", "p_authority", "bot_probability"), 0.0)
    old_row |= {"networks": [], "network_parts": [], "suppressed": False, "code_version": "old"}
    store.append(old_spec, spark.createDataFrame([old_row], old_spec.schema))
    before = store.version(SCORES)
    assert store.add_missing_columns(SCORES) == new
    assert store.version(SCORES) == before + 1 and store.read(SCORES).columns == SCORES.columns
    assert [tuple(r) for r in store.read(SCORES).select("person_id", "score", *new).collect()] == [("person:old", 40, None, None, None, None, None)]
    assert store.add_missing_columns(SCORES) == [] and store.version(SCORES) == before + 1
