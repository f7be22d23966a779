"""Reddit, Mastodon, Foursquare and Discourse adapters: golden samples, bad input, render -> to_events round trip."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from clout.ingest.actions import ACTIONS
from clout.ingest.adapters import discourse, foursquare, mastodon, reddit
from clout.ingest.adapters.base import read_lines
from clout.ingest.validate import with_row_reasons
from clout.synth.schema import SYNTH_ACTION

SAMPLES = Path(__file__).resolve().parent / "samples"
ADAPTERS = {m.NETWORK: m for m in (reddit, mastodon, foursquare, discourse)}
UTC = dt.UTC


def _rows(candidates):
    """(event_id, action, actor, target, event_time as UTC text, topics, parse_error), sorted."""
    picked = candidates.select(
        "event_id", "action", "actor_account", "target_account",
        F.date_format("event_time", "yyyy-MM-dd HH:mm:ss.SSSSSS").alias("t"), "topics", "parse_error",
    ).collect()  # fmt: skip
    return sorted(((*tuple(r[:5]), list(r.topics), r.parse_error) for r in picked), key=repr)


def _sample(spark, network):
    return ADAPTERS[network].to_events(read_lines(spark, [str(SAMPLES / f"{network}.jsonl")]))


def T(hms: str) -> str:
    return f"2026-11-20 {hms}" + ("" if "." in hms else ".000000")


# ---------------------------------------------------------------------------------------------- golden

GOLDEN = {
    "reddit": [
        ("reddit:t3_p1:post", "post", "reddit:a1", None, T("08:00:00"), ["cern", "lhc", "physics"], None),
        ("reddit:t1_c1:comment", "comment", "reddit:b2", "reddit:a1", T("08:05:00.500000"), ["higgs", "physics"], None),
        ("reddit:t1_c2:reply", "reply", "reddit:a1", "reddit:b2", T("08:06:40"), ["physics"], None),
        ("reddit:vote:c3:t3_p1:vote_up", "vote_up", "reddit:c3", "reddit:a1", T("08:10:00"), ["cern", "physics"], None),
        ("reddit:vote:d4:t1_c1:vote_down", "vote_down", "reddit:d4", "reddit:b2", T("08:11:40"), ["cern", "physics"], None),
        (None, None, None, None, None, [], "no_events"),  # dir 0: an unvote
        ("reddit:t3_p2:post", "post", None, None, T("08:15:00"), ["physics"], None),  # [deleted] author
        ("reddit:t3_p3:post", "post", "reddit:c3", None, T("08:16:40"), [], None),  # user-profile subreddit
        (None, None, None, None, None, [], "no_events"),  # t5 subreddit
    ],
    "mastodon": [
        (
            "mastodon:https://mastodon.social/users/alice/statuses/1001:post",
            "post",
            "mastodon:alice@mastodon.social",
            None,
            T("08:00:00"),
            ["cern", "physics"],
            None,
        ),
        (
            "mastodon:https://mastodon.social/users/alice/statuses/1001:mention:bob@fosstodon.org",
            "mention",
            "mastodon:alice@mastodon.social",
            "mastodon:bob@fosstodon.org",
            T("08:00:00"),
            ["cern", "physics"],
            None,
        ),
        (
            "mastodon:https://fosstodon.org/users/bob/statuses/2002:reply",
            "reply",
            "mastodon:bob@fosstodon.org",
            "mastodon:alice@mastodon.social",
            T("08:05:00"),
            [],
            None,
        ),
        # the reply's own mention of alice is not counted again; carol's is ('/@carol' form, host lower-cased)
        (
            "mastodon:https://fosstodon.org/users/bob/statuses/2002:mention:carol@mastodon.social",
            "mention",
            "mastodon:bob@fosstodon.org",
            "mastodon:carol@mastodon.social",
            T("08:05:00"),
            [],
            None,
        ),
        (
            "mastodon:https://mastodon.social/users/carol/statuses/3003/activity:share",
            "share",
            "mastodon:carol@mastodon.social",
            "mastodon:alice@mastodon.social",
            T("08:06:00"),
            [],
            None,
        ),
        (
            "mastodon:https://hachyderm.io/users/dave#likes/77:like",
            "like",
            "mastodon:dave@hachyderm.io",
            "mastodon:alice@mastodon.social",
            T("09:00:00"),
            ["physics"],
            None,
        ),
        (
            "mastodon:https://hachyderm.io/0b6c8f1e-follow:follow",
            "follow",
            "mastodon:dave@hachyderm.io",
            "mastodon:alice@mastodon.social",
            T("09:30:00"),
            [],
            None,
        ),
        (None, "activity:Undo", "mastodon:dave@hachyderm.io", None, T("10:00:00"), [], "unknown_action"),
    ],
    "foursquare": [
        ("foursquare:5f1a00000000000000000c01:checkin", "checkin", "foursquare:11", None, T("08:00:00"), ["café", "coffee shop"], None),
        ("foursquare:5f1a00000000000000000c01:checkin_tag:12", "checkin_tag", "foursquare:11", "foursquare:12", T("08:00:00"), ["café", "coffee shop"], None),
        ("foursquare:5f1a00000000000000000c01:checkin_tag:13", "checkin_tag", "foursquare:11", "foursquare:13", T("08:00:00"), ["café", "coffee shop"], None),
        ("foursquare:5f1a00000000000000000c02:checkin_tag:14", "checkin_tag", "foursquare:15", "foursquare:14", T("08:06:40"), ["tech startup"], None),
        ("foursquare:like:12:5f1a00000000000000000c01", "like", "foursquare:12", "foursquare:11", T("08:10:00"), ["coffee shop"], None),
        (
            "foursquare:5f1a00000000000000000c01:comment:5f1a0000000000000000cm01",
            "comment",
            "foursquare:13",
            "foursquare:11",
            T("08:11:40"),
            ["coffee shop"],
            None,
        ),
        ("foursquare:5f1a00000000000000000c03:checkin", "checkin", "foursquare:13", None, T("08:13:20"), [], None),
    ],
    "discourse": [
        ("discourse:topic:101:post", "post", "discourse:7", None, T("08:00:00"), ["calibration", "lhc", "physics"], None),
        # post 1 is the topic's first post: same event, counted once after dedupe
        ("discourse:topic:101:post", "post", "discourse:7", None, T("08:00:00"), ["calibration", "lhc", "physics"], None),
        ("discourse:post:502:reply", "reply", "discourse:8", "discourse:7", T("08:10:00"), ["lhc", "physics"], None),
        ("discourse:post:503:reply", "reply", "discourse:7", "discourse:8", T("08:20:00"), ["lhc", "physics"], None),
        ("discourse:like:9:502", "like", "discourse:9", "discourse:8", T("08:30:00"), ["lhc", "physics"], None),
        (None, None, None, None, None, [], "no_events"),  # a spam flag
        ("discourse:accepted:502", "accepted_answer", "discourse:7", "discourse:8", T("09:00:00"), ["calibration", "lhc", "physics"], None),
        (None, None, None, None, None, [], "no_events"),  # small action "closed this topic"
        ("discourse:topic:102:post", "post", "discourse:9", None, T("10:00:00"), ["intro"], None),
    ],
}


@pytest.mark.parametrize("network", sorted(GOLDEN))
def test_golden_sample(spark, network):
    out = _sample(spark, network)
    assert {"raw_payload", "source_file", "parse_error", "network"} <= set(out.columns)
    assert _rows(out) == sorted(GOLDEN[network], key=repr)
    assert {r.network for r in out.select("network").distinct().collect()} == {network}


@pytest.mark.parametrize("network", sorted(GOLDEN))
def test_every_record_yields_a_candidate(spark, network):
    lines = [ln for ln in (SAMPLES / f"{network}.jsonl").read_text().splitlines() if ln.strip()]
    out = _sample(spark, network)
    seen = {r.raw_payload for r in out.select("raw_payload").distinct().collect()}
    assert seen == set(lines)


def test_golden_sample_content_ids(spark):
    ids = {r.event_id: (r.content_id, r.target_content_id) for r in _sample(spark, "reddit").where("event_id is not null").collect()}
    assert ids["reddit:t1_c2:reply"] == ("t1_c2", "t1_c1")
    assert ids["reddit:vote:d4:t1_c1:vote_down"] == (None, "t1_c1")
    masto = {r.action: r.target_content_id for r in _sample(spark, "mastodon").where("action in ('reply', 'share', 'like')").collect()}
    assert set(masto.values()) == {"https://mastodon.social/users/alice/statuses/1001"}


def test_deleted_reddit_author_is_quarantined_as_missing_id(spark):
    out = with_row_reasons(_sample(spark, "reddit"), {"reddit": dt.date(2005, 6, 23)}, dt.datetime(2027, 1, 1), 10, 20000)
    reasons = {r.event_id: r.reason for r in out.where("event_id is not null").collect()}
    assert reasons["reddit:t3_p2:post"] == "missing_id"
    assert reasons["reddit:t3_p1:post"] is None


# ---------------------------------------------------------------------------------------------- bad input

BAD = {
    "reddit": {
        "{not json": "malformed_record",
        '{"kind":"t3","data":"oops"}': "malformed_record",
        '{"kind":"t1","data":{"id":"c9","author_fullname":"t2_x","created_utc":"yesterday","parent_id":"t3_p1","parent_author_fullname":"t2_y"}}': "wrong_type",
        '{"kind":"t3","data":{"id":"p9","author_fullname":"t2_x","created_utc":99999999999999999999,"subreddit":"x","title":"t"}}': "wrong_type",
        '{"kind":"vote","data":{"voter_fullname":"t2_x","thing_id":"t3_p1","thing_author_fullname":"t2_y","dir":"up","created_utc":1795161600}}': "wrong_type",
        '{"kind":"vote","data":{"voter_fullname":"t2_x","thing_id":"t3_p1","thing_author_fullname":"t2_y","dir":2,"created_utc":1795161600}}': "unknown_action",
        (
            '{"kind":"t1","data":{"id":"c7","author_fullname":"t2_x","created_utc":1795161600,"parent_id":"t5_2qh","parent_author_fullname":"t2_y"}}'
        ): "unknown_action",
        '{"kind":"t8","data":{"id":"z"}}': "unknown_action",
    },
    "mastodon": {
        '{"type":"Create"': "malformed_record",
        '["not","an","object"]': "malformed_record",
        '{"id":"https://m.social/users/a#likes/1","type":"Like","actor":"https://m.social/users/a","published":"now",'
        '"object":"https://x.org/users/b/statuses/1","objectAttributedTo":"https://x.org/users/b"}': "wrong_type",
        '{"id":"https://m.social/users/a/statuses/9/activity","type":"Create","actor":"https://m.social/users/a",'
        '"object":{"id":"https://m.social/users/a/statuses/9","type":"Note","published":"20 Nov 2026 08:00"}}': "wrong_type",
        '{"id":"https://m.social/b1","type":"Block","actor":"https://m.social/users/a","object":"https://x.org/users/b"}': "unknown_action",
        '{"id":"https://m.social/e1/activity","type":"Create","actor":"https://m.social/users/a","published":"2026-11-20T08:00:00Z",'
        '"object":{"id":"https://m.social/e1","type":"Event"}}': "unknown_action",
    },
    "foursquare": {
        '{"id":': "malformed_record",
        '{"id":"c1","type":"checkin","createdAt":1795161600,"user":"11"}': "malformed_record",
        '{"id":"c2","type":"checkin","createdAt":"soon","user":{"id":"11"}}': "wrong_type",
        '{"id":"c3","type":"checkin","createdAt":99999999999999999999,"user":{"id":"11"}}': "wrong_type",
        '{"type":"like","checkinId":"c1","checkinOwnerId":"11","user":{"id":"12"},"createdAt":"2026-11-20"}': "wrong_type",
        '{"type":"tip","id":"t1","createdAt":1795161600,"user":{"id":"11"}}': "unknown_action",
    },
    "discourse": {
        "not json at all": "malformed_record",
        '{"post":[1,2]}': "malformed_record",
        '{"post":{"id":1,"topic_id":2,"post_number":2,"user_id":3,"topic_user_id":4,"created_at":"today"}}': "wrong_type",
        '{"post":{"id":1,"topic_id":2,"post_number":"two","user_id":3,"topic_user_id":4,"created_at":"2026-11-20T08:00:00Z"}}': "wrong_type",
        '{"post_action":{"id":1,"post_id":2,"post_user_id":3,"user_id":4,"post_action_type_id":"like","created_at":"2026-11-20T08:00:00Z"}}': "wrong_type",
        '{"solution":{"post_id":2,"post_user_id":3,"accepter_user_id":4,"accepted_at":"2026-13-45T99:00:00Z"}}': "wrong_type",
        '{"user":{"id":5,"username":"x"}}': "unknown_action",
    },
}
UNKNOWN_ACTION_NAMES = {
    "reddit": {"kind:t8", "vote:2", "comment_parent:t5"},
    "mastodon": {"activity:Block", "activity:Create/Event"},
    "foursquare": {"type:tip"},
    "discourse": {"record:user"},
}


@pytest.mark.parametrize("network", sorted(BAD))
def test_bad_input(spark, lines_df, network):
    raw, _ = lines_df(list(BAD[network]), f"{network}-bad.jsonl")
    out = ADAPTERS[network].to_events(raw).collect()
    assert len(out) == len(BAD[network])  # one candidate per record, nothing dropped, nothing crashed
    assert {r.raw_payload: r.parse_error for r in out} == BAD[network]
    named = {r.action for r in out if r.parse_error == "unknown_action"}
    assert named == UNKNOWN_ACTION_NAMES[network]  # so the quarantine detail says what was not understood


# ---------------------------------------------------------------------------------------------- round trip


def _t(hms: str, micros: int = 0) -> dt.datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return dt.datetime(2026, 11, 20, h, m, s, micros, tzinfo=UTC)


def _row(network, seq, action, time, actor, target=None, content=None, target_content=None, topic_list=(), text=None):
    handle = lambda native: None if native is None else "h_" + native.split("@")[0]  # noqa: E731
    return (network, seq, action, time, actor, handle(actor), target, handle(target), content, target_content, list(topic_list), text)


CANONICAL = {
    "reddit": [
        ("post", _t("08:00:00"), "u1", None, "p1", None, ["cern", "physics"], "Higgs found #sort of"),
        ("post", _t("08:00:30"), "u5", None, "p2", None, [], "no topic"),
        ("comment", _t("08:01:00", 250000), "u2", "u1", "c1", "p1", ["physics"], "nice"),
        ("reply", _t("08:02:00"), "u1", "u2", "c2", "c1", [], "thanks"),
        ("vote_up", _t("08:03:00"), "u3", "u1", None, "p1", ["cern", "physics"], None),
        ("vote_down", _t("08:04:00", 123456), "u4", "u2", None, "c1", [], None),
    ],
    "mastodon": [
        ("post", _t("08:00:00"), "user1@mastodon.example", None, "101", None, ["physics", "science"], "Higgs <found> & more"),
        ("reply", _t("08:01:00", 500000), "user2@other.example", "user1@mastodon.example", "102", "101", ["physics"], "congrats"),
        ("share", _t("08:02:00"), "user3@mastodon.example", "user1@mastodon.example", None, "101", ["physics", "science"], None),
        ("like", _t("08:03:00"), "user4@mastodon.example", "user2@other.example", None, "102", [], None),
        ("follow", _t("08:04:00"), "user4@mastodon.example", "user1@mastodon.example", None, None, [], None),
    ],
    "foursquare": [
        ("checkin", _t("08:00:00"), "11", None, "c1", None, ["coffee shop", "café"], "Morning"),
        ("checkin_tag", _t("08:01:00"), "11", "12", None, "c1", ["coffee shop"], None),
        ("like", _t("08:02:00", 1000), "13", "11", None, "c1", ["coffee shop"], None),
        ("comment", _t("08:03:00"), "12", "11", "m1", "c1", [], "see you"),
    ],
    "discourse": [
        ("post", _t("08:00:00"), "7", None, "101", None, ["lhc", "physics"], "How to calibrate?"),
        ("post", _t("08:00:10"), "9", None, "102", None, [], None),
        ("reply", _t("08:01:00", 7000), "8", "7", "501", "101", ["lhc", "physics"], "Use <beam> runs"),
        ("like", _t("08:02:00"), "9", "8", None, "501", ["physics"], None),
        ("accepted_answer", _t("08:03:00"), "7", "8", None, "501", ["lhc"], None),
    ],
}


def _canonical(spark, network):
    rows = [_row(network, seq, *spec) for seq, spec in enumerate(CANONICAL[network], start=1)]
    return spark.createDataFrame(rows, SYNTH_ACTION)


@pytest.mark.parametrize("network", sorted(ADAPTERS))
def test_synth_actions_are_a_distribution_of_known_actions(network):
    shares = ADAPTERS[network].SYNTH_ACTIONS
    assert set(shares) <= ACTIONS
    assert abs(sum(shares.values()) - 1.0) < 1e-9
    assert {spec[0] for spec in CANONICAL[network]} == set(shares)  # the round trip covers every action


@pytest.mark.parametrize("network", sorted(ADAPTERS))
def test_render_round_trip(spark, lines_df, network):
    adapter = ADAPTERS[network]
    canonical = _canonical(spark, network)
    lines = [r.value for r in adapter.render(canonical).collect()]
    assert len(lines) == len(CANONICAL[network])
    for line in lines:
        assert "\n" not in line and isinstance(json.loads(line), dict)

    raw, _ = lines_df(lines, f"{network}-rendered.jsonl")
    out = adapter.to_events(raw)
    got = [(r.action, r.actor_account, r.target_account, r.event_time, sorted(r.topics), r.parse_error) for r in out.collect()]
    want = [
        (r.action, f"{network}:{r.actor_native}", None if r.target_native is None else f"{network}:{r.target_native}",
         r.event_time, sorted(r.topics), None)
        for r in canonical.collect()
    ]  # fmt: skip
    assert sorted(got, key=repr) == sorted(want, key=repr)  # exactly one candidate per canonical row, nothing extra

    ids = [r.event_id for r in out.select("event_id").collect()]
    assert None not in ids and len(set(ids)) == len(ids)
    checked = with_row_reasons(out, {network: dt.date(2000, 1, 1)}, dt.datetime(2027, 1, 1), 10, 20000)
    assert [r.reason for r in checked.collect()] == [None] * len(lines)


@pytest.mark.parametrize("network", sorted(ADAPTERS))
def test_render_is_stable(spark, network):
    """Rendering the same canonical rows twice gives the same lines, hence the same event ids (dedupe relies on it)."""
    adapter = ADAPTERS[network]
    first = sorted(r.value for r in adapter.render(_canonical(spark, network)).collect())
    second = sorted(r.value for r in adapter.render(_canonical(spark, network)).collect())
    assert first == second


def test_mastodon_render_writes_actor_iris(spark):
    lines = [json.loads(r.value) for r in mastodon.render(_canonical(spark, "mastodon")).collect()]
    by_type = {line["type"]: line for line in lines}
    assert by_type["Follow"]["actor"] == "https://mastodon.example/users/user4"
    assert by_type["Follow"]["object"] == "https://mastodon.example/users/user1"
    replies = [line for line in lines if line["type"] == "Create" and "inReplyTo" in line["object"]]
    assert replies[0]["object"]["inReplyTo"] == "https://mastodon.example/users/user1/statuses/101"
