"""The ingest stage on real files and real Delta tables: reconciliation, quarantine, idempotence, late events."""

import datetime as dt
import shutil
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from clout.identity.stage import link_accounts, update_accounts
from clout.ingest.stage import ingest
from clout.tables import ACCOUNTS, EVENTS, INGEST_LOG, QUARANTINE, TableStore
from conftest import SAMPLES, settings_for

DAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 22, 12, 0)


@pytest.fixture(scope="module")
def lake(test_root):
    settings = settings_for(test_root, "ingest_stage")
    landing = Path(settings.landing_path("twitter", DAY))
    landing.mkdir(parents=True)
    shutil.copy(SAMPLES / "twitter_v2.jsonl", landing / "part-1.jsonl")
    good = (SAMPLES / "twitter_v2.jsonl").read_text().splitlines()
    (landing / "part-2.jsonl").write_text(
        "\n".join(
            [
                good[0],  # the same tweet again, from another file: duplicate across files in one batch
                "{not json",
                '{"data":{"id":"2001","author_id":"21","created_at":"2026-11-21T25:99:00Z","text":"x"}}',
                '{"data":{"id":"2002","author_id":"22","created_at":"2099-01-01T00:00:00Z","text":"future"}}',
                # a late event: tweeted on the 18th, delivered in the 20th's drop
                '{"data":{"id":"2003","author_id":"23","created_at":"2026-11-18T10:00:00Z","text":"late"}}',
                '{"favorite_events":[{"id":"f9","created_at":"2026-11-20T09:00:00Z","favorited_status":{"id":"1001","user":{"id":"11"}},"user":{"id":"11"}}]}',
            ]
        )
        + "\n"
    )
    other = Path(settings.landing_path("myspace", DAY))
    other.mkdir(parents=True)
    (other / "dump.jsonl").write_text('{"id": 1}\n{"id": 2}\n')
    ident = Path(settings.landing_path("identity", DAY))
    ident.mkdir(parents=True)
    (ident / "links.jsonl").write_text(
        '{"person_id":"alice","accounts":[{"network":"twitter","id":"11"},{"network":"reddit","id":"t2_a"}]}\n'
        '{"person_id":"","accounts":[{"network":"twitter","id":"12"}]}\n'
        "garbage\n"
    )
    return settings


@pytest.fixture(scope="module")
def first_run(spark, lake):
    return ingest(spark, lake, DAY, now=NOW)


def test_every_record_is_accounted_for_per_file(first_run):
    assert first_run.reconciled
    by_name = {Path(f["source_file"]).name: f for f in first_run.files}
    assert set(by_name) == {"part-1.jsonl", "part-2.jsonl", "dump.jsonl"}
    p1, p2, unknown = by_name["part-1.jsonl"], by_name["part-2.jsonl"], by_name["dump.jsonl"]
    assert (p1["records"], p1["events_emitted"], p1["accepted"], p1["quarantined"]) == (5, 6, 6, 0)
    assert (p2["records"], p2["events_emitted"], p2["accepted"], p2["quarantined"]) == (6, 7, 1, 6)
    assert (unknown["records"], unknown["accepted"], unknown["quarantined"]) == (2, 0, 2)


def test_quarantine_keeps_reason_source_and_payload(spark, lake, first_run):
    q = TableStore(spark, lake).read(QUARANTINE)
    got = sorted((r.reason, Path(r.source_file).name) for r in q.collect())
    assert got == sorted(
        [
            ("duplicate_in_batch", "part-2.jsonl"),  # post 1001 seen in part-1 first
            ("duplicate_in_batch", "part-2.jsonl"),  # its mention too
            ("malformed_record", "part-2.jsonl"),
            ("wrong_type", "part-2.jsonl"),
            ("future_timestamp", "part-2.jsonl"),
            ("self_interaction", "part-2.jsonl"),
            ("unknown_network", "dump.jsonl"),
            ("unknown_network", "dump.jsonl"),
        ]
    )
    assert q.where(F.col("reason") == "malformed_record").first().raw_payload == "{not json"
    assert first_run.reasons["unknown_network"] == 2


def test_late_event_lands_in_its_own_day(spark, lake, first_run):
    events = TableStore(spark, lake).read(EVENTS)
    late = events.where(F.col("event_id") == "twitter:2003:post").first()
    assert late.event_date == dt.date(2026, 11, 18)
    assert dt.date(2026, 11, 18) in first_run.touched_dates


def test_rerun_adds_nothing(spark, lake, first_run):
    store = TableStore(spark, lake)
    before = (store.read(EVENTS).count(), store.read(QUARANTINE).count())
    again = ingest(spark, lake, DAY, now=NOW)
    assert again.files == [] and len(again.skipped_files) == 3
    forced = ingest(spark, lake, DAY, force=True, now=NOW)
    assert forced.reconciled and forced.total("accepted") == 0
    assert forced.total("already_present") == 7
    assert (store.read(EVENTS).count(), store.read(QUARANTINE).count()) == before
    assert store.read(INGEST_LOG).count() == 3


def test_same_event_in_a_later_file_is_a_duplicate_across_files(spark, lake, first_run):
    later = Path(lake.landing_path("twitter", DAY + dt.timedelta(days=1)))
    later.mkdir(parents=True, exist_ok=True)
    (later / "redelivered.jsonl").write_text((SAMPLES / "twitter_v2.jsonl").read_text().splitlines()[2] + "\n")
    report = ingest(spark, lake, DAY + dt.timedelta(days=1), now=NOW)
    assert report.reasons == {"duplicate_across_files": 1}
    assert report.total("accepted") == 0


def test_new_events_on_a_day_already_stored_are_counted_as_accepted(spark, lake, first_run):
    # the events lookup reads the day already stored; the counts, taken after the append, once compared against
    # the table with this run's own rows in it and logged them as already present (0 accepted)
    store = TableStore(spark, lake)
    later = Path(lake.landing_path("twitter", DAY + dt.timedelta(days=2)))
    later.mkdir(parents=True, exist_ok=True)
    (later / "more.jsonl").write_text(
        '{"data":{"id":"3001","author_id":"31","created_at":"2026-11-20T11:00:00Z","text":"same day as the first run"}}\n'
        '{"data":{"id":"3002","author_id":"32","created_at":"2026-11-20T11:05:00Z","text":"and another"}}\n'
    )
    report = ingest(spark, lake, DAY + dt.timedelta(days=2), now=NOW)
    stored = store.read(EVENTS).where(F.col("run_id") == report.run_id).count()
    assert (report.total("accepted"), report.total("already_present"), stored) == (2, 0, 2)
    logged = store.read(INGEST_LOG).where(F.col("run_id") == report.run_id).first()
    assert (logged.accepted, logged.already_present) == (2, 0)


def test_identity_links_map_accounts_to_persons(spark, lake, first_run):
    counts = link_accounts(spark, lake, DAY)
    assert counts == {"link_rows": 4, "links_accepted": 2, "links_quarantined": 2}
    update_accounts(spark, lake, [DAY])
    accounts = {r.account_id: r.person_id for r in TableStore(spark, lake).read(ACCOUNTS).collect()}
    assert accounts["twitter:11"] == "person:alice"
    assert accounts["twitter:12"] == "twitter:12"  # its link record had no person id: quarantined, unlinked
    reasons = {r.reason for r in TableStore(spark, lake).read(QUARANTINE).where(F.col("detail") == "identity link record").collect()}
    assert reasons == {"malformed_record", "missing_id"}


def test_forget_erases_a_person_everywhere_including_history(spark, lake, first_run):
    """Runs last in this module: it deletes from the lake. alice = twitter:11 + reddit:t2_a (linked above)."""
    from clout.aggregate.stage import build_day
    from clout.config import load_algorithm
    from clout.erasure import forget, person_accounts
    from clout.tables import DAILY_INTERACTIONS, ERASURE_LOG, IDENTITY_LINKS

    store = TableStore(spark, lake)
    build_day(spark, lake, load_algorithm(lake), DAY)
    person, accounts = "person:alice", ["reddit:t2_a", "twitter:11"]
    assert person_accounts(store, person) == accounts
    mentions = F.col("actor_account").isin(*accounts) | F.col("target_account").isin(*accounts)
    held = store.read(EVENTS).where(mentions).count()
    assert held > 0
    # her self-like was quarantined: the raw line holds her native id
    assert store.read(QUARANTINE).where((F.col("network") == "twitter") & F.col("raw_payload").contains('"id":"11"')).count() > 0
    before = {spec.name: store.read(spec).count() for spec in (EVENTS, QUARANTINE, ACCOUNTS, IDENTITY_LINKS)}
    old_files = set(store.read(EVENTS, version=store.version(EVENTS)).inputFiles())

    removed = forget(spark, lake, person, request_id="req-test-1", retain_hours=0)

    assert removed["events"] == held and removed["accounts"] == 1 and removed["identity_links"] == 2
    assert removed["quarantine"] >= 1 and removed["daily_interactions"] >= 1
    assert store.read(EVENTS).where(mentions).count() == 0
    assert store.read(QUARANTINE).where((F.col("network") == "twitter") & F.col("raw_payload").contains('"id":"11"')).count() == 0
    assert store.read(ACCOUNTS).where(F.col("account_id").isin(*accounts)).count() == 0
    assert store.read(IDENTITY_LINKS).where(F.col("person_id") == person).count() == 0
    assert store.read(DAILY_INTERACTIONS).where((F.col("actor_person") == person) | (F.col("target_person") == person)).count() == 0
    # nobody else lost a row
    after = {spec.name: store.read(spec).count() for spec in (EVENTS, QUARANTINE, ACCOUNTS, IDENTITY_LINKS)}
    assert {k: before[k] - after[k] for k in before} == {k: removed[k] for k in before}
    # history: the files of the version before the erasure that held her are vacuumed away
    gone = old_files - set(store.read(EVENTS).inputFiles())
    assert gone and not any(Path(f.removeprefix("file:")).exists() for f in gone)
    # the record of the erasure names tables and counts, never the person or an account
    logged = store.read(ERASURE_LOG).collect()
    assert {r.table_name: r.rows_deleted for r in logged} == removed
    text = " ".join(str(v) for r in logged for v in r)
    assert "alice" not in text and "t2_a" not in text and "twitter:11" not in text
    assert forget(spark, lake, person, retain_hours=0) == {}  # a second request finds nothing left


def test_a_forgotten_person_stays_out_when_the_files_are_ingested_again(spark, lake, first_run):
    """After the erasure above: alice's ids are on the suppression list, hashed, and ingest keeps her out."""
    from clout import suppression
    from clout.erasure import person_accounts
    from clout.tables import IDENTITY_LINKS, SUPPRESSIONS

    store = TableStore(spark, lake)
    ids = ["person:alice", "reddit:t2_a", "twitter:11"]
    listed = store.read(SUPPRESSIONS).collect()
    assert sorted((r.kind, r.source) for r in listed) == [("account", "forget"), ("account", "forget"), ("person", "forget")]
    assert all(suppression.is_listed(store, i) for i in ids) and not suppression.is_listed(store, "twitter:12")
    text = " ".join(str(v) for r in listed for v in r)
    assert not any(i in text for i in [*ids, "alice", "t2_a"])  # no id in clear
    mentions = F.col("actor_account").isin(*ids) | F.col("target_account").isin(*ids)
    assert store.read(EVENTS).where(mentions).count() == 0

    again = ingest(spark, lake, DAY, now=NOW, force=True)  # the same landing files, read again
    link_accounts(spark, lake, DAY)
    update_accounts(spark, lake, [DAY])

    assert again.reconciled and again.total("accepted") == 0  # everyone else's rows are already present
    opted_out = again.reasons["opted_out"]
    assert opted_out > 0
    assert store.read(EVENTS).where(mentions).count() == 0
    assert person_accounts(store, "person:alice") == []
    assert store.read(IDENTITY_LINKS).where(F.col("account_id").isin(*ids)).count() == 0
    # quarantined with nothing that names her: no payload, no event id, no detail
    kept = store.read(QUARANTINE).where(F.col("reason") == "opted_out").collect()
    assert len(kept) == opted_out + 2  # + the two accounts of her identity link record
    assert all(r.raw_payload is None and r.event_id is None for r in kept)
    assert all(r.detail is None for r in kept if not r.run_id.startswith("identity-"))

    # opting back in: the same files bring her events back, exactly the rows that were kept out
    assert suppression.remove(store, ids) == 3 and not store.read(SUPPRESSIONS).count()
    back = ingest(spark, lake, DAY, now=NOW, force=True)
    assert back.reconciled and "opted_out" not in back.reasons
    assert 0 < back.total("accepted") == store.read(EVENTS).where(mentions).count() <= opted_out
