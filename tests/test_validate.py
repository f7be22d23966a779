"""One test per bad-input class: each gets its reason, good rows get none."""

import datetime as dt

import pytest
from pyspark.sql import functions as F

from clout.ingest.adapters.base import CANDIDATE_COLUMNS, CANDIDATE_TYPES
from clout.ingest.validate import mark_batch_duplicates, with_row_reasons

NOW = dt.datetime(2026, 11, 22, 12, 0, 0)
FOUNDED = {"twitter": dt.date(2006, 3, 21), "reddit": dt.date(2005, 6, 23)}
GOOD = dict(
    event_id="twitter:1:reply",
    network="twitter",
    event_time=dt.datetime(2026, 11, 20, 8, 0),
    action="reply",
    actor_account="twitter:1",
    target_account="twitter:2",
    content_id="1",
    target_content_id="0",
    topics=["x"],
    text_chars=10,
    source_file="f1",
    raw_payload="{}",
    parse_error=None,
    record_first=True,
)


def frame(spark, *rows):
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(c, CANDIDATE_TYPES.get(c, T.BooleanType())) for c in CANDIDATE_COLUMNS])
    return spark.createDataFrame([tuple({**GOOD, **r}[c] for c in CANDIDATE_COLUMNS) for r in rows], schema)


def reasons(spark, *rows, max_chars=1000):
    df = mark_batch_duplicates(with_row_reasons(frame(spark, *rows), FOUNDED, NOW, 10, max_chars))
    return [r.reason for r in df.orderBy("source_file", "event_id", "raw_payload").collect()]


@pytest.mark.parametrize(
    "row, reason",
    [
        (dict(parse_error="malformed_record", event_id=None), "malformed_record"),
        (dict(parse_error="wrong_type"), "wrong_type"),
        (dict(event_id=None), "missing_id"),
        (dict(actor_account=None), "missing_id"),
        (dict(target_account=None), "missing_id"),
        (dict(action="poke"), "unknown_action"),
        (dict(event_time=None), "missing_timestamp"),
        (dict(event_time=dt.datetime(2027, 1, 1)), "future_timestamp"),
        (dict(event_time=dt.datetime(2001, 1, 1)), "before_network_existed"),
        (dict(target_account="twitter:1"), "self_interaction"),
        (dict(text_chars=5000), "oversized_field"),
        (dict(network="myspace", event_id="myspace:1"), "unknown_network"),
    ],
)
def test_each_bad_input_class_gets_its_reason(spark, row, reason):
    assert reasons(spark, row) == [reason]


def test_good_rows_pass_and_posts_need_no_target(spark):
    assert reasons(spark, {}, dict(event_id="twitter:2:post", action="post", target_account=None)) == [None, None]


def test_event_slightly_in_the_future_within_skew_is_accepted(spark):
    assert reasons(spark, dict(event_time=NOW + dt.timedelta(minutes=5))) == [None]


def test_oversized_payload_counts_characters_not_bytes(spark):
    # limit: 4 * max_chars = 400 characters of raw payload
    assert reasons(spark, dict(raw_payload="x" * 401), max_chars=100) == ["oversized_field"]
    # 300 characters of 3 bytes each: 900 bytes, but within 400 characters
    assert reasons(spark, dict(raw_payload="\u20ac" * 300), max_chars=100) == [None]


@pytest.mark.parametrize("broadcast_limit", [2_000_000, 0], ids=["broadcast", "shuffle-join"])
def test_duplicates_within_batch_keep_exactly_one(spark, monkeypatch, broadcast_limit):
    monkeypatch.setattr("clout.ingest.validate.MAX_BROADCAST_REPEATED_IDS", broadcast_limit)
    got = reasons(spark, dict(source_file="f1"), dict(source_file="f2"), dict(source_file="f2", raw_payload="{ }"))
    assert sorted(got, key=str) == [None, "duplicate_in_batch", "duplicate_in_batch"]
    df = mark_batch_duplicates(with_row_reasons(frame(spark, dict(source_file="f2"), dict(source_file="f1")), FOUNDED, NOW, 10, 1000))
    kept = df.where(F.col("reason").isNull()).select("source_file").collect()
    assert [r.source_file for r in kept] == ["f1"]  # the earliest file wins, on every run


def test_rejected_rows_do_not_count_as_duplicates(spark):
    # a malformed twin must not push the good row out as a duplicate
    assert sorted(reasons(spark, {}, dict(parse_error="wrong_type")), key=str) == [None, "wrong_type"]
    # nor, when the id repeats among valid rows too, take the first place and leave no valid copy kept
    got = reasons(spark, dict(source_file="f1", parse_error="wrong_type"), dict(source_file="f2"), dict(source_file="f3"))
    assert got == ["wrong_type", None, "duplicate_in_batch"]


def test_event_date_is_the_utc_day_of_event_time(spark):
    df = with_row_reasons(frame(spark, dict(event_time=dt.datetime(2026, 11, 19, 23, 59))), FOUNDED, NOW, 10, 1000)
    assert df.first().event_date == dt.date(2026, 11, 19)
