import datetime as dt

from clout.ingest.adapters import twitter_v2
from clout.ingest.adapters.base import read_lines
from conftest import SAMPLES


def rows(spark, name):
    return twitter_v2.to_events(read_lines(spark, [str(SAMPLES / name)])).orderBy("event_id").collect()


def test_golden_sample(spark):
    got = [(r.event_id, r.action, r.actor_account, r.target_account, r.event_time, r.topics, r.parse_error) for r in rows(spark, "twitter_v2.jsonl")]
    t = lambda h, m: dt.datetime(2026, 11, 20, h, m)  # noqa: E731
    assert got == [
        ("twitter:1001:mention:12", "mention", "twitter:11", "twitter:12", t(8, 0), ["cern", "physics"], None),
        ("twitter:1001:post", "post", "twitter:11", None, t(8, 0), ["cern", "physics"], None),
        ("twitter:1002:reply", "reply", "twitter:12", "twitter:11", t(8, 5), [], None),  # @alice auto-mention dropped
        ("twitter:1003:share", "share", "twitter:13", "twitter:11", t(8, 6), [], None),
        ("twitter:follow:15:11:1795168800000", "follow", "twitter:15", "twitter:11", t(10, 0), [], None),
        ("twitter:like:14:1001", "like", "twitter:14", "twitter:11", t(9, 0), [], None),
    ]


def test_hostile_records_never_crash_and_are_flagged(spark):
    got = {r.content_id or r.parse_error: (r.action, r.target_account, r.parse_error) for r in rows(spark, "twitter_v2_bad.jsonl")}
    assert got["3001"] == ("post", None, None)  # empty referenced_tweets is an original tweet
    assert got["3002"] == ("share", None, None)  # referenced author unknown: validation quarantines missing_id
    assert got["3004"][0] == "ref:edited"  # unknown reference type: validation quarantines unknown_action
    assert sorted(r.parse_error for r in rows(spark, "twitter_v2_bad.jsonl") if r.parse_error) == ["wrong_type", "wrong_type"]
