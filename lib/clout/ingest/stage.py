"""The ingest stage: landing files -> validated ``events`` + ``quarantine``, reconciled per file.

Every record read ends up in exactly one place: accepted into ``events``, rejected into ``quarantine``
(with reason, source file and raw payload), or recognised as already ingested (a forced re-run of the same
file). Per file: events_emitted = accepted + quarantined + already_present, and every record emits >= 1.
Files already in ``ingest_log`` (same path, size and mtime) are skipped, so re-running a day adds nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from clout import fs, suppression
from clout.config import Settings
from clout.errors import InputError
from clout.ingest.adapters import load_adapter, read_raw
from clout.ingest.adapters.base import CANDIDATE_COLUMNS, read_lines, unparsed
from clout.ingest.validate import fingerprint, mark_batch_duplicates, with_opt_outs, with_row_reasons
from clout.tables import EVENTS, INGEST_COUNTS, INGEST_LOG, QUARANTINE, TableStore, utc_now

log = logging.getLogger(__name__)
MAX_PAYLOAD_CHARS = 65536  # raw payload kept in quarantine; longer ones are cut with a marker
SUPPRESSED_BY = ["actor_account", "target_account"]  # an event naming a listed account either way is kept out


@dataclass
class LandingFile:
    network: str
    path: str
    size: int
    mtime: dt.datetime


@dataclass
class IngestReport:
    run_id: str
    files: list[dict] = field(default_factory=list)  # one dict per file: counts
    reasons: dict[str, int] = field(default_factory=dict)  # quarantined rows by reason
    skipped_files: list[str] = field(default_factory=list)
    touched_dates: list[dt.date] = field(default_factory=list)
    seconds: float = 0.0
    mlflow_run_id: str | None = None  # set by the standalone ingest job

    def total(self, key: str) -> int:
        return sum(f[key] for f in self.files)

    @property
    def unreconciled(self) -> list[dict]:
        """Files whose candidates are not all accepted, quarantined or already present."""
        return [f for f in self.files if f["events_emitted"] != f["accepted"] + f["quarantined"] + f["already_present"]]

    @property
    def reconciled(self) -> bool:
        return not self.unreconciled

    def summary(self) -> dict[str, int]:
        return {k: self.total(k) for k in INGEST_COUNTS} | {"files": len(self.files), "skipped_files": len(self.skipped_files)}

    def metrics(self) -> dict[str, float]:
        """The run's counts as MLflow metrics: rows in / accepted / quarantined (also per reason), files."""
        s = self.summary()
        return {
            "rows_in": s["events_emitted"],
            "records_in": s["records"],
            "rows_accepted": s["accepted"],
            "rows_quarantined": s["quarantined"],
            "rows_already_present": s["already_present"],
            "files_ingested": s["files"],
            "files_skipped": s["skipped_files"],
            "ingest_reconciled": float(self.reconciled),
        } | {f"quarantined_{reason}": n for reason, n in self.reasons.items()}


def named_files(spark: SparkSession, settings: Settings, paths: dict[str, list[str]]) -> list[LandingFile]:
    """The files under explicitly named paths, per network.

    A network that is not configured, a path that does not exist and a path holding no file are InputErrors
    naming the value (a landing folder's unknown network is different: its files are quarantined, see discover).
    """
    unknown_networks = sorted(set(paths) - set(settings.networks))
    if unknown_networks:
        raise InputError(f"unknown network {', '.join(map(repr, unknown_networks))}: the configured networks are {', '.join(sorted(settings.networks))}")
    files = []
    for network, network_paths in paths.items():
        if not network_paths:
            raise InputError(f"{network}: no path named")
        for p in network_paths:
            if not fs.exists(spark, p):
                raise InputError(f"{network}: no such file or folder: {p}")
            found = fs.list_files(spark, p)
            if not found:
                raise InputError(f"{network}: no file under {p}")
            files += [LandingFile(network, path, size, mtime) for path, size, mtime in found]
    return files


def discover(spark: SparkSession, settings: Settings, day: dt.date | None) -> tuple[list[LandingFile], list[LandingFile]]:
    """Landing files of configured networks for ``day`` (all days when None), and files of unknown networks."""
    root = settings.landing_path("").rstrip("/")
    known, unknown = [], []
    for path, size, mtime in fs.list_files(spark, root):
        rel = path.split(root.split("://")[-1], 1)[-1].lstrip("/")
        parts = rel.split("/")
        if len(parts) < 2 or parts[0].startswith("_") or parts[0] == "identity":
            continue  # generator truth/staging and identity link records are not network events
        network = parts[0]
        if day is not None and parts[1] != day.isoformat():
            continue
        target = known if network in settings.networks else unknown
        target.append(LandingFile(network, path, size, mtime))
    return known, unknown


def _already_logged(store: TableStore, files: list[LandingFile]) -> set[str]:
    if not files or not store.exists(INGEST_LOG):
        return set()
    rows = store.read(INGEST_LOG).where(F.col("source_file").isin([f.path for f in files])).select("source_file", "file_size", "file_mtime").collect()
    seen = {(r.source_file, r.file_size, r.file_mtime) for r in rows}
    return {f.path for f in files if (f.path, f.size, f.mtime) in seen}


def _paths_by_network(files: list[LandingFile]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for f in files:
        grouped.setdefault(f.network, []).append(f.path)
    return dict(sorted(grouped.items()))


def _candidates(spark: SparkSession, settings: Settings, files: list[LandingFile], unknown: list[LandingFile]) -> DataFrame:
    parts: list[DataFrame] = []
    for network, paths in _paths_by_network(files).items():
        adapter = load_adapter(settings.networks[network].adapter)
        parts.append(adapter.to_events(read_raw(adapter, spark, paths)).select(*CANDIDATE_COLUMNS))
    for network, paths in _paths_by_network(unknown).items():
        parts.append(unparsed(read_lines(spark, paths), network, "unknown_network").select(*CANDIDATE_COLUMNS))
    result = parts[0]
    for p in parts[1:]:
        result = result.unionByName(p)
    return result


def classify(validated: DataFrame, existing: DataFrame | None) -> DataFrame:
    """Add ``outcome`` (accepted / quarantined / already_present) using the ids already in ``events``.

    An id already stored from the same file is a re-run of that file (already_present); from another file it
    is a duplicate across files (quarantined).
    """
    if existing is None:
        return validated.withColumn("outcome", F.when(F.col("reason").isNull(), "accepted").otherwise("quarantined"))
    prior = existing.select("event_id", F.col("source_file").alias("_prior_file"))
    joined = validated.join(prior, on="event_id", how="left")
    seen_before = F.col("reason").isNull() & F.col("_prior_file").isNotNull()
    same_file = seen_before & (F.col("_prior_file") == F.col("source_file"))
    reason = F.when(seen_before & ~same_file, F.lit("duplicate_across_files")).otherwise(F.col("reason"))
    detail = F.when(seen_before & ~same_file, F.concat(F.lit("first ingested from "), F.col("_prior_file"))).otherwise(F.col("detail"))
    outcome = F.when(same_file, "already_present").when(reason.isNull(), "accepted").otherwise("quarantined")
    return joined.withColumn("reason", reason).withColumn("detail", detail).withColumn("outcome", outcome).drop("_prior_file")


def quarantine_rows(classified: DataFrame, raw: DataFrame, run_id: str, ingested_at: dt.datetime) -> DataFrame:
    """Quarantined rows in the quarantine schema, their payload fetched back from ``raw`` by fingerprint.

    ``raw`` holds the lines of the files that have quarantined rows (``raw_payload``, ``source_file``); the
    quarantine id is stable across re-runs of the same file.
    """
    bad = classified.where(F.col("outcome") == "quarantined")
    keys = ["source_file", "payload_hash", "payload_check"]
    # only the lines of quarantined rows travel (AQE broadcasts the fingerprints when they are few, the usual
    # case); identical lines of one file share a fingerprint and a text, so one of them restores the payload
    wanted = bad.select(*keys).distinct()
    lines = raw.select("source_file", "raw_payload", *fingerprint(F.col("raw_payload"))).join(wanted, on=keys, how="left_semi").dropDuplicates(keys)
    restored = bad.join(lines, on=keys, how="left")
    payload = F.when(
        F.length("raw_payload") > MAX_PAYLOAD_CHARS, F.concat(F.substring("raw_payload", 1, MAX_PAYLOAD_CHARS), F.lit("...[truncated]"))
    ).otherwise(F.col("raw_payload"))
    # identical lines of one file (same payload, same reason) are told apart by their rank among themselves
    same = Window.partitionBy(*keys, "reason", "event_id").orderBy(F.lit(1))
    qid = F.sha2(
        F.concat_ws("\u0001", "source_file", "reason", F.coalesce("event_id", F.lit("")), "raw_payload", F.row_number().over(same).cast("string")), 256
    )
    # an opted-out row keeps nothing that could name the person: no payload, no event id (ids embed handles)
    return restored.select(
        qid.alias("quarantine_id"),
        "network",
        "source_file",
        "reason",
        "detail",
        suppression.unless_opted_out(F.col("event_id")).alias("event_id"),
        "event_date",
        suppression.unless_opted_out(payload).alias("raw_payload"),
        F.lit(ingested_at.date()).alias("ingest_date"),
        F.lit(ingested_at).cast("timestamp").alias("ingested_at"),
        F.lit(run_id).alias("run_id"),
    )


def ingest(
    spark: SparkSession,
    settings: Settings,
    day: dt.date | None,
    paths: dict[str, list[str]] | None = None,
    force: bool = False,
    now: dt.datetime | None = None,
) -> IngestReport:
    """Ingest the landing files of ``day`` (or explicit ``paths`` per network) into events + quarantine.

    Four steps: select the files not ingested yet, classify the batch (row checks, duplicates in the batch and
    against events), write the outcomes (accepted rows to events, quarantined rows with their payloads), and
    log the per-file counts in ``ingest_log``.
    """
    started = utc_now()
    report = IngestReport(f"ingest-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}")
    store = TableStore(spark, settings)
    batch = select_files(spark, settings, store, day, paths, force, report)
    if not batch.all:
        log.info("ingest: nothing new to ingest (%d files already ingested)", len(report.skipped_files))
    else:
        narrow = checked_rows(store, batch, now or started)
        classified = None
        try:
            classified, report.touched_dates = classify_batch(store, narrow)
            ingested_at = utc_now()
            write_outcomes(store, classified, batch, report, ingested_at)
            log_counts(store, report, ingested_at)
        finally:
            if classified is not None:
                classified.unpersist()
            narrow.unpersist()
    report.seconds = (utc_now() - started).total_seconds()
    return report


@dataclass(frozen=True)
class Batch:
    files: list[LandingFile]  # landing files of networks conf knows
    unknown: list[LandingFile]  # files under a network folder conf does not know: every line is quarantined

    @property
    def all(self) -> list[LandingFile]:
        return self.files + self.unknown


def checked_rows(store: TableStore, batch: Batch, now: dt.datetime) -> DataFrame:
    """The batch's candidate rows with their first failing row check (``reason``), persisted; the caller unpersists."""
    settings = store.settings
    founded = {name: n.founded for name, n in settings.networks.items()}
    limits = settings.ingest
    candidates = suppression.mark(
        _candidates(store.spark, settings, batch.files, batch.unknown), suppression.listed_keys(store), limits.suppression_salt, SUPPRESSED_BY
    )
    checked = with_opt_outs(with_row_reasons(candidates, founded, now, limits.max_future_minutes, limits.max_field_chars))
    # Parsed once, without the payload (most of a row's bytes): the dedupe, the id lookup, the writes and the
    # counts all read this cache. Quarantined rows get their payload back by fingerprint at the end.
    return checked.drop("raw_payload").persist(StorageLevel.MEMORY_AND_DISK)


def select_files(
    spark: SparkSession, settings: Settings, store: TableStore, day: dt.date | None, paths: dict[str, list[str]] | None, force: bool, report: IngestReport
) -> Batch:
    """The day's landing files (or the named ``paths``), minus those ``ingest_log`` already holds unless ``force``."""
    # named paths are checked before anything is written: a typo is an error, not an empty success
    named = named_files(spark, settings, paths) if paths else None
    for spec in (EVENTS, QUARANTINE, INGEST_LOG):
        store.ensure(spec)
    files, unknown = (named, []) if named is not None else discover(spark, settings, day)
    if force:
        return Batch(files, unknown)
    done = _already_logged(store, files + unknown)
    report.skipped_files = sorted(done)
    return Batch([f for f in files if f.path not in done], [f for f in unknown if f.path not in done])


def classify_batch(store: TableStore, narrow: DataFrame) -> tuple[DataFrame, list[dt.date]]:
    """Each candidate row's ``outcome`` (accepted / quarantined / already_present) and the days valid rows carry."""
    validated = mark_batch_duplicates(narrow)  # the first pass: parses the files and fills the cache
    # days of the rows valid before the dedupe, read off the cache without running the dedupe: a superset of
    # the days accepted rows land in (a duplicate may carry another day: one partition more to look in)
    dates = sorted(r.event_date for r in narrow.where(F.col("reason").isNull()).select("event_date").distinct().collect())
    existing = None
    events_version = store.version(EVENTS)  # 0 is the empty table ensure() created
    if dates and events_version:
        # Pinned to the version read now. The append below adds this run's rows, and the counts and the
        # quarantine evaluate `classified` again, and nothing guarantees they read the cache: against the latest
        # version this run's new rows looked "already present" and the log said 0 accepted (seen in tests).
        existing = store.read(EVENTS, version=events_version).where(F.col("event_date").isin(dates)).select("event_id", "source_file")
    classified = classify(validated, existing)
    if existing is not None:
        # the lookup in events is a join worth keeping; without it classifying is a projection of the cache
        # that the append, the counts and the quarantine each redo for less than a second cache costs
        classified = classified.persist(StorageLevel.MEMORY_AND_DISK)
    return classified, dates


def write_outcomes(store: TableStore, classified: DataFrame, batch: Batch, report: IngestReport, ingested_at: dt.datetime) -> None:
    """Accepted rows to ``events``, the per-file counts into ``report``, quarantined rows with their raw payloads."""
    accepted = classified.where(F.col("outcome") == "accepted").select(
        *[c for c in EVENTS.columns if c not in ("ingested_at", "run_id")],
        F.lit(ingested_at).cast("timestamp").alias("ingested_at"),
        F.lit(report.run_id).alias("run_id"),
    )
    # classify already looked the ids up in events: the accepted rows are new, so a plain append. A retry
    # after a crash finds them stored from the same file (already_present); ingests are not run concurrently.
    store.append(EVENTS, accepted)
    _record_counts(report, classified, batch.all)
    bad_files = [f["source_file"] for f in report.files if f["quarantined"]]
    if bad_files:
        raw = read_lines(store.spark, bad_files)
        store.insert_new(QUARANTINE, quarantine_rows(classified, raw, report.run_id, ingested_at), ["quarantine_id"])


def log_counts(store: TableStore, report: IngestReport, ingested_at: dt.datetime) -> None:
    """One ``ingest_log`` row per file with its reconciled counts (a rerun finds the file there and skips it)."""
    described = ("network", "source_file", "file_size", "file_mtime", *INGEST_COUNTS)
    rows = [(*(f[c] for c in described), ingested_at, report.run_id) for f in report.files]
    store.insert_new(INGEST_LOG, store.spark.createDataFrame(rows, INGEST_LOG.schema), list(INGEST_LOG.keys))


def _record_counts(report: IngestReport, classified: DataFrame, files: list[LandingFile]) -> None:
    """Per-file and per-reason counts from one aggregation of the classified rows."""
    groups = (
        classified.groupBy("source_file", "outcome", "reason")
        .agg(F.sum(F.col("record_first").cast("long")).alias("records"), F.count(F.lit(1)).alias("rows"))
        .collect()
    )
    by_file: dict[str, dict[str, int]] = {}
    for g in groups:
        counts = by_file.setdefault(g.source_file, dict.fromkeys(INGEST_COUNTS, 0))
        counts["records"] += int(g.records)
        counts["events_emitted"] += int(g.rows)
        counts[g.outcome] += int(g.rows)
        if g.outcome == "quarantined":
            report.reasons[g.reason] = report.reasons.get(g.reason, 0) + int(g.rows)
    for f in files:
        counts = by_file.get(f.path, dict.fromkeys(INGEST_COUNTS, 0))
        report.files.append({"network": f.network, "source_file": f.path, "file_size": f.size, "file_mtime": f.mtime} | counts)
