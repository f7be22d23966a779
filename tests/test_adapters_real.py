"""Adapters of the real dumps: Higgs Twitter (SNAP) and the Stack Exchange quantumcomputing data dump.

Golden tests on small hand-written samples (tests/samples) assert the exact events and the reasons the
validation gives them; the ``realdata`` tests read the full dumps in place (conftest.DATASETS) and check
that every native record is accounted for.
"""

from __future__ import annotations

import collections
import datetime as dt
import gzip

import pytest
from pyspark.sql import functions as F

from clout.ingest.adapters import higgs, load_adapter, read_raw, stackexchange
from clout.ingest.adapters.base import CANDIDATE_COLUMNS, read_lines
from clout.ingest.stage import ingest
from clout.ingest.validate import mark_batch_duplicates, with_row_reasons
from clout.tables import EVENTS, QUARANTINE, TableStore
from conftest import DATASETS, SAMPLES, settings_for

FOUNDED = {"higgs": dt.date(2006, 3, 21), "stackexchange": dt.date(2008, 9, 15)}
NOW = dt.datetime(2026, 11, 22)
HIGGS_FILE = DATASETS / "higgs-twitter" / "higgs-activity_time.txt.gz"
SE_DUMP = DATASETS / "stackexchange-quantumcomputing"
SE_SAMPLE = SAMPLES / "stackexchange"
TIME = "yyyy-MM-dd HH:mm:ss.SSS"  # compare times as UTC text (the session time zone), not as local datetimes


def validated(candidates):
    return mark_batch_duplicates(with_row_reasons(candidates, FOUNDED, NOW, max_future_minutes=10, max_field_chars=20000))


def _key(row: tuple) -> tuple:
    return tuple("" if v is None else str(v) for v in row)


def _sorted(rows) -> list[tuple]:
    return sorted((tuple(r) for r in rows), key=_key)


# ---------------------------------------------------------------- Higgs


def test_higgs_adapter_is_loadable_and_reads_lines(spark):
    adapter = load_adapter("clout.ingest.adapters.higgs")
    assert adapter.NETWORK == "higgs"
    raw = read_raw(adapter, spark, [str(SAMPLES / "higgs_sample.txt")])
    assert raw.count() == 11  # the blank line is not a record


def test_higgs_sample_golden(spark):
    raw = read_lines(spark, [str(SAMPLES / "higgs_sample.txt")])
    cands = higgs.to_events(raw)
    assert cands.columns == CANDIDATE_COLUMNS
    got = _sorted(
        cands.select(
            "raw_payload",
            "event_id",
            F.date_format("event_time", TIME),
            "action",
            "actor_account",
            "target_account",
            "content_id",
            "target_content_id",
            "topics",
            "text_chars",
            "parse_error",
            "network",
        ).collect()
    )
    h = ["higgs"]
    expected = _sorted(
        [
            (
                "223789 213163 1341100972 MT",
                "higgs:223789:213163:1341100972:MT",
                "2012-07-01 00:02:52.000",
                "mention",
                "higgs:223789",
                "higgs:213163",
                None,
                None,
                h,
                None,
                None,
                "higgs",
            ),
            (
                "223789 213163 1341100972 RE",
                "higgs:223789:213163:1341100972:RE",
                "2012-07-01 00:02:52.000",
                "reply",
                "higgs:223789",
                "higgs:213163",
                None,
                None,
                h,
                None,
                None,
                "higgs",
            ),
            (
                "376989 50329 1341101181 RT",
                "higgs:376989:50329:1341101181:RT",
                "2012-07-01 00:06:21.000",
                "share",
                "higgs:376989",
                "higgs:50329",
                None,
                None,
                h,
                None,
                None,
                "higgs",
            ),
            (
                "376989 50329 1341101181 RT",
                "higgs:376989:50329:1341101181:RT",
                "2012-07-01 00:06:21.000",
                "share",
                "higgs:376989",
                "higgs:50329",
                None,
                None,
                h,
                None,
                None,
                "higgs",
            ),
            (
                "26375 26375 1341101183 MT",
                "higgs:26375:26375:1341101183:MT",
                "2012-07-01 00:06:23.000",
                "mention",
                "higgs:26375",
                "higgs:26375",
                None,
                None,
                h,
                None,
                None,
                "higgs",
            ),
            ("1 2 1341101190", None, None, None, None, None, None, None, [], None, "malformed_record", "higgs"),
            ("9 10 1341101300 RE extra", None, None, None, None, None, None, None, [], None, "malformed_record", "higgs"),
            ("5 6 13411x1192 RT", None, None, None, None, None, None, None, [], None, "wrong_type", "higgs"),
            # an integer, but beyond any timestamp: wrong_type instead of an overflow aborting the job
            ("13 14 9223372036854775807 RT", None, None, None, None, None, None, None, [], None, "wrong_type", "higgs"),
            ("7 8 1341101200 LK", "higgs:7:8:1341101200:LK", "2012-07-01 00:06:40.000", "code:LK", "higgs:7", "higgs:8", None, None, h, None, None, "higgs"),
            (
                "11\t12\t1341101400\tRT",
                "higgs:11:12:1341101400:RT",
                "2012-07-01 00:10:00.000",
                "share",
                "higgs:11",
                "higgs:12",
                None,
                None,
                h,
                None,
                None,
                "higgs",
            ),
        ]
    )
    assert got == expected

    reasons = _sorted(validated(cands).select("raw_payload", "reason", "detail").collect())
    assert reasons == _sorted(
        [
            ("223789 213163 1341100972 MT", None, None),
            ("223789 213163 1341100972 RE", None, None),
            ("376989 50329 1341101181 RT", None, None),
            ("376989 50329 1341101181 RT", "duplicate_in_batch", "event_id seen earlier in this batch"),
            ("26375 26375 1341101183 MT", "self_interaction", None),
            ("1 2 1341101190", "malformed_record", None),
            ("9 10 1341101300 RE extra", "malformed_record", None),
            ("5 6 13411x1192 RT", "wrong_type", None),
            ("13 14 9223372036854775807 RT", "wrong_type", None),
            ("7 8 1341101200 LK", "unknown_action", "action=code:LK"),
            ("11\t12\t1341101400\tRT", None, None),
        ]
    )


@pytest.fixture(scope="module")
def dumps_lake(spark, test_root):
    """Both real dumps ingested by the ingest stage itself into fresh Delta tables."""
    settings = settings_for(test_root, "real_dumps")
    paths = {"higgs": [str(HIGGS_FILE)], "stackexchange": [str(SE_DUMP)]}
    report = ingest(spark, settings, None, paths=paths, now=NOW)
    return settings, report


@pytest.mark.realdata
def test_higgs_full_file_every_line_accounted_for(spark, dumps_lake):
    codes: collections.Counter[str] = collections.Counter()
    with gzip.open(HIGGS_FILE, "rt") as f:
        for line in f:
            if line.strip():
                codes[line.split()[-1]] += 1
    lines = sum(codes.values())
    assert lines == 563_069
    assert codes == {"RT": 354_930, "MT": 171_237, "RE": 36_902}

    settings, report = dumps_lake
    store = TableStore(spark, settings)
    (logged,) = [f for f in report.files if f["network"] == "higgs"]
    events = store.read(EVENTS).where(F.col("network") == "higgs")
    quarantine = store.read(QUARANTINE).where(F.col("network") == "higgs")
    accepted = {r.action: r["count"] for r in events.groupBy("action").count().collect()}
    # the quarantined rows keep their line, so their action code can be read back from the payload
    rejected = {
        (r.reason, r.code): r["count"]
        for r in quarantine.groupBy("reason", F.element_at(F.split(F.trim("raw_payload"), r"\s+"), -1).alias("code")).count().collect()
    }
    print(f"\nhiggs: lines={lines} log={logged} accepted_by_action={accepted} quarantined={rejected}")

    assert logged["records"] == logged["events_emitted"] == lines  # one candidate per line
    assert logged["accepted"] == sum(accepted.values()) and logged["quarantined"] == sum(rejected.values())
    assert logged["accepted"] + logged["quarantined"] == lines and logged["already_present"] == 0
    by_code = collections.Counter({"RT": accepted.get("share", 0), "MT": accepted.get("mention", 0), "RE": accepted.get("reply", 0)})
    for (_, code), n in rejected.items():
        by_code[code] += n
    assert by_code == codes
    # the dump is clean: the only rejections are users acting on themselves
    assert {reason for reason, _ in rejected} == {"self_interaction"}
    assert logged["quarantined"] == 7_588


@pytest.mark.realdata
def test_stackexchange_dump_through_the_ingest_stage(spark, dumps_lake):
    settings, report = dumps_lake
    store = TableStore(spark, settings)
    logged = {f["source_file"].rsplit("/", 1)[-1]: f for f in report.files if f["network"] == "stackexchange"}
    # every file of the dump folder is logged; the reference files (users, badges, tags ...) carry no records
    assert {name for name, f in logged.items() if f["records"]} == {"Posts.xml.gz", "Comments.xml.gz", "Votes.xml.gz"}
    assert {name: logged[name]["records"] for name in ("Posts.xml.gz", "Comments.xml.gz", "Votes.xml.gz")} == {
        "Posts.xml.gz": 1986,
        "Comments.xml.gz": 3413,
        "Votes.xml.gz": 12560,
    }
    assert all(f["events_emitted"] == f["accepted"] + f["quarantined"] for f in logged.values())
    emitted = sum(f["events_emitted"] for f in logged.values())
    accepted = sum(f["accepted"] for f in logged.values())
    events = store.read(EVENTS).where(F.col("network") == "stackexchange").count()
    quarantined = store.read(QUARANTINE).where(F.col("network") == "stackexchange").count()
    print(f"\nstackexchange through ingest(): emitted={emitted} accepted={accepted} events={events} quarantined={quarantined}")
    assert (emitted, accepted, events, quarantined) == (18_348, 15_299, 15_299, 3_049)
    # a second run over the same folder skips every file and adds nothing
    again = ingest(spark, settings, None, paths={"stackexchange": [str(SE_DUMP)]}, now=NOW)
    assert not again.files and len(again.skipped_files) == len(logged)
    assert store.read(EVENTS).where(F.col("network") == "stackexchange").count() == events


# ---------------------------------------------------------------- Stack Exchange


def _se_rows(df):
    """(file, native Id, event fields..., reason) for comparison; native Id from the raw XML row."""
    return _sorted(
        df.select(
            F.regexp_extract("source_file", r"([^/]+)$", 1),
            F.regexp_extract("raw_payload", r'<row Id="([^"]*)"', 1),
            "event_id",
            F.date_format("event_time", TIME),
            "action",
            "actor_account",
            "target_account",
            "content_id",
            "target_content_id",
            "topics",
            "text_chars",
            "parse_error",
        ).collect()
    )


def test_stackexchange_read_keeps_only_event_files(spark):
    paths = sorted(str(p) for p in SE_SAMPLE.iterdir())
    assert any(p.endswith("Users.xml") for p in paths)
    raw = stackexchange.read(spark, paths)
    per_file = {r.f: r["count"] for r in raw.groupBy(F.regexp_extract("source_file", r"([^/]+)$", 1).alias("f")).count().collect()}
    assert per_file == {"Posts.xml": 10, "Comments.xml": 4, "Votes.xml": 9}  # <row lines only, Users.xml ignored
    assert stackexchange.read(spark, [str(SE_SAMPLE / "Users.xml")]).count() == 0
    assert stackexchange.event_file_kind("/x/quantumcomputing/Posts.xml.gz") == "posts"
    assert stackexchange.event_file_kind("/x/PostLinks.xml.gz") is None


def test_stackexchange_sample_golden(spark):
    raw = stackexchange.read(spark, sorted(str(p) for p in SE_SAMPLE.iterdir()))
    cands = stackexchange.to_events(raw)
    assert cands.columns == CANDIDATE_COLUMNS
    qg, shor, grover = ["qiskit", "quantum-gate"], ["shors-algorithm"], ["grover"]
    se, anon = "stackexchange:", "stackexchange:anonymous"
    P, C, V = "Posts.xml", "Comments.xml", "Votes.xml"
    expected = [
        (P, "1", "stackexchange:post:1", "2018-03-12 17:00:45.567", "post", se + "10", None, "post:1", None, qg, 15, None),
        # accepted answer 2 has no acceptance vote: the answer's own time
        (P, "1", "stackexchange:accepted_answer:2", "2018-03-12 18:15:23.517", "accepted_answer", se + "10", se + "20", None, "post:2", qg, None, None),
        (P, "2", "stackexchange:post:2", "2018-03-12 18:15:23.517", "answer", se + "20", se + "10", "post:2", "post:1", qg, 11, None),
        (P, "3", "stackexchange:post:3", "2018-03-12 19:00:00.000", "answer", se + "10", se + "10", "post:3", "post:1", qg, 13, None),
        # question of a deleted user: no actor; its accepted answer's vote day precedes the answer -> answer time
        (P, "4", "stackexchange:post:4", "2018-03-13 08:00:00.000", "post", None, None, "post:4", None, grover, 14, None),
        (P, "4", "stackexchange:accepted_answer:5", "2018-03-13 09:00:00.000", "accepted_answer", None, se + "20", None, "post:5", grover, None, None),
        (P, "5", "stackexchange:post:5", "2018-03-13 09:00:00.000", "answer", se + "20", None, "post:5", "post:4", grover, 10, None),
        (P, "6", "stackexchange:post:6", "2018-03-14 08:00:00.000", "post", se + "30", None, "post:6", None, shor, 11, None),
        # accepted a day after the answer: the acceptance vote's day
        (P, "6", "stackexchange:accepted_answer:7", "2018-03-15 00:00:00.000", "accepted_answer", se + "30", se + "10", None, "post:7", shor, None, None),
        (P, "7", "stackexchange:post:7", "2018-03-14 10:00:00.000", "answer", se + "10", se + "30", "post:7", "post:6", shor, 21, None),
        (P, "9", None, None, None, None, None, None, None, [], None, "no_events"),  # tag wiki
        (P, "10", None, None, None, None, None, None, None, [], None, "malformed_record"),
        (P, "11", None, None, None, None, None, None, None, [], None, "wrong_type"),
        (C, "100", "stackexchange:comment:100", "2018-03-12 20:00:00.000", "comment", se + "30", se + "20", "comment:100", "post:2", qg, 12, None),
        (C, "101", "stackexchange:comment:101", "2018-03-12 21:00:00.000", "comment", se + "10", se + "10", "comment:101", "post:1", qg, 10, None),
        (C, "102", "stackexchange:comment:102", "2018-03-13 10:00:00.000", "comment", se + "30", None, "comment:102", "post:999", [], 17, None),
        (C, "103", "stackexchange:comment:103", "2018-03-14 12:00:00.000", "comment", None, se + "10", "comment:103", "post:7", shor, 12, None),
        (V, "1000", "stackexchange:vote:1000", "2018-03-12 00:00:00.000", "vote_up", anon, se + "10", None, "post:1", qg, None, None),
        (V, "1001", "stackexchange:vote:1001", "2018-03-13 00:00:00.000", "vote_down", anon, se + "20", None, "post:2", qg, None, None),
        (V, "1002", "stackexchange:vote:1002", "2018-03-13 00:00:00.000", "like", se + "30", se + "10", None, "post:1", qg, None, None),
        (V, "1003", None, None, None, None, None, None, None, [], None, "no_events"),  # acceptance: feeds accepted_answer
        (V, "1004", None, None, None, None, None, None, None, [], None, "no_events"),
        (V, "1005", None, None, None, None, None, None, None, [], None, "no_events"),  # deletion vote
        (V, "1006", None, None, None, None, None, None, None, [], None, "wrong_type"),
        (V, "1007", "stackexchange:vote:1007", "2018-03-16 00:00:00.000", "like", se + "10", se + "10", None, "post:1", qg, None, None),
        (V, "1008", "stackexchange:vote:1008", "2018-03-16 00:00:00.000", "vote_up", anon, se + "10", None, "post:7", shor, None, None),
    ]
    assert _se_rows(cands) == _sorted(expected)

    reasons = _sorted(validated(cands).select(F.regexp_extract("raw_payload", r'<row Id="([^"]*)"', 1), F.coalesce("event_id", F.lit("-")), "reason").collect())
    assert reasons == _sorted(
        [
            ("1", "stackexchange:post:1", None),
            ("1", "stackexchange:accepted_answer:2", None),
            ("2", "stackexchange:post:2", None),
            ("3", "stackexchange:post:3", "self_interaction"),
            ("4", "stackexchange:post:4", "missing_id"),
            ("4", "stackexchange:accepted_answer:5", "missing_id"),
            ("5", "stackexchange:post:5", "missing_id"),
            ("6", "stackexchange:post:6", None),
            ("6", "stackexchange:accepted_answer:7", None),
            ("7", "stackexchange:post:7", None),
            ("9", "-", "no_events"),
            ("10", "-", "malformed_record"),
            ("11", "-", "wrong_type"),
            ("100", "stackexchange:comment:100", None),
            ("101", "stackexchange:comment:101", "self_interaction"),
            ("102", "stackexchange:comment:102", "missing_id"),
            ("103", "stackexchange:comment:103", "missing_id"),
            ("1000", "stackexchange:vote:1000", None),
            ("1001", "stackexchange:vote:1001", None),
            ("1002", "stackexchange:vote:1002", None),
            ("1003", "-", "no_events"),
            ("1004", "-", "no_events"),
            ("1005", "-", "no_events"),
            ("1006", "-", "wrong_type"),
            ("1007", "stackexchange:vote:1007", "self_interaction"),
            ("1008", "stackexchange:vote:1008", None),
        ]
    )


def _row_lines(path) -> int:
    with gzip.open(path, "rt", encoding="utf-8-sig") as f:
        return sum(1 for line in f if line.lstrip().startswith("<row"))


@pytest.mark.realdata
def test_stackexchange_full_dump_every_row_accounted_for(spark):
    rows = {name: _row_lines(SE_DUMP / f"{name}.xml.gz") for name in ("Posts", "Comments", "Votes")}
    assert rows == {"Posts": 1986, "Comments": 3413, "Votes": 12560}

    # the ingest stage passes every file of the dump folder; the reference files yield nothing
    raw = stackexchange.read(spark, sorted(str(p) for p in SE_DUMP.iterdir()))
    v = validated(stackexchange.to_events(raw)).withColumn("file", F.regexp_extract("source_file", r"([^/]+)\.xml\.gz$", 1)).cache()
    try:
        counts = {(r.file, r.action, r.reason): r["count"] for r in v.groupBy("file", "action", "reason").count().collect()}
        represented = {r.file: r["n"] for r in v.groupBy("file").agg(F.count_distinct("raw_payload").alias("n")).collect()}
        records = (
            {r.file: r["n"] for r in v.where("record_first").groupBy("file").count().withColumnRenamed("count", "n").collect()}
            if "record_first" in v.columns
            else None
        )
        authors = (
            v.where(F.col("action").isin("answer", "comment") & F.col("actor_account").isNotNull())
            .agg(
                F.count_distinct(F.when(F.col("action") == "answer", F.col("actor_account"))).alias("answerers"),
                F.count_distinct(F.when(F.col("action") == "comment", F.col("actor_account"))).alias("commenters"),
                F.count_distinct("actor_account").alias("answer_or_comment"),
            )
            .first()
        )
        persons = v.where(F.col("action").isin("post", "answer", "comment") & F.col("actor_account").isNotNull()).select("actor_account").distinct().count()
    finally:
        v.unpersist()

    total = sum(counts.values())
    accepted = sum(n for (_, _, reason), n in counts.items() if reason is None)
    quarantined = sum(n for (_, _, reason), n in counts.items() if reason is not None)
    by_action, by_reason = collections.Counter(), collections.Counter()
    for (_, action, reason), n in counts.items():
        by_action[action] += n
        if reason is not None:
            by_reason[reason] += n
    print(
        f"\nstackexchange: rows={rows} candidates={total} accepted={accepted} quarantined={quarantined}\n"
        f"  by_action={dict(by_action)}\n  quarantined_by_reason={dict(by_reason)}\n"
        f"  answerers={authors.answerers} commenters={authors.commenters} answer_or_comment_authors={authors.answer_or_comment} "
        f"persons_who_posted_answered_or_commented={persons}"
    )

    # every row of every event file is represented, and no row of another file slipped in
    assert represented == rows
    if records is not None:
        assert records == rows
    assert total >= sum(rows.values())
    assert accepted + quarantined == total
    # one extra candidate per accepted answer (from its question's row): 389 questions name one
    assert total == sum(rows.values()) + by_action["accepted_answer"]
    assert by_action["accepted_answer"] == 389
    # questions and answers: one event each
    assert by_action["post"] == 612 and by_action["answer"] == 1060
    assert counts[("Comments", "comment", None)] + sum(n for (f, a, r), n in counts.items() if f == "Comments" and r) == rows["Comments"]
    # vote types: 2 -> vote_up, 3 -> vote_down, 5 -> like; the rest (acceptance, moderation, bounties) no_events
    assert (by_action["vote_up"], by_action["vote_down"], by_action["like"]) == (10103, 668, 710)
    assert sum(n for (f, a, r), n in counts.items() if f == "Votes" and a is None) == rows["Votes"] - 10103 - 668 - 710
    assert by_reason.keys() <= {"missing_id", "no_events", "self_interaction", "oversized_field"}
    # 402 people wrote a question, an answer or a comment; the 404 also counts the Community bot (-1)
    # and one user whose only posts are tag wikis, which are not events here
    assert persons == 402
    assert authors.answer_or_comment == 351
