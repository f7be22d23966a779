"""Influencer search for brands: persons ranked by their score on one topic (``clout search``).

The rows are ``tables.influencer_rows``, the query behind the catalog's ``topic_influencers`` view; this module
picks the snapshot (a date, default the latest with topic scores, and the version published as current for it,
``promotions.current_version``) and applies the brand's filters as DataFrame expressions (``F.lit``: no user text
reaches SQL). The same filters on the view give the same rows:

    SELECT * FROM clout.topic_influencers WHERE snapshot_date = DATE'2026-11-20' AND topic = 'physics'
      AND array_contains(networks, 'twitter') AND topic_score >= 50 AND last_active >= date_sub(snapshot_date, 6)
      ORDER BY topic_rank LIMIT 20
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from clout.tables import SCORE_EXPLANATIONS, SCORES, TOPIC_SCORES, TableStore, influencer_rows
from clout.versions.promotions import current_version
from clout.window import window_start

MAX_LIMIT = 10_000
COLUMNS = ("topic_rank", "person_id", "topic_score", "score", "networks", "last_active", "summary")


@dataclass(frozen=True)
class SearchRequest:
    topic: str
    network: str | None = None  # only persons whose topic score was earned (at least partly) on this network
    min_score: int | None = None  # topic score at least this
    active_days: int | None = None  # posted or reacted on one of the last K days of the snapshot (K <= the window)
    limit: int = 20
    day: dt.date | None = None  # default: the latest snapshot with topic scores

    def problem(self, networks: list[str]) -> str | None:
        """Why the request cannot be answered as asked, or None."""
        if not self.topic.strip():
            return "--topic is empty"
        if self.network is not None and self.network not in networks:
            return f"--network {self.network!r}: not a configured network ({', '.join(sorted(networks))})"
        if self.min_score is not None and not 1 <= self.min_score <= 100:
            return f"--min-score {self.min_score}: expected 1..100"
        if self.active_days is not None and self.active_days < 1:
            return f"--active-days {self.active_days}: expected at least 1"
        if not 1 <= self.limit <= MAX_LIMIT:
            return f"--limit {self.limit}: expected 1..{MAX_LIMIT:,} (the rows come to the driver to be printed)"
        return None


@dataclass(frozen=True)
class SearchResult:
    day: dt.date | None
    algorithm_version: str | None
    rows: list[Row]


def snapshot_rows(store: TableStore) -> DataFrame:
    """``influencer_rows`` over this store's tables, read through temp views of the session (no catalog needed), named
    apart so that they never shadow a table another query of the session names without its database."""
    view = lambda spec: f"clout_search_{spec.name}"  # noqa: E731
    for spec in (TOPIC_SCORES, SCORES, SCORE_EXPLANATIONS):
        store.read(spec).createOrReplaceTempView(view(spec))
    return store.spark.sql(influencer_rows(view))


def matches(rows: DataFrame, request: SearchRequest, day: dt.date) -> DataFrame:
    """The rows of ``request``'s topic that pass its filters, best first (at most ``limit``)."""
    wanted = F.col("topic") == F.lit(request.topic.strip().lower())  # topics are stored lower-case, without '#'
    if request.network is not None:
        wanted = wanted & F.array_contains("networks", F.lit(request.network))
    if request.min_score is not None:
        wanted = wanted & (F.col("topic_score") >= F.lit(request.min_score))
    if request.active_days is not None:
        wanted = wanted & (F.col("last_active") >= F.lit(window_start(day, request.active_days)))
    return rows.where(wanted).orderBy("topic_rank").limit(request.limit)


def search(store: TableStore, request: SearchRequest) -> SearchResult:
    """The brand's search on one snapshot; no snapshot at all gives an empty result with no date."""
    if not (store.exists(SCORES) and store.has_topic_view_tables()):  # the tables influencer_rows reads
        return SearchResult(None, None, [])
    day = request.day or max(store.partition_dates(TOPIC_SCORES, "snapshot_date"), default=None)
    if day is None:
        return SearchResult(None, None, [])
    version = current_version(store, day)
    this_snapshot = (F.col("snapshot_date") == F.lit(day)) & (F.col("algorithm_version") == F.lit(version))
    found = matches(snapshot_rows(store).where(this_snapshot), request, day).select(*COLUMNS).collect()  # at most --limit rows
    return SearchResult(day, version, found)


LEFT_ALIGNED = (1, 4, 6)  # person_id, networks, explanation: text read from the left


def table(result: SearchResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows for ``catalog.print_table`` (with ``left=LEFT_ALIGNED``)."""
    header = ["rank", "person_id", "topic_score", "score", "networks", "last_active", "explanation"]
    blank = lambda value: "" if value is None else str(value)  # noqa: E731
    rows = [
        [str(r.topic_rank), r.person_id, str(r.topic_score), blank(r.score), ",".join(r.networks), blank(r.last_active), blank(r.summary)] for r in result.rows
    ]
    return header, rows
