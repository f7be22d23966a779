"""The ``clout`` command line: one sub-command per job, plus sql and demo."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shlex
import sys
from pathlib import Path

from clout import __file__ as clout_file
from clout import __version__
from clout.config import ConfigError, load_settings
from clout.errors import InputError
from clout.jvm import JarsMissing
from clout.sqltext import identifier

log = logging.getLogger("clout")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", default="local", help="conf/<env>.yaml merged over conf/base.yaml (default: local)")
    common.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a conf key, e.g. --set spark.conf.spark.sql.shuffle.partitions=64",
    )
    common.add_argument("-v", "--verbose", action="store_true")
    parser = argparse.ArgumentParser(prog="clout", description="Clout: open, explainable influence scores on Spark + Delta.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add = sub.add_parser
    sub.add_parser = lambda *a, **k: _add(*a, parents=[common], **k)  # every command takes --env/--set/-v

    p = sub.add_parser("daily", help="run the whole daily pipeline for a date")
    p.add_argument("--date", type=_date, required=True)
    p.add_argument("--algorithm", default=None, help="algorithm version (default: conf algorithm.version)")

    p = sub.add_parser("backfill", help="recompute the snapshots of a date range under one algorithm version (resumable)")
    p.add_argument("--from", dest="start", type=_date, required=True, help="first snapshot date")
    p.add_argument("--to", dest="end", type=_date, required=True, help="last snapshot date (inclusive)")
    p.add_argument("--algorithm", required=True, help="the version to compute, e.g. v2 (conf/algorithms/v2.yaml)")
    p.add_argument("--force", action="store_true", help="recompute days already published for that version")

    p = sub.add_parser("compare", help="compare two versions' snapshots of a day: rank correlations, top-k overlap, moves, movers, calibration")
    p.add_argument("--date", type=_date, required=True)
    p.add_argument("--a", required=True, help="the reference version, e.g. v1")
    p.add_argument("--b", required=True, help="the candidate version, e.g. v2")
    p.add_argument("--top", type=int, default=100, help="k of the top-k overlap (default 100)")
    p.add_argument("--movers", type=int, default=10, help="how many of the biggest movers to show (default 10)")

    p = sub.add_parser("promote", help="make a version the one behind scores_current (recorded in the promotions table)")
    p.add_argument("--algorithm", required=True)
    p.add_argument("--from", dest="start", type=_date, default=None, help="effective from this snapshot date (default: the version's first snapshot)")
    p.add_argument("--reason", required=True, help="why (kept in the promotions table)")
    p.add_argument("--by", default=None, help="who promotes (default: the OS user)")

    p = sub.add_parser("history", help="a person's published scores over time and versions (with the 1/7/30-day deltas), and the promotions")
    p.add_argument("person", help="person id, e.g. person:p0 or twitter:12345")
    p.add_argument("--algorithm", default=None, help="only this version")
    p.add_argument("--limit", type=int, default=200)

    p = sub.add_parser("synth", help="generate one day of synthetic landing files for every renderable network")
    p.add_argument("--date", type=_date, required=True)
    p.add_argument("--events", type=int, required=True)
    p.add_argument("--persons", type=int, default=None)
    p.add_argument("--networks", default=None, help="comma-separated subset of networks")
    p.add_argument("--seed", type=int, default=7)

    p = sub.add_parser("ingest", help="ingest one day's landing files (or explicit files) into events + quarantine")
    p.add_argument("--date", type=_date, default=None)
    p.add_argument("--network", default=None, help="with --path: the network the files belong to")
    p.add_argument("--path", action="append", default=[], help="file or folder to ingest (repeatable; needs --network)")
    p.add_argument("--force", action="store_true", help="re-read files already in ingest_log (adds nothing already stored)")

    p = sub.add_parser(
        "bots",
        help="bot detection: train the classifiers, score a day's accounts into account_risk, evaluate on labelled profiles, "
        "or measure the behaviour model on bot strategies it was not trained on",
    )
    p.add_argument(
        "action",
        choices=("train", "risk", "eval", "profiles", "strategies"),
        help="train: fit, evaluate and register the models; risk: score the accounts of --date; "
        "eval: measure the registered profile model on labelled profile files; "
        "profiles: load --network's profile exports (--profiles FILE) into account_profiles, for the daily risk; "
        "strategies: train the behaviour model without each generated bot strategy in turn and measure it on that strategy's days",
    )
    p.add_argument("--network", default=None, help="profiles: the network whose accounts the --profiles files describe (e.g. twitter)")
    p.add_argument("--date", type=_date, default=None, help="risk: the day whose window is scored")
    p.add_argument(
        "--profiles",
        action="append",
        default=[],
        metavar="FILE",
        help="eval, profiles: a Twitter v1 profile export (.csv or .csv.gz, columns matched by header name); repeat for each file",
    )
    p.add_argument("--label", action="append", type=int, choices=(0, 1), default=[], help="eval: the label of the --profiles before it (1: bots)")

    p = sub.add_parser(
        "sql",
        help="run Spark SQL over the project's tables and views (database from conf) from the persistent catalog; "
        "time travel: SELECT ... FROM scores VERSION AS OF 3 / TIMESTAMP AS OF '2026-11-20 06:00:00'; "
        "while `clout serve-sql` runs on this catalog, the query goes to it (seconds instead of most of a minute)",
    )
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=100)

    p = sub.add_parser(
        "catalog",
        help="register the tables and views in the persistent catalog (Hive metastore: embedded Derby under the lakehouse, "
        "or catalog.metastore_uri), re-pointing any at a stale location; jobs run it as they end when their tables changed",
    )
    p.add_argument("--spark-sql", action="store_true", help="also print the spark-sql command line that opens this catalog")

    sub.add_parser(
        "serve-sql",
        help="serve the catalog to JDBC/ODBC clients (Spark's Thrift server) on catalog.jdbc_host:jdbc_port until SIGINT/SIGTERM, "
        "e.g. beeline -u jdbc:hive2://localhost:10000/clout",
    )

    sub.add_parser("tables", help="list the tables, their location and Delta version")

    p = sub.add_parser("forget", help="erase a person from every table, history included (DELETE, then VACUUM)")
    p.add_argument("person", help="person id (e.g. person:p3), or an unlinked account id (e.g. twitter:11)")
    p.add_argument("--request-id", default=None, help="the erasure request's id, kept in erasure_log (default: generated)")
    p.add_argument("--retain-hours", type=float, default=None, help="VACUUM retention for this erasure (default: each table's retention policy)")

    p = sub.add_parser(
        "optout",
        help="keep accounts or persons out of every later ingest and identity link (hashed in `suppressions`); "
        "their rows already stored stay until `clout forget`",
    )
    p.add_argument("ids", nargs="+", help="account ids (twitter:11) or person ids (person:p3; the person's known accounts are listed too)")
    p.add_argument("--request-id", default=None, help="the request's id, kept with the keys (default: generated)")

    p = sub.add_parser("optin", help="take accounts or persons off the suppression list (their landing files come back with ingest --force)")
    p.add_argument("ids", nargs="+", help="account ids or person ids (a person id also takes the person's known accounts off)")

    p = sub.add_parser("explain", help="why a person's score is what it is: parts, networks, topics, top engagers, bots, change")
    p.add_argument("person", help="person id (e.g. person:p3), or an unlinked account id (e.g. twitter:11)")
    p.add_argument("--date", type=_date, default=None, help="snapshot date (default: the latest snapshot that holds the person)")
    p.add_argument("--algorithm", default=None, help="algorithm version (default: conf algorithm.version)")

    p = sub.add_parser(
        "search",
        help="influencer search for brands: persons ranked by their score on a topic (topic_scores), with their global score, "
        "the networks the topic score was earned on, their last active day and the explanation line; "
        "e.g. clout search --topic physics --network twitter --min-score 50 --active-days 7 --limit 20",
        description="Persons ranked by their 1-100 score on one topic (calibrated within the topic), on the version published as current "
        '(scores_current) for the snapshot date. The same rows in SQL: the topic_influencers view (clout sql "SELECT * FROM '
        "topic_influencers WHERE snapshot_date = DATE'2026-11-20' AND topic = 'physics' ORDER BY topic_rank\").",
    )
    p.add_argument("--topic", required=True, help="a topic as ingested: hashtag, subreddit, tag or category (lower-case, without '#')")
    p.add_argument("--network", default=None, help="only persons whose topic score was earned (at least partly) on this network")
    p.add_argument("--min-score", type=int, default=None, help="only topic scores at least this (1..100)")
    p.add_argument("--active-days", type=int, default=None, help="only persons who posted or reacted on one of the snapshot's last K days")
    p.add_argument("--limit", type=int, default=20, help="at most this many persons (default 20)")
    p.add_argument("--date", type=_date, default=None, help="snapshot date (default: the latest with topic scores)")

    p = sub.add_parser(
        "community",
        help="score the members of one community (a subreddit, a Discourse forum or category, a Facebook group, a hashtag's crowd) only from engagement "
        "inside it, into community_scores; e.g. clout community --network reddit --community python --date 2026-11-20",
        description="Members are the persons who reacted or were reacted to inside the community in the snapshot's window (90 days in v1); each "
        "is scored 1-100 within the community from the reactions received there only (decayed, bot- and ring-discounted like the "
        "score), weighted by the reactors' PageRank on the community's own engagement graph. A member nobody engaged with inside "
        "the community gets the floor, however high their global score. The community is a label of the network's actions as "
        "ingested: a subreddit on reddit, a category slug or tag on discourse, a group or page id on facebook (clout community "
        "--network facebook --community 1234 for the group whose posts are 1234_<post id>; stored as feed:1234), a hashtag elsewhere; "
        "--community _all takes every reaction of the network (a discourse network is one forum). Needs the day's published snapshot (clout daily). The rows "
        "replace the community's earlier ones for that snapshot; in SQL: clout sql \"SELECT * FROM community_scores WHERE "
        "network = 'reddit' AND community = 'python' ORDER BY score DESC\".",
    )
    p.add_argument("--network", required=True, help="a configured network, e.g. reddit, discourse, facebook")
    p.add_argument(
        "--community",
        required=True,
        help="the community's label as ingested: subreddit (r/ optional), category slug, tag, Facebook group or page id, or hashtag; _all: the whole network",
    )
    p.add_argument("--date", type=_date, required=True, help="snapshot date (its published snapshot: window, bot risk and rings)")
    p.add_argument("--algorithm", default=None, help="algorithm version (default: the version published as current for the date)")
    p.add_argument("--limit", type=int, default=20, help="members printed, best first (default 20; every member is written)")

    p = sub.add_parser("validate", help="measure the score's validity on a real dump beside simple baselines (MLflow experiment clout-validation)")
    p.add_argument("dataset", choices=("higgs", "stackexchange"), help="higgs: 1-4 July predicts 5-7 July; stackexchange: score vs Reputation")
    p.add_argument("--path", required=True, help="higgs: higgs-activity_time.txt.gz; stackexchange: the dump folder (with Users.xml.gz)")
    p.add_argument("--workdir", default=None, help="scratch lakehouse folder, kept afterwards (default: a temporary folder, removed)")
    p.add_argument("--algorithm", default=None, help="algorithm version (default: conf algorithm.version)")

    p = sub.add_parser("demo", help="generate a demo day, run the daily pipeline, print the top 10")
    p.add_argument("--date", type=_date, default=dt.date(2026, 11, 20))
    p.add_argument("--events", type=int, default=1_200_000)
    return parser


def _session(settings, suffix: str):
    from clout.session import build_session

    return build_session(settings, suffix)


def cmd_daily(args, settings) -> int:
    from clout.pipeline import run_daily

    spark = _session(settings, "daily")
    result = run_daily(spark, settings, args.date, args.algorithm)
    for gate in result.gates:
        print(gate.describe())
    print(f"daily {args.date} ({result.algorithm_version}) done; MLflow run {result.run_id}")
    for key in ("rows_in", "rows_accepted", "rows_quarantined", "persons_scored", "score_mean", "score_p95"):
        if key in result.metrics:
            print(f"  {key}: {result.metrics[key]}")
    return 0


def cmd_backfill(args, settings) -> int:
    from clout.versions.backfill import run_backfill

    spark = _session(settings, "backfill")
    report = run_backfill(spark, settings, args.start, args.end, args.algorithm, force=args.force)
    print(
        f"backfill {report.algorithm_version} {args.start}..{args.end} done: {len(report.done)} snapshot(s) computed, "
        f"{len(report.plan.skipped)} already published, {len(report.plan.empty)} with no events in their window; MLflow run {report.run_id}"
    )
    return 0


def cmd_compare(args, settings) -> int:
    from clout.versions.compare import compare_versions

    spark = _session(settings, "compare")
    print(compare_versions(spark, settings, args.date, args.a, args.b, top_k=args.top, movers=args.movers).text())
    return 0


def cmd_promote(args, settings) -> int:
    from clout.tables import TableStore
    from clout.versions.promotions import promote

    spark = _session(settings, "promote")
    done = promote(TableStore(spark, settings), args.algorithm, args.start, args.reason, by=args.by)
    print(
        f"promoted {done.algorithm_version} from {done.effective_from} (was {done.previous_version}) by {done.promoted_by} "
        f"at {done.promoted_at:%Y-%m-%d %H:%M:%S} UTC: {done.reason}"
    )
    return 0


def cmd_history(args, settings) -> int:
    from clout.tables import TableStore
    from clout.versions.promotions import person_history, promotions

    if args.limit < 1:
        raise InputError("--limit must be at least 1")
    store = TableStore(_session(settings, "history"), settings)
    rows = person_history(store, args.person, args.algorithm, args.limit)
    if not rows:
        print(f"{args.person}: no published score{f' under {args.algorithm}' if args.algorithm else ''}")
        return 1
    print(f"{args.person}: {len(rows)} published score(s), newest first (* = the version published as current for that date)")
    print("  date        version  score   Δ1d   Δ7d  Δ30d")
    for r in rows:
        deltas = "".join(f"{d:>+6d}" if d is not None else f"{'-':>6}" for d in r.deltas)
        flags = f"{' suppressed' if r.suppressed else ''}{' carried' if r.carried_forward else ''}{'  *' if r.published_as_current else ''}"
        print(f"  {r.snapshot_date}  {r.algorithm_version:<7} {r.score:>5}{deltas}{flags}")
    recorded = promotions(store, limit=5)
    for p in recorded:
        print(f"  promotion: {p.algorithm_version} from {p.effective_from} by {p.promoted_by} at {p.promoted_at:%Y-%m-%d %H:%M} UTC: {p.reason}")
    return 0


def cmd_synth(args, settings) -> int:
    from clout.synth.generator import SynthSpec, generate

    spark = _session(settings, "synth")
    networks = tuple(args.networks.split(",")) if args.networks else None
    meta = generate(spark, settings, SynthSpec(day=args.date, events=args.events, persons=args.persons, seed=args.seed, networks=networks))
    print(f"synth {args.date}: {args.events} events for {meta['n_persons']} persons on {', '.join(meta['networks'])}")
    for name, path in meta["landing"].items():
        print(f"  {name}: {path}")
    return 0


def cmd_ingest(args, settings) -> int:
    from clout.pipeline import run_ingest

    if args.path and not args.network:
        raise InputError("ingest: --path needs --network")
    if not args.path and not args.date:
        raise InputError("ingest: give --date or --network with --path")
    spark = _session(settings, "ingest")
    report, gates, problems = run_ingest(spark, settings, args.date, paths={args.network: args.path} if args.path else None, force=args.force)
    print(f"ingest {report.run_id}: {report.summary()}  (MLflow run {report.mlflow_run_id})")
    for reason, n in sorted(report.reasons.items()):
        print(f"  quarantined {reason}: {n}")
    for gate in gates:
        print(f"  {gate.describe()}")
    for problem in problems:
        print(f"ingest: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_bots(args, settings) -> int:
    if args.action == "risk" and not args.date:
        raise InputError("bots risk: --date is required")
    if args.action == "eval" and (not args.profiles or len(args.profiles) != len(args.label)):
        raise InputError("bots eval: give each --profiles FILE its --label 0|1 (1: bots), e.g. --profiles bots.csv --label 1 --profiles people.csv --label 0")
    if args.action == "profiles" and (not args.profiles or not args.network):
        raise InputError("bots profiles: give --network NETWORK and at least one --profiles FILE, e.g. --network twitter --profiles users.csv.gz")
    spark = _session(settings, f"bots-{args.action}")
    if args.action == "profiles":
        from clout.bots.profiles import load_profiles

        for path in args.profiles:
            counts = load_profiles(spark, settings, args.network, path)
            detail = ", ".join(f"{k.removeprefix('quarantined_')} {v:,}" for k, v in counts.items() if k.startswith("quarantined_"))
            summary = f"{counts['rows']:,} rows, {counts['loaded']:,} loaded, {counts['quarantined']:,} quarantined"
            print(f"bots profiles {path}: {summary}" + (f" ({detail})" if detail else ""))
        return 0
    if args.action == "risk":
        from clout.bots.stage import score_accounts

        counts = score_accounts(spark, settings, args.date)
        print(f"bots risk {args.date}: {counts['accounts_risky']:,} of {counts['accounts_scored']:,} accounts risky")
        for key, n in sorted(counts.items()):
            if key.startswith("risky_"):
                print(f"  {key.removeprefix('risky_')}: {n:,}")
        return 0
    if args.action == "eval":
        from clout.bots.evaluation import LabelledFile, evaluate_profiles

        report = evaluate_profiles(spark, settings, [LabelledFile(p, label) for p, label in zip(args.profiles, args.label, strict=True)])
        print(report.table())
        return 0
    if args.action == "strategies":
        from clout.bots.training import held_out_strategies

        print(held_out_strategies(spark, settings).table())
        return 0
    from clout.bots.training import train

    report = train(spark, settings)
    print(f"bots train: MLflow run {report.run_id}; profile rows rejected: {report.rejected or 'none'}")
    for m in report.models.values():
        state = f"@{settings.bots.registry.alias}" if m.promoted else "not promoted"
        print(f"  {m.kind}: {m.name} v{m.version} ({state}); rows {m.rows}")
        print("    held-out " + "  ".join(f"{k} {v:.4f}" for k, v in m.heldout.items()))
        print(f"    {settings.bots.classifier.folds}-fold CV " + "  ".join(f"{k} {v:.4f}" for k, v in m.cv.items() if k.endswith("_mean")))
    return 0


def cmd_sql(args, settings) -> int:
    from clout.catalog import print_table, query_server, query_session, serving_url

    url = serving_url(settings)
    if url:  # a running serve-sql answers in seconds; a new session takes most of a minute to start and plan
        answer = query_server(url, args.query, args.limit)
        if isinstance(answer, str):
            print(f"clout sql: {answer}", file=sys.stderr)
            return 1
        print(f"clout sql: answered by clout serve-sql at {url}", file=sys.stderr)
        print_table(*answer)
        return 0
    spark = query_session(settings)
    spark.sql(f"USE {identifier(settings.storage.database, 'storage.database')}")
    spark.sql(args.query).show(args.limit, truncate=False)
    return 0


def cmd_catalog(args, settings) -> int:
    from clout.catalog import EX_TEMPFAIL, MetastoreBusy, open_session, spark_sql_command, sync

    try:
        spark = open_session(settings, "catalog", settings.catalog.register_wait_seconds)
    except MetastoreBusy as busy:
        print(f"clout catalog: {busy} (waited {settings.catalog.register_wait_seconds:.0f} s); run it again once that process ends", file=sys.stderr)
        return EX_TEMPFAIL
    registered = sync(spark, settings, force=True)
    where = settings.metastore_path() or settings.catalog.metastore_uri
    print(f"catalog {where}: {len(registered)} tables and views registered")
    for name in registered:
        print(f"  {name}")
    if args.spark_sql:
        print("spark-sql on this catalog (one process at a time on an embedded metastore):")
        print("  " + " ".join(shlex.quote(part) for part in spark_sql_command(settings)))
    return 0


def cmd_serve_sql(args, settings) -> int:
    from clout.catalog import EX_TEMPFAIL, MetastoreBusy, serve

    try:
        serve(settings)
    except MetastoreBusy as busy:
        print(f"clout serve-sql: {busy}", file=sys.stderr)
        return EX_TEMPFAIL
    return 0


def cmd_tables(args, settings) -> int:
    from clout.tables import ALL_TABLES, TableStore

    spark = _session(settings, "tables")
    store = TableStore(spark, settings)
    for spec in ALL_TABLES:
        version = store.version(spec)
        print(f"{settings.storage.database}.{spec.name:<20} v{version if version is not None else '-':<4} {store.path(spec)}  {spec.description}")
    return 0


def cmd_forget(args, settings) -> int:
    from clout.erasure import forget

    spark = _session(settings, "forget")
    removed = forget(spark, settings, args.person, request_id=args.request_id, retain_hours=args.retain_hours)
    print(f"forget: rows removed per table: {removed or 'none (nothing held the person)'}")
    return 0


def _listed_ids(args, settings, command: str) -> tuple[object, list[str]] | None:
    """The ids named, each checked, with the known accounts of the persons among them; None after an error message."""
    from clout.erasure import person_accounts
    from clout.suppression import invalid_id
    from clout.tables import TableStore

    for named in args.ids:
        problem = invalid_id(named, list(settings.networks))
        if problem:
            print(f"{command}: {problem}", file=sys.stderr)
            return None
    spark = _session(settings, command)
    store = TableStore(spark, settings)
    ids = sorted({x for named in args.ids for x in [named, *person_accounts(store, named)]})
    return store, ids


def cmd_optout(args, settings) -> int:
    import uuid

    from clout.suppression import add

    found = _listed_ids(args, settings, "optout")
    if found is None:
        return 2
    store, ids = found
    added = add(store, ids, "optout", args.request_id or f"optout-{uuid.uuid4().hex}")
    print(f"optout: {added} of {len(ids)} ids added to the suppression list ({len(ids) - added} were on it); rows already stored stay until clout forget")
    return 0


def cmd_optin(args, settings) -> int:
    from clout.suppression import remove

    found = _listed_ids(args, settings, "optin")
    if found is None:
        return 2
    store, ids = found
    removed = remove(store, ids)
    print(f"optin: {removed} of {len(ids)} ids taken off the suppression list; ingest --force brings their landing files back")
    return 0


def cmd_explain(args, settings) -> int:
    """Exit 0 with the explanation, or with "not scored" for a known person; 1 for an unknown person; 2 for a malformed request."""
    from clout.explain.show import explain_person, invalid_request

    problem = invalid_request(args.person, args.algorithm)
    if problem:
        print(f"explain: {problem}", file=sys.stderr)
        return 2
    spark = _session(settings, "explain")
    answer = explain_person(spark, settings, args.person, args.date, args.algorithm)
    print(answer.text)
    return answer.exit_code


def cmd_demo(args, settings) -> int:
    from pyspark.sql import functions as F

    from clout.pipeline import run_daily
    from clout.synth.generator import SynthSpec, generate
    from clout.tables import EVENTS, QUARANTINE, TableStore

    spark = _session(settings, "demo")
    meta = generate(spark, settings, SynthSpec(day=args.date, events=args.events))
    print(f"demo: generated {args.events:,} events for {meta['n_persons']:,} persons on {', '.join(meta['networks'])}")
    store = TableStore(spark, settings)
    try:
        result = run_daily(spark, settings, args.date)
    finally:
        if store.exists(EVENTS):
            day_events = store.read(EVENTS).where(F.col("event_date") == F.lit(args.date)).count()
            quarantined = store.read(QUARANTINE).count()
            print(f"demo: events for {args.date}: {day_events:,}; quarantine rows: {quarantined:,}")
        print(f"demo: Delta tables under {settings.path(settings.storage.root)}/{settings.storage.database}")
        print(f"demo: MLflow store {settings.tracking_uri()}  (mlflow ui --backend-store-uri {settings.tracking_uri()})")
    print_top(store, args.date, result.algorithm_version, result.metrics, 10)
    return 0


def print_top(store, day, algorithm_version: str, metrics: dict, n: int) -> None:
    """The published top ``n`` of a snapshot with their networks and one-line explanations."""
    from pyspark.sql import functions as F

    from clout.score.stage import snapshot_rows
    from clout.tables import SCORE_EXPLANATIONS, SCORES

    this = snapshot_rows(day, algorithm_version)
    top = (
        store.read(SCORES).where(this).join(store.read(SCORE_EXPLANATIONS).where(this).select("person_id", "summary"), on="person_id", how="left")
        .orderBy(F.desc("score"), F.desc("raw_score"), "person_id").limit(n).collect()
    )  # fmt: skip
    print(
        f"top {n} of {int(metrics.get('persons_scored', 0)):,} persons scored on {day} ({algorithm_version}); "
        f"mean {metrics.get('score_mean', 0):.1f}, p95 {metrics.get('score_p95', 0):.0f}; "
        f"{int(metrics.get('persons_unscored', 0)):,} active persons unscored (nobody reacted to them in the window)"
    )
    for rank, row in enumerate(top, 1):
        print(f"{rank:>3}. {row.person_id:<28} {row.score:>3}  {', '.join(row.networks)}")
        print(f"     {row.summary or ''}")


def cmd_search(args, settings) -> int:
    """Exit 0 with the table (possibly empty: nobody matched), 2 for a malformed request."""
    from clout.catalog import print_table
    from clout.search import LEFT_ALIGNED, SearchRequest, search, table
    from clout.tables import TableStore

    request = SearchRequest(args.topic, args.network, args.min_score, args.active_days, args.limit, args.date)
    problem = request.problem(list(settings.networks))
    if problem:
        print(f"search: {problem}", file=sys.stderr)
        return 2
    result = search(TableStore(_session(settings, "search"), settings), request)
    if result.day is None:
        print("search: no topic scores yet (a daily run computes them)", file=sys.stderr)
        return 0
    print(f"topic {request.topic!r} on {result.day} ({result.algorithm_version}): {len(result.rows)} person(s)")
    print_table(*table(result), more=False, left=LEFT_ALIGNED)
    return 0


def cmd_community(args, settings) -> int:
    """Exit 0 with the community's best members; 2 for a malformed request, an unknown community or a day with no snapshot."""
    from clout.catalog import print_table
    from clout.config import load_algorithm
    from clout.identity.stage import anonymous_accounts
    from clout.score.community import LEFT_ALIGNED, CommunityRequest, score_community, table
    from clout.tables import TableStore
    from clout.versions.promotions import current_version

    request = CommunityRequest(args.network, args.community, args.date, args.algorithm, args.limit)
    problem = request.problem(list(settings.networks))
    if problem:
        print(f"community: {problem}", file=sys.stderr)
        return 2
    store = TableStore(_session(settings, "community"), settings)
    algorithm = load_algorithm(settings, request.algorithm_version or current_version(store, request.day))
    result = score_community(store, algorithm, request, anonymous_accounts(settings))
    print(
        f"community {request.label!r} on {request.network}, {request.day} ({result.algorithm_version}): {result.members} member(s), "
        f"{result.engaged_members} engaged inside it (the others are at the floor); best {len(result.rows)}:"
    )
    print_table(*table(result), more=False, left=LEFT_ALIGNED)
    return 0


def cmd_validate(args, settings) -> int:
    from clout.validate import run_validation

    spark = _session(settings, f"validate-{args.dataset}")
    result = run_validation(spark, settings, args.dataset, args.path, workdir=args.workdir, algorithm_version=args.algorithm)
    print(result.table())
    return 0  # the run completed; whether Clout beats the baselines is a figure, not a failure


COMMANDS = {
    "daily": cmd_daily,
    "backfill": cmd_backfill,
    "compare": cmd_compare,
    "promote": cmd_promote,
    "history": cmd_history,
    "synth": cmd_synth,
    "ingest": cmd_ingest,
    "bots": cmd_bots,
    "sql": cmd_sql,
    "catalog": cmd_catalog,
    "serve-sql": cmd_serve_sql,
    "tables": cmd_tables,
    "forget": cmd_forget,
    "optout": cmd_optout,
    "optin": cmd_optin,
    "explain": cmd_explain,
    "search": cmd_search,
    "community": cmd_community,
    "demo": cmd_demo,
    "validate": cmd_validate,
}


# commands that can create or move tables: the catalog is brought up to date as they end
WRITERS = {"daily", "backfill", "promote", "ingest", "bots", "forget", "optout", "optin", "demo", "community"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("py4j", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings(args.env, args.overrides)
        # which code and conf ran: a source tree, an installed wheel or the wheel spark-submit shipped (--py-files)
        log.info("clout %s from %s, conf from %s", __version__, Path(clout_file).parent, settings.conf_source())
        code = COMMANDS[args.command](args, settings)
        if code == 0 and args.command in WRITERS:
            from pyspark.sql import SparkSession

            from clout.catalog import refresh_after_job

            spark = SparkSession.getActiveSession()
            if spark is not None:
                refresh_after_job(spark, settings, args.env, args.overrides)
        return code
    except (ConfigError, InputError) as err:
        print(f"clout: {err}", file=sys.stderr)
        return 2
    except JarsMissing as err:  # set-up was not run (or failed): say so, not a stack trace
        print(f"clout: set-up incomplete: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # the job must exit non-zero with a readable reason, not a bare traceback
        log.exception("clout %s failed", args.command)
        print(f"clout: {args.command} failed: {type(err).__name__}: {str(err)[:2000]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
