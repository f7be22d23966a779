"""``clout explain PERSON``: a person's explanation from ``score_explanations``, readable in a terminal.

Values from the command line reach Spark only as literals in DataFrame filters, never as SQL text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from clout.config import VERSION_PATTERN, Settings
from clout.identity.stage import anonymous_accounts
from clout.tables import ACCOUNTS, SCORE_EXPLANATIONS, TableStore

# "<namespace>:<id>" (person:p3, twitter:100000012, mastodon:ada@example.org): no blanks, quotes or backslashes,
# (ids such as these are what adapters produce; a link-record id with a blank cannot be asked for here)
PERSON_PATTERN = re.compile(r"^[A-Za-z0-9_-]+:[^\s'\"`\\]+$")
MAX_PERSON_CHARS = 512

NOT_SCORED, UNKNOWN = 0, 1  # exit codes: a known person nobody reacted to is an answer, an unknown id is not


@dataclass(frozen=True)
class Answer:
    exit_code: int
    text: str


def invalid_request(person_id: str, algorithm_version: str | None) -> str | None:
    """Why the request is malformed, or None when it can be looked up."""
    if len(person_id) > MAX_PERSON_CHARS or not person_id.isprintable() or not PERSON_PATTERN.match(person_id):
        return f"not a person id (expected <namespace>:<id>, e.g. person:p3 or twitter:11): {person_id!r}"
    if algorithm_version is not None and not re.match(VERSION_PATTERN, algorithm_version):
        return f"not an algorithm version (letters, digits, '.', '_' or '-', e.g. v1): {algorithm_version!r}"
    return None


def _explanations(store: TableStore, algorithm_version: str) -> DataFrame | None:
    if not store.exists(SCORE_EXPLANATIONS):
        return None
    return store.read(SCORE_EXPLANATIONS).where(F.col("algorithm_version") == F.lit(algorithm_version))


def _latest(rows: DataFrame) -> dt.date | None:
    return rows.agg(F.max("snapshot_date")).first()[0]


def _is_known(store: TableStore, person_id: str) -> bool:
    if not store.exists(ACCOUNTS):
        return False
    return store.read(ACCOUNTS).where(F.col("person_id") == F.lit(person_id)).limit(1).count() > 0


def _pct(share: float) -> str:
    return f"{share * 100:5.1f}%"


def _percentile(p: float) -> str:
    return f"p{int(p * 100):<3d} ({p:.4f})"


def render(row: Row) -> str:
    """The multi-line explanation of one ``score_explanations`` row."""
    lines = [f"{row.person_id}: score {row.score} on {row.snapshot_date} (algorithm {row.algorithm_version})"]
    if row.previous_score is not None:
        lines.append(f"  change: {row.score_change:+d} since {row.previous_date} (was {row.previous_score})")
    else:
        lines.append("  change: none (not in a previous published snapshot of this version)")
    if row.suppressed:
        lines.append("  SUPPRESSED: a risky account (bot detection); the score is held at the floor")
    lines.append("parts (percentile among the scored persons):")
    for part in ("reach", "amplification", "authority"):
        lines.append(f"  {part:<14} {_percentile(row[f'p_{part}'])}")
    lines.append("networks (share of the effort received):")
    lines += [f"  {n.network:<24} {_pct(n.share)}" for n in row.networks] or ["  none"]
    lines.append("topics (share of the topical effort received):")
    lines += [f"  {t.topic:<24} {_pct(t.share)}" for t in row.topics] or ["  none"]
    lines.append(f"top engagers ({_pct(row.top_engagers_share).strip()} of the effort, from {row.engagers} distinct engagers):")
    for e in row.top_engagers:
        score = f"score {e.score}" if e.score is not None else "unscored"
        lines.append(f"  {e.person_id:<32} {score:<10} {_pct(e.share)}")
    if not row.top_engagers:
        lines.append("  none")
    lines.append(f"bot discount: {_pct(row.bot_discount).strip()} of the raw effort received came from likely bots and was removed")
    lines.append(f"suppressed: {'yes' if row.suppressed else 'no'}")
    lines.append(f"summary: {row.summary}")
    return "\n".join(lines)


def explain_person(spark: SparkSession, settings: Settings, person_id: str, snapshot_date: dt.date | None, algorithm_version: str | None) -> Answer:
    """The explanation of ``person_id`` on ``snapshot_date`` (default: the latest snapshot of the version holding them)."""
    store = TableStore(spark, settings)
    version = algorithm_version or settings.algorithm.version
    explanations = _explanations(store, version)
    rows = explanations.where(F.col("person_id") == F.lit(person_id)) if explanations is not None else None
    date = snapshot_date or (_latest(rows) if rows is not None else None)
    found = rows.where(F.col("snapshot_date") == F.lit(date)).first() if rows is not None and date is not None else None
    if found is not None:
        return Answer(0, render(found))
    if person_id in anonymous_accounts(settings):
        return Answer(NOT_SCORED, f"{person_id} stands for unnamed voters of its network: never a person, never scored")
    if not _is_known(store, person_id):
        return Answer(UNKNOWN, f"{person_id} is unknown: no account of any network maps to this person")
    when = date or (_latest(explanations) if explanations is not None else None)
    if when is None or explanations.where(F.col("snapshot_date") == F.lit(when)).limit(1).count() == 0:
        on = f"on {when}" if when else "yet"
        return Answer(NOT_SCORED, f"{person_id} is not scored: no snapshot of {version} is explained {on}")
    return Answer(NOT_SCORED, f"{person_id} is not scored on {when} ({version}): nobody's weighted reaction reached them in the window")
