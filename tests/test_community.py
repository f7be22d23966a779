"""Community-scoped scores (clout.score.community, ``clout community``) on a small hand-written population.

Three days of ``daily_interactions`` (built here, so every figure can be reasoned about), scored by the pipeline's
score step and published, then one community scored:
- r/python's ten regulars comment on each other every day, and all of them comment on ``REGULAR``; they also share
  and are commented on outside (Twitter), as honest people do (so they are no insular ring);
- ``IGNORED``, a celebrity: forty fans like and share them on Twitter and upvote them in r/funny every day, and the
  twenty persons the regulars engage with outside comment on them; in r/python they comment on regulars every day and
  nobody answers;
- ``CROWD_PLEASER``, another celebrity of the same fans, whom fifteen of those fans, wandering into r/python once, like
  there: a bigger crowd inside than some regulars have, of persons nobody in the community reacts to;
- a Facebook group (feed:100) of six members who comment on each other's posts, where ``IGNORED`` comments daily and
  nobody answers, while the forty fans like ``IGNORED``'s posts on a page (feed:200).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from pyspark.sql import functions as F

from clout import cli
from clout.config import load_algorithm
from clout.pipeline import score_snapshot, staged_scores
from clout.score.community import CommunityRequest, score_community
from clout.sqltext import snapshot_condition
from clout.tables import COMMUNITY_SCORES, DAILY_INTERACTIONS, POSTS_DAILY, RINGS, SCORES, TableStore
from conftest import overrides_for, settings_for

DAY = dt.date(2026, 11, 20)
DAYS = [DAY - dt.timedelta(days=k) for k in range(3)]
COMMUNITY = "python"
REGULARS = [f"person:reg{i}" for i in range(10)]
REGULAR = REGULARS[0]
FANS = [f"person:fan{i}" for i in range(40)]
IGNORED, CROWD_PLEASER = "person:celeb_a", "person:celeb_b"
OUTSIDERS = [f"person:out{i}" for i in range(20)]
# a Facebook group (id 100: its posts are '100_<post id>', which the adapter labels feed:100) and a page (id 200)
GROUP_ID, GROUP, PAGE = "100", "feed:100", "feed:200"
GROUP_MEMBERS = [f"person:fb{i}" for i in range(6)]


def _events() -> list[tuple]:
    """(date, network, actor, target, action, topic) of every action; topic None: no label."""
    rows = []
    for k, day in enumerate(DAYS):
        for i, regular in enumerate(REGULARS):
            # inside r/python: comment on the next three regulars, and on REGULAR
            rows += [(day, "reddit", regular, REGULARS[(i + j) % 10], "comment", COMMUNITY) for j in (1, 2, 3)]
            if regular != REGULAR:
                rows.append((day, "reddit", regular, REGULAR, "comment", COMMUNITY))
            # outside: share outsiders' posts and get comments from them
            rows += [(day, "twitter", regular, OUTSIDERS[(i + j + k) % 20], "share", None) for j in range(4)]
            rows += [(day, "twitter", OUTSIDERS[(i + j + k) % 20], regular, "comment", None) for j in range(3)]
        for f, fan in enumerate(FANS):
            rows += [(day, "twitter", fan, celeb, action, "music") for celeb in (IGNORED, CROWD_PLEASER) for action in ("like", "share")]
            rows.append((day, "reddit", fan, IGNORED, "vote_up", "funny"))
            rows.append((day, "twitter", fan, OUTSIDERS[f % 20], "like", None))
        # the persons the regulars and fans engage with answer the celebrities too
        rows += [(day, "twitter", outsider, celeb, "comment", "music") for outsider in OUTSIDERS for celeb in (IGNORED, CROWD_PLEASER)]
        rows += [(day, "reddit", IGNORED, regular, "comment", COMMUNITY) for regular in REGULARS[1:4]]
    rows += [(DAY, "reddit", fan, CROWD_PLEASER, "like", COMMUNITY) for fan in FANS[:15]]
    # the group: its members comment on the next two members' posts and all like GROUP_MEMBERS[0]'s; IGNORED comments on
    # three members' posts every day and nobody there answers, while the fans like IGNORED's posts on a page
    for day in DAYS:
        for i, member in enumerate(GROUP_MEMBERS):
            rows += [(day, "facebook", member, GROUP_MEMBERS[(i + j) % 6], "comment", GROUP) for j in (1, 2)]
            if i:
                rows.append((day, "facebook", member, GROUP_MEMBERS[0], "like", GROUP))
            # outside the group, as honest people do: share friends' posts and get comments from them
            rows += [(day, "facebook", member, f"person:fbfriend{(i + j) % 8}", "share", None) for j in range(3)]
            rows += [(day, "facebook", f"person:fbfriend{(i + j + 4) % 8}", member, "comment", None) for j in range(2)]
        rows += [(day, "facebook", IGNORED, member, "comment", GROUP) for member in GROUP_MEMBERS[1:4]]
        rows += [(day, "facebook", fan, IGNORED, "like", PAGE) for fan in FANS]
    return rows


def _write_lake(spark, settings, algorithm) -> None:
    """``daily_interactions`` as the aggregate stage writes them (each action under '_all' and its label), and posts."""
    counted = Counter(_events())
    per_label: Counter = Counter()
    for (day, network, actor, target, action, topic), n in counted.items():
        per_label[(day, network, actor, target, action, "_all")] += n
        if topic is not None:
            per_label[(day, network, actor, target, action, topic)] += n
    weight = algorithm.action_weights
    daily = [(*key, n, n * weight[key[4]], algorithm.version) for key, n in per_label.items()]
    store = TableStore(spark, settings)
    store.append(DAILY_INTERACTIONS, spark.createDataFrame(daily, DAILY_INTERACTIONS.schema))
    persons = sorted({p for e in counted for p in e[2:4]})
    store.append(POSTS_DAILY, spark.createDataFrame([(d, "twitter", p, 2) for d in DAYS for p in persons], POSTS_DAILY.schema))


@pytest.fixture(scope="module")
def community(spark, test_root):
    """(settings, {person: community row}, {person: global score}) of the published snapshot and r/python's scores."""
    settings = settings_for(test_root, "community")
    algorithm = load_algorithm(settings, "v1")
    _write_lake(spark, settings, algorithm)
    score_snapshot(spark, settings, algorithm, DAY, bots=False)
    store = TableStore(spark, settings)
    # published as the publish step does (the gate and the topic stage are not what this test is about)
    store.replace_partitions(SCORES, staged_scores(spark, settings, "v1", DAY), snapshot_condition(DAY, "v1"))
    result = score_community(store, algorithm, CommunityRequest("reddit", "r/Python", DAY, limit=3), anonymous=[])
    rows = {r.person_id: r for r in store.read(COMMUNITY_SCORES).collect()}
    global_scores = {r.person_id: r.score for r in store.read(SCORES).select("person_id", "score").collect()}
    return settings, result, rows, global_scores


def test_a_member_prolific_elsewhere_but_ignored_inside_scores_low_and_a_regular_high(spark, community):
    settings, _, rows, global_scores = community
    floor = load_algorithm(settings, "v1").calibration.floor
    assert not TableStore(spark, settings).read(RINGS).where(F.col("person_id").isin(*REGULARS)).count()  # honest: no ring discount
    # the celebrity outranks the regular on the global score, and is a member here (they comment), ignored
    assert global_scores[IGNORED] > global_scores[REGULAR], (global_scores[IGNORED], global_scores[REGULAR])
    ignored, regular = rows[IGNORED], rows[REGULAR]
    assert ignored.reactors == 0 and ignored.raw_score == 0 and ignored.score == floor
    assert regular.reactors == 9 and regular.score == max(r.score for r in rows.values()) and regular.score > 63
    # fifteen fans inside are more reactors than any regular but REGULAR has; they weigh little: nobody here reacts to them
    pleaser = rows[CROWD_PLEASER]
    assert pleaser.reactors == 15 and all(rows[r].reactors < 15 for r in REGULARS)
    assert pleaser.score < min(rows[r].score for r in REGULARS), (pleaser, sorted(rows[r].score for r in REGULARS))
    assert rows[FANS[0]].authority < min(rows[r].authority for r in REGULARS)


def test_members_and_rows(community):
    _, result, rows, _ = community
    expected = {*REGULARS, *FANS[:15], IGNORED, CROWD_PLEASER}
    assert set(rows) == expected  # who acted or was acted on inside r/python; fans who never came in are not members
    assert {(r.network, r.community, r.members, r.engaged_members) for r in rows.values()} == {("reddit", COMMUNITY, len(expected), 11)}
    assert all(1 <= r.score <= 100 for r in rows.values())
    # the command's answer: the best three, best first, with their global score beside
    assert result.members == len(expected) and result.engaged_members == 11 and len(result.rows) == 3
    assert result.rows[0].person_id == REGULAR and result.rows[0].global_score is not None
    assert [r.score for r in result.rows] == sorted((r.score for r in rows.values()), reverse=True)[:3]


def test_bad_requests_exit_2_with_a_reason(spark, community, test_root, capsys):
    settings, _, rows, _ = community
    before = TableStore(spark, settings).read(COMMUNITY_SCORES).where(F.col("community") == COMMUNITY).count()
    run = lambda *args: cli.main(["community", *args, *(x for o in overrides_for(test_root, "community") for x in ("--set", o))])  # noqa: E731
    cases = {
        "network": (("--network", "myspace", "--community", COMMUNITY, "--date", str(DAY)), "not a configured network"),
        "community": (("--network", "reddit", "--community", "rust", "--date", str(DAY)), "no members"),
        "date": (("--network", "reddit", "--community", COMMUNITY, "--date", str(DAY + dt.timedelta(days=1))), "no published snapshot"),
        "label": (("--network", "reddit", "--community", "py'thon", "--date", str(DAY)), "--community"),
    }
    errors = {}
    for name, (args, reason) in cases.items():
        assert run(*args) == 2, args
        errors[name] = capsys.readouterr().err
        assert reason in errors[name] and "Traceback" not in errors[name], errors[name]
    # an unknown community names the network's largest ones (distinct reactors in the window)
    assert "funny (40 reactors), python (26 reactors)" in errors["community"], errors["community"]
    assert TableStore(spark, settings).read(COMMUNITY_SCORES).where(F.col("community") == COMMUNITY).count() == before == len(rows)


def test_forget_covers_the_community_scores(spark):
    """The erasure's table list names community_scores by person (the DELETE and VACUUM themselves are tested on the
    other tables in test_ingest_stage and test_explain: running them here would add most of a minute)."""
    from clout.erasure import _conditions

    erased = {spec.name for spec, _ in _conditions("person:x", ["reddit:1"])}
    assert COMMUNITY_SCORES.name in erased


def test_the_gate_rejects_rows_it_must_not_publish(spark, community):
    """The community_scores suite runs before the write: a duplicate member, a score off the scale and an ignored
    member above the floor are each caught (a rejected run leaves the stored rows alone: score_community raises first)."""
    from clout.quality.suites import validate

    settings = community[0]
    algorithm = load_algorithm(settings, "v1")
    good = TableStore(spark, settings).read(COMMUNITY_SCORES)
    assert validate(good, "community_scores", list(settings.networks), calibration=algorithm.calibration).success
    one = good.where(F.col("person_id") == IGNORED)
    bad = {
        "duplicate": good.unionByName(one),
        "off the scale": good.withColumn("score", F.when(F.col("person_id") == REGULAR, F.lit(101)).otherwise(F.col("score"))),
        "ignored above the floor": good.withColumn("score", F.when(F.col("person_id") == IGNORED, F.lit(50)).otherwise(F.col("score"))),
    }
    for name, rows in bad.items():
        gate = validate(rows, "community_scores", list(settings.networks), calibration=algorithm.calibration)
        assert not gate.success and gate.failed, name


def test_a_facebook_group_is_a_community_by_its_id(spark, community):
    """``--community 100`` on facebook is the group whose Graph post ids are '100_<post id>' (labelled feed:100 at ingest,
    tests/test_adapters_social.py): its members are scored from the group's engagement only; the page's fans are not
    members, and the celebrity they like there, ignored in the group, is at the floor."""
    settings = community[0]
    store = TableStore(spark, settings)
    algorithm = load_algorithm(settings, "v1")
    request = CommunityRequest("facebook", GROUP_ID, DAY)
    assert request.label == GROUP and request.problem(list(settings.networks)) is None
    result = score_community(store, algorithm, request, anonymous=[])
    rows = {r.person_id: r for r in store.read(COMMUNITY_SCORES).where(F.col("community") == GROUP).collect()}
    assert not store.read(RINGS).where(F.col("person_id").isin(*GROUP_MEMBERS)).count()  # an honest group: no ring discount
    assert set(rows) == {*GROUP_MEMBERS, IGNORED} and result.members == 7 and result.engaged_members == 6
    assert rows[IGNORED].reactors == 0 and rows[IGNORED].score == algorithm.calibration.floor
    assert rows[GROUP_MEMBERS[0]].reactors == 5 and rows[GROUP_MEMBERS[0]].score == max(r.score for r in rows.values())
    assert result.rows[0].person_id == GROUP_MEMBERS[0]
