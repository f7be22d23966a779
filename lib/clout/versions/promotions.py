"""Which algorithm version is published as current, from which snapshot date, and who said so.

Promotions are rows in the ``promotions`` Delta table, never edits of conf: the version behind ``scores_current``
for a snapshot date is the latest promotion (by ``promoted_at``) effective on or before that date, and conf
``algorithm.version`` before any promotion. Rolling back is promoting the old version again.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
from dataclasses import dataclass

from pyspark.sql import Row
from pyspark.sql import functions as F

from clout.config import load_algorithm
from clout.errors import InputError
from clout.tables import PROMOTIONS, SCORES, TableStore, utc_now


@dataclass(frozen=True)
class Promotion:
    algorithm_version: str
    effective_from: dt.date
    previous_version: str | None
    promoted_at: dt.datetime
    promoted_by: str
    reason: str


def current_version(store: TableStore, day: dt.date) -> str:
    """The version published for ``day``: the latest promotion effective on or before it, else conf's."""
    return version_for(day, promotions(store, limit=None), store.settings.algorithm.version)


def version_for(day: dt.date, recorded: list[Row], default: str) -> str:
    """The version promoted for ``day`` among ``recorded`` promotions (newest first), else ``default``: the rule
    ``scores_promoted`` applies in SQL (tables.view_definitions), here for the driver's few rows."""
    effective = [p for p in recorded if p.effective_from <= day]
    return effective[0].algorithm_version if effective else default


def published_dates(store: TableStore, version: str, start: dt.date | None = None, end: dt.date | None = None) -> list[dt.date]:
    """Snapshot dates with published scores of ``version`` (in [start, end] when given)."""
    return store.partition_dates(SCORES, "snapshot_date", start, end, version)


def promote(store: TableStore, version: str, effective_from: dt.date | None, reason: str, by: str | None = None, run_id: str | None = None) -> Promotion:
    """Record ``version`` as the published one from ``effective_from`` (default: its first published snapshot).

    Refused (InputError) when the version's conf does not load or it has no published snapshot on or after the
    date: promoting a version with nothing to show would leave ``scores_current`` empty.
    """
    load_algorithm(store.settings, version)  # an unknown or invalid version is an error naming it
    dates = published_dates(store, version, start=effective_from)
    if not dates:
        since = f" on or after {effective_from}" if effective_from else ""
        raise InputError(f"algorithm {version} has no published snapshot{since}: backfill it first (clout backfill --algorithm {version} ...)")
    effective_from = effective_from or dates[0]
    if not reason.strip():
        raise InputError("a promotion needs a reason (--reason)")
    promotion = Promotion(
        algorithm_version=version,
        effective_from=effective_from,
        previous_version=current_version(store, effective_from),
        promoted_at=utc_now(),
        promoted_by=by or getpass.getuser(),
        reason=reason.strip(),
    )
    key = f"{version}|{effective_from}|{promotion.promoted_at.isoformat()}|{promotion.promoted_by}"
    row = Row(promotion_id=hashlib.sha256(key.encode()).hexdigest()[:16], **promotion.__dict__, mlflow_run_id=run_id)
    store.append(PROMOTIONS, store.spark.createDataFrame([row], PROMOTIONS.schema))
    store.register_all()  # scores_promoted / scores_current now follow the new row
    return promotion


@dataclass(frozen=True)
class HistoryRow:
    snapshot_date: dt.date
    algorithm_version: str
    score: int
    suppressed: bool
    published_as_current: bool  # the version promoted for that date (what scores_promoted shows)
    deltas: tuple[int | None, int | None, int | None] = (None, None, None)  # delta_1d, delta_7d, delta_30d (clout.score.bound)
    carried_forward: bool = False  # nothing reached them in that day's window: drifting down to the floor


def person_history(store: TableStore, person_id: str, version: str | None = None, limit: int = 1000) -> list[HistoryRow]:
    """A person's published scores over time and versions, newest first (``limit`` rows: days x versions)."""
    if not store.exists(SCORES):
        return []
    rows = store.read(SCORES).where(F.col("person_id") == F.lit(person_id))
    if version is not None:
        rows = rows.where(F.col("algorithm_version") == F.lit(version))
    # a lakehouse whose scores predate the bound's columns (README: Scores over time) shows no deltas until it is migrated
    bound = [F.col(c) if c in rows.columns else F.lit(None).alias(c) for c in ("delta_1d", "delta_7d", "delta_30d", "carried_forward")]
    newest_first = rows.select("snapshot_date", "algorithm_version", "score", "suppressed", *bound).orderBy(F.desc("snapshot_date"), "algorithm_version")
    found = newest_first.limit(limit).collect()
    recorded = promotions(store, limit=None)  # a handful per year; read once, not once per date
    default = store.settings.algorithm.version
    return [
        HistoryRow(
            r.snapshot_date,
            r.algorithm_version,
            r.score,
            r.suppressed,
            r.algorithm_version == version_for(r.snapshot_date, recorded, default),
            (r.delta_1d, r.delta_7d, r.delta_30d),
            bool(r.carried_forward),
        )
        for r in found
    ]


def promotions(store: TableStore, limit: int | None = 50) -> list[Row]:
    """The latest promotions, newest first (all of them with ``limit=None``: a person decides each, a handful a year)."""
    if not store.exists(PROMOTIONS):
        return []
    newest_first = store.read(PROMOTIONS).orderBy(F.desc("promoted_at"), F.desc("promotion_id"))
    return (newest_first if limit is None else newest_first.limit(limit)).collect()
