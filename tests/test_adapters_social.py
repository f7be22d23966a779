"""Facebook, Instagram, LinkedIn and YouTube adapters: golden samples, bad input, render -> to_events."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F

from clout.ingest.actions import ACTIONS
from clout.ingest.adapters import facebook, instagram, linkedin, youtube
from clout.ingest.adapters.base import CANDIDATE_COLUMNS, read_lines
from clout.ingest.validate import with_row_reasons
from clout.synth.schema import SYNTH_ACTION, SYNTH_COLUMNS
from conftest import SAMPLES

ADAPTERS = {m.NETWORK: m for m in (facebook, instagram, linkedin, youtube)}
T0 = dt.datetime(2026, 11, 20, 8, 0)
NOW = dt.datetime(2026, 11, 21, 0, 0)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def event_rows(df) -> list[tuple]:
    """Candidates as (event_id, action, actor, target, event_time, topics, content_id, target_content_id, parse_error)."""
    cols = ["event_id", "action", "actor_account", "target_account", "event_time", "topics", "content_id", "target_content_id", "parse_error"]
    return [tuple(r[c] for c in cols) for r in df.select(*cols).collect()]


def sample(spark, network: str):
    return ADAPTERS[network].to_events(read_lines(spark, [str(SAMPLES / f"{network}.jsonl")]))


def reasons(df) -> list[tuple]:
    founded = {n: dt.date(2000, 1, 1) for n in ADAPTERS}
    checked = with_row_reasons(df, founded, NOW, max_future_minutes=10, max_field_chars=20000)
    return [(r["reason"], r["detail"]) for r in checked.select("reason", "detail").collect()]


# ---------------------------------------------------------------------------------------------- golden

GOLDEN = {
    "facebook": [
        # every record of a post in feed 100 (a page's or group's: Graph ids are '<feed id>_<post id>') is labelled
        # feed:100; a comment's own id '2001_3001' names the post, not the feed, so its post_id is read
        ("facebook:100_2001:post", "post", "facebook:101", None, at(0), ["cern", "feed:100", "physics"], "100_2001", None, None),
        ("facebook:100_2001:mention:102", "mention", "facebook:101", "facebook:102", at(0), ["cern", "feed:100", "physics"], "100_2001", "100_2001", None),
        ("facebook:2001_3001:comment", "comment", "facebook:102", "facebook:101", at(5), ["feed:100", "physics"], "2001_3001", "100_2001", None),
        # the reply's tag of Bob is the reply's own target: no separate mention
        ("facebook:2001_3002:reply", "reply", "facebook:101", "facebook:102", at(7.5), ["feed:100"], "2001_3002", "2001_3001", None),
        ("facebook:reaction:103:100_2001", "like", "facebook:103", "facebook:101", at(60), ["cern", "feed:100", "physics"], None, "100_2001", None),
        # a bare /reactions edge row: no "object", the reacting user is its id
        ("facebook:reaction:104:100_2001", "like", "facebook:104", "facebook:101", at(61), ["feed:100"], None, "100_2001", None),
        ("facebook:105_2002:share", "share", "facebook:105", "facebook:101", at(120), ["feed:105", "science"], "105_2002", "100_2001", None),
        (None, None, None, None, None, [], None, None, "no_events"),  # page node
    ],
    "instagram": [
        ("instagram:17890001:post", "post", "instagram:201", None, at(0), ["photo", "travel"], "17890001", None, None),
        ("instagram:17950001:comment", "comment", "instagram:202", "instagram:201", at(10), ["travel"], "17950001", "17890001", None),
        ("instagram:17950002:reply", "reply", "instagram:201", "instagram:202", at(12.5), [], "17950002", "17950001", None),
        ("instagram:like:203:17890001", "like", "instagram:203", "instagram:201", at(60), ["photo", "travel"], None, "17890001", None),
        ("instagram:follow:204:201:1795167000000", "follow", "instagram:204", "instagram:201", at(90), ["travel"], None, None, None),
        (None, None, None, None, None, [], None, None, "no_events"),  # user profile node
    ],
    "linkedin": [
        # the escaped \#notatag is text, not a hashtag
        ("linkedin:urn:li:share:7001:post", "post", "linkedin:urn:li:person:A1B2", None, at(0), ["physics"], "urn:li:share:7001", None, None),
        (
            "linkedin:reaction:urn:li:person:C3D4:urn:li:share:7001",
            "like",
            "linkedin:urn:li:person:C3D4",
            "linkedin:urn:li:person:A1B2",
            at(5),
            ["physics"],
            None,
            "urn:li:share:7001",
            None,
        ),
        (
            "linkedin:reaction:urn:li:person:E5F6:urn:li:share:7001",
            "like",
            "linkedin:urn:li:person:E5F6",
            "linkedin:urn:li:person:A1B2",
            at(6),
            [],
            None,
            "urn:li:share:7001",
            None,
        ),
        (
            "linkedin:comment:6901",
            "comment",
            "linkedin:urn:li:person:C3D4",
            "linkedin:urn:li:person:A1B2",
            at(10),
            ["physics", "quantum"],
            "6901",
            "urn:li:share:7001",
            None,
        ),
        ("linkedin:comment:6902", "reply", "linkedin:urn:li:person:A1B2", "linkedin:urn:li:person:C3D4", at(15), [], "6902", "6901", None),
        (
            "linkedin:urn:li:share:7002:share",
            "share",
            "linkedin:urn:li:organization:77",
            "linkedin:urn:li:person:A1B2",
            at(60),
            [],
            "urn:li:share:7002",
            "urn:li:share:7001",
            None,
        ),
        (None, None, None, None, None, [], None, None, "no_events"),  # draft post
        (None, None, None, None, None, [], None, None, "no_events"),  # profile (title, company size)
    ],
    "youtube": [
        ("youtube:vid001:post", "post", "youtube:UCalice", None, at(0), ["cern", "physics", "science"], "vid001", None, None),
        ("youtube:cmt001:comment", "comment", "youtube:UCbob", "youtube:UCalice", at(30), ["physics"], "cmt001", "vid001", None),
        ("youtube:cmt001.r1:reply", "reply", "youtube:UCalice", "youtube:UCbob", at(45), [], "cmt001.r1", "cmt001", None),
        ("youtube:cmt001.r2:reply", "reply", "youtube:UCcarol", "youtube:UCbob", at(60), [], "cmt001.r2", "cmt001", None),
        ("youtube:like:UCdan:vid001", "like", "youtube:UCdan", "youtube:UCalice", at(70), ["cern", "physics"], None, "vid001", None),
        ("youtube:vote_down:UCeve:vid001", "vote_down", "youtube:UCeve", "youtube:UCalice", at(80), [], None, "vid001", None),
        (None, None, None, None, None, [], None, None, "no_events"),  # rating "none": withdrawn
        ("youtube:follow:UCdan:UCalice:1795168800000", "follow", "youtube:UCdan", "youtube:UCalice", at(120), ["physics"], None, None, None),
        (None, None, None, None, None, [], None, None, "no_events"),  # channel resource
    ],
}


@pytest.mark.parametrize("network", sorted(GOLDEN))
def test_golden_sample(spark, network):
    out = sample(spark, network)
    assert out.columns == CANDIDATE_COLUMNS
    assert sorted(event_rows(out), key=repr) == sorted(GOLDEN[network], key=repr)
    rows = out.collect()
    assert {r["network"] for r in rows} == {network}
    assert all(r["source_file"].endswith(f"{network}.jsonl") for r in rows)
    # one record_first per native line, whatever it expanded to
    lines = [ln for ln in (SAMPLES / f"{network}.jsonl").read_text().splitlines() if ln.strip()]
    assert sum(r["record_first"] for r in rows) == len(lines)
    # what the adapter accepted also passes validation
    assert {reason for reason, _ in reasons(out.where(F.col("parse_error").isNull()))} == {None}


def test_samples_are_native_json(spark):
    for network in GOLDEN:
        for line in (SAMPLES / f"{network}.jsonl").read_text().splitlines():
            assert isinstance(json.loads(line), dict)


# ------------------------------------------------------------------------------------------- bad input

BAD = {
    "facebook": [
        ('{"object":"post","id":"100_1","from":{"id":"1"', "malformed_record", None),
        ('[{"object":"post"}]', "malformed_record", None),
        ('{"object":"post","id":"100_1","from":{"id":"1"},"message_tags":"not a list"}', "malformed_record", None),
        ('{"object":"post","id":"100_1","from":{"id":"1"},"created_time":"yesterday"}', "wrong_type", None),
        ('{"object":"event","id":"900","name":"Launch party","start_time":"2026-11-20T08:00:00+0000"}', "unknown_action", None),
        ('{"object":"reaction","id":"7","post_id":"100_1","post_author_id":"1","type":"MEH","created_time":"2026-11-20T08:00:00+0000"}', None, "reaction:MEH"),
    ],
    "instagram": [
        ('{"id":"1","owner":{"id":"2"},"timestamp":', "malformed_record", None),
        ('"just a string"', "malformed_record", None),
        ('{"media_id":"1","media_owner_id":"2","user_id":"3","timestamp":"20/11/2026 08:00"}', "wrong_type", None),
        ('{"story_id":"5","viewer":"3"}', "unknown_action", None),
    ],
    "linkedin": [
        ('{"id":"urn:li:share:1","author":', "malformed_record", None),
        ('{"id":"urn:li:share:1","author":"urn:li:person:X","createdAt":"2026-11-20T08:00:00Z","lifecycleState":"PUBLISHED"}', "wrong_type", None),
        ('{"id":"urn:li:share:1","author":"urn:li:person:X","createdAt":99999999999999999,"lifecycleState":"PUBLISHED"}', "wrong_type", None),
        (
            '{"reactionType":"LIKE","root":"urn:li:share:1","created":{"actor":"urn:li:person:X","time":"soon"},"targetAuthor":"urn:li:person:Y"}',
            "wrong_type",
            None,
        ),
        ('{"urn":"urn:li:group:5","name":"Physicists"}', "unknown_action", None),
        (
            '{"reactionType":"DISLIKE","root":"urn:li:share:1","created":{"actor":"urn:li:person:X","time":1795161600000},"targetAuthor":"urn:li:person:Y"}',
            None,
            "reaction:DISLIKE",
        ),
        ('{"id":"urn:li:share:2","author":"urn:li:person:X","createdAt":1795161600000,"lifecycleState":"ARCHIVED"}', None, "lifecycle:ARCHIVED"),
    ],
    "youtube": [
        ('{"kind":"youtube#video","id":"v1","snippet":{', "malformed_record", None),
        ('{"kind":"youtube#video","id":"v1","snippet":{"publishedAt":"2026-11-20T08:00:00Z","channelId":"UC1","tags":"physics"}}', "malformed_record", None),
        (
            '{"kind":"youtube#commentThread","id":"c1","snippet":{"channelId":"UC1","videoId":"v1","topLevelComment":{"id":"c1","snippet":'
            '{"authorChannelId":{"value":"UC2"},"publishedAt":"2026-11-20T08:00:00Z"}}},"replies":{"comments":[{"id":"c1.r","snippet":'
            '{"authorChannelId":{"value":"UC1"},"parentId":"c1","publishedAt":"later"}}]}}',
            "wrong_type",
            None,
        ),
        ('{"kind":"youtube#playlist","id":"PL1","snippet":{"publishedAt":"2026-11-20T08:00:00Z","channelId":"UC1"}}', "unknown_action", None),
        (
            '{"kind":"youtube#videoRating","videoId":"v1","rating":"meh","raterChannelId":"UC2","videoOwnerChannelId":"UC1","ratedAt":"2026-11-20T08:00:00Z"}',
            None,
            "rating:meh",
        ),
    ],
}


@pytest.mark.parametrize("network", sorted(BAD))
def test_bad_input_yields_one_rejected_candidate_per_record(spark, lines_df, network):
    cases = BAD[network]
    raw, _ = lines_df([line for line, _, _ in cases], f"{network}-bad.jsonl")
    out = ADAPTERS[network].to_events(raw)
    got = {r["raw_payload"]: r for r in out.collect()}
    assert out.count() == len(cases) == len(got)
    for line, parse_error, action in cases:
        row = got[line]
        assert row["parse_error"] == parse_error, line
        if parse_error is None:
            # an unknown sub-type keeps the record's ids and is rejected by validation with the action as detail
            assert row["action"] == action and action not in ACTIONS
            assert reasons(out.where(F.col("raw_payload") == line)) == [("unknown_action", f"action={action}")]
    # whatever the adapter rejected, validation reports with the adapter's reason
    rejected = out.where(F.col("parse_error").isNotNull())
    assert sorted(r for r, _ in reasons(rejected)) == sorted(p for _, p, _ in cases if p)


# ------------------------------------------------------------------------------------------ round trip


def canonical(
    network: str,
    seq: int,
    action: str,
    minutes: float,
    actor: str,
    target: str | None,
    topics: list[str],
    content: str | None = None,
    target_content: str | None = None,
    text: str | None = None,
) -> tuple:
    return (network, seq, action, at(minutes), actor, f"h_{actor[-4:]}", target, f"h_{target[-4:]}" if target else None, content, target_content, topics, text)


def people(network: str) -> tuple[str, str]:
    return {
        "linkedin": ("urn:li:person:2LVTQ4", "urn:li:person:2LVTQ9"),
        "youtube": ("UC0000000000000000000041", "UC0000000000000000000007"),
    }.get(network, ("100000041", "100000007"))


def canonical_rows(network: str) -> list[tuple]:
    me, you = people(network)
    rows = {
        "post": canonical(network, 1, "post", 0, me, None, ["physics", "cern"], "c1", None, "about physics #1"),
        "comment": canonical(network, 2, "comment", 5, you, me, ["physics"], "c2", "c1", "nice #2"),
        "reply": canonical(network, 3, "reply", 7.25, me, you, [], "c3", "c2", "thanks (really) {x} @you"),
        "share": canonical(network, 4, "share", 9, you, me, ["cern"], "c4", "c1", None),
        "like": canonical(network, 5, "like", 10.5, you, me, ["physics"], None, "c1"),
        "vote_down": canonical(network, 6, "vote_down", 11, you, me, ["physics"], None, "c1"),
        "follow": canonical(network, 7, "follow", 12, you, me, ["physics"]),
    }
    # a second like on a sub-second time (the generator uses whole seconds, precision must survive anyway)
    extra = [canonical(network, 8, "like", 13.0105, me, you, [], None, "c2")] if "like" in ADAPTERS[network].SYNTH_ACTIONS else []
    return [rows[a] for a in ADAPTERS[network].SYNTH_ACTIONS] + extra


def expected(actions) -> list[tuple]:
    net = F.col("network")
    return sorted(
        (r["action"], r["actor"], r["target"], r["event_time"], tuple(r["topics"]))
        for r in actions.select(
            "action",
            F.concat(net, F.lit(":"), "actor_native").alias("actor"),
            F.when(F.col("target_native").isNotNull(), F.concat(net, F.lit(":"), "target_native")).alias("target"),
            "event_time",
            F.array_sort(F.array_distinct("topics")).alias("topics"),
        ).collect()
    )


def round_trip(spark, lines_df, network, actions):
    adapter = ADAPTERS[network]
    lines = [r["value"] for r in adapter.render(actions.select(*SYNTH_COLUMNS)).collect()]
    assert all(isinstance(json.loads(line), dict) for line in lines)
    raw, _ = lines_df(lines, f"{network}-rendered.jsonl")
    return adapter.to_events(raw)


@pytest.mark.parametrize("network", sorted(ADAPTERS))
def test_synth_actions(network):
    shares = ADAPTERS[network].SYNTH_ACTIONS
    assert set(shares) <= ACTIONS
    assert sum(shares.values()) == pytest.approx(1.0)
    assert all(v > 0 for v in shares.values())


@pytest.mark.parametrize("network", sorted(ADAPTERS))
def test_render_round_trip(spark, lines_df, network):
    actions = spark.createDataFrame(canonical_rows(network), SYNTH_ACTION)
    out = round_trip(spark, lines_df, network, actions)
    got = out.collect()
    assert len(got) == actions.count()
    assert {r["parse_error"] for r in got} == {None}
    assert sorted((r["action"], r["actor_account"], r["target_account"], r["event_time"], tuple(r["topics"])) for r in got) == expected(actions)
    assert len({r["event_id"] for r in got}) == len(got)
    assert {reason for reason, _ in reasons(out)} == {None}
    # rendering the same rows again gives the same event ids (dedupe relies on it)
    again = round_trip(spark, lines_df, network, actions)
    assert sorted(r["event_id"] for r in again.collect()) == sorted(r["event_id"] for r in got)


@pytest.mark.parametrize("network", sorted(ADAPTERS))
def test_render_round_trip_generated_day(spark, lines_df, network):
    """The generator's own canonical rows (its id styles, '#<seq>' in text) survive render -> to_events."""
    from clout.synth.generator import SynthSpec, canonical_actions

    spec = SynthSpec(day=dt.date(2026, 11, 20), events=600, persons=200)
    actions = canonical_actions(spark, spec, {network: ADAPTERS[network].SYNTH_ACTIONS}).select(*SYNTH_COLUMNS).cache()
    out = round_trip(spark, lines_df, network, actions)
    got = out.collect()
    assert len(got) == actions.count() == 600
    assert {r["parse_error"] for r in got} == {None}
    assert sorted((r["action"], r["actor_account"], r["target_account"], r["event_time"], tuple(r["topics"])) for r in got) == expected(actions)
    # Event ids are unique, except where the generator has one person like the same item twice: natively
    # that is the same like (one per person and item), so it gets the same id and dedupe keeps one.
    repeated_likes = (
        (
            actions.where(F.col("action").isin("like", "vote_down"))
            .groupBy("action", "actor_native", "target_content_native")
            .count()
            .agg(F.sum(F.col("count") - 1))
            .first()[0]
        )
        or 0
    )
    assert len({r["event_id"] for r in got}) == len(got) - repeated_likes
    actions.unpersist()


@pytest.mark.parametrize("network", sorted(ADAPTERS))
def test_render_refuses_an_action_it_does_not_have(spark, network):
    me, _you = people(network)
    actions = spark.createDataFrame([canonical(network, 1, "checkin", 0, me, None, [], "c1")], SYNTH_ACTION)
    with pytest.raises(Exception, match=f"{network} cannot render action checkin"):
        ADAPTERS[network].render(actions).collect()
