"""Concurrent validity on the Stack Exchange dump: does the score rank people as their Reputation does?

- Score: one snapshot on the last event day of the dump, over a window covering the whole span without
  decay (Reputation is cumulative: an answer of the first month counts as much as one of the last). The
  window is derived from the algorithm (``<version>-span``), every other parameter is the algorithm's own.
- Truth: ``Users.Reputation`` from the dump's Users.xml (an external measure the score never reads).
- Population: people who wrote a question, an answer or a comment (actors of ``post``/``answer``/``comment``
  events) and have a Reputation; never the shared anonymous voter.
- Baselines, from the same events: up-votes received, answers of theirs that were accepted.
- Figure: Spearman rank correlation with Reputation (average ranks for ties).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout.aggregate.stage import with_persons
from clout.config import Algorithm, Settings, load_algorithm
from clout.ingest.adapters.base import CORRUPT, account, read_lines
from clout.ingest.adapters.stackexchange import ANONYMOUS, NETWORK
from clout.tables import ACCOUNTS, EVENTS, TableStore
from clout.validate.common import (
    CLOUT,
    DIAGNOSTICS,
    Figure,
    Stopwatch,
    Validation,
    ValidationError,
    clout_columns,
    event_days,
    ingest_dump,
    log_new_params,
    log_outcome,
    measure_into,
    record,
    score_window,
    scratch_lake,
    spearman,
)

AUTHORED = ("post", "answer", "comment")
BASELINES = ["upvotes", "accepted_answers"]
ASSOCIATION_BONUS_REPUTATION = 101
# a half-life this long leaves every reaction of a dump spanning a few years at full weight (0.5 ** (1e3/1e6))
NO_DECAY_HALF_LIFE_DAYS = 1e6
_USERS_FILE = re.compile(r"(?i)^users\.xml(\.gz|\.bz2)?$")
_USER = T.StructType([T.StructField("_Id", T.StringType()), T.StructField("_Reputation", T.StringType()), T.StructField(CORRUPT, T.StringType())])


def users_file(dump: str | Path) -> str:
    """The dump's Users.xml (any case, optionally compressed): not an event file, so the ingest ignores it."""
    found = sorted(p for p in Path(dump).iterdir() if _USERS_FILE.match(p.name)) if Path(dump).is_dir() else []
    if not found:
        raise ValidationError(f"no Users.xml(.gz) in {dump}: the Stack Exchange validation needs the dump folder")
    return str(found[0])


def reputations(spark: SparkSession, users_path: str) -> DataFrame:
    """``account_id, reputation`` per user row, parsed as the adapter parses rows (from_xml on each ``<row`` line)."""
    rows = read_lines(spark, [users_path]).where(F.ltrim(F.col("raw_payload")).startswith("<row"))
    user = F.from_xml(F.col("raw_payload"), _USER, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT})
    parsed = rows.select(user.alias("u"))
    reputation = F.col("u._Reputation").try_cast("long")
    usable = F.col("u").isNotNull() & F.col(f"u.{CORRUPT}").isNull() & reputation.isNotNull()
    return (
        parsed.where(usable).select(account(NETWORK, F.col("u._Id")).alias("account_id"), reputation.alias("reputation")).where(F.col("account_id").isNotNull())
    )


def span_algorithm(algorithm: Algorithm, first: dt.date, last: dt.date) -> Algorithm:
    """The algorithm with a window covering ``first``..``last`` and no decay, as version ``<version>-span``."""
    window = algorithm.window.model_copy(update={"days": (last - first).days + 1, "half_life_days": NO_DECAY_HALF_LIFE_DAYS})
    return algorithm.model_copy(update={"version": f"{algorithm.version}-span", "window": window})


def authors(events_with_persons: DataFrame) -> DataFrame:
    """``person_id, account_id`` of everyone who wrote a question, an answer or a comment."""
    wrote = F.col("action").isin(*AUTHORED)
    named = F.col("actor_account").isNotNull() & (F.col("actor_account") != F.lit(ANONYMOUS))
    return events_with_persons.where(wrote & named).select(F.col("actor_person").alias("person_id"), F.col("actor_account").alias("account_id")).distinct()


def received(events_with_persons: DataFrame) -> DataFrame:
    """Per person acted upon: up-votes received and accepted answers (the baselines)."""
    is_upvote = F.col("action") == F.lit("vote_up")
    is_accepted = F.col("action") == F.lit("accepted_answer")
    return (
        events_with_persons.where(F.col("target_person").isNotNull())
        .groupBy(F.col("target_person").alias("person_id"))
        .agg(F.count(F.when(is_upvote, 1)).alias("upvotes"), F.count(F.when(is_accepted, 1)).alias("accepted_answers"))
        .select("person_id", *BASELINES)
    )


def population(writers: DataFrame, reputation: DataFrame, counts: DataFrame, scores: DataFrame) -> DataFrame:
    """Writers with a Reputation, with every predictor (absent = lowest); one row per person."""
    # nothing links Stack Exchange accounts to other accounts, so a person is one account; summing keeps
    # one row per person even if links ever merged two
    per_person = writers.join(reputation, on="account_id", how="inner").groupBy("person_id").agg(F.sum("reputation").alias("reputation"))
    return (
        per_person.join(counts, on="person_id", how="left")
        .join(scores, on="person_id", how="left")
        .select(
            "person_id",
            "reputation",
            *clout_columns(),
            *[F.coalesce(b, F.lit(0)).alias(b) for b in BASELINES],
        )
    )


def measure(people: DataFrame) -> tuple[list[Figure], dict[str, float]]:
    rho = spearman(people, "reputation", [CLOUT, *DIAGNOSTICS, *BASELINES])
    lowest = people.agg(F.min("reputation")).first()[0]
    counts = people.agg(
        F.count(F.lit(1)).alias("population"),
        F.count(F.when(F.col("scored"), 1)).alias("population_scored"),
        F.count(F.when(F.col("reputation") == F.lit(lowest), 1)).alias("population_at_lowest_reputation"),
        F.count_distinct("reputation").alias("reputation_distinct_values"),
        F.count(F.when(F.col("upvotes") == 0, 1)).alias("population_without_upvotes"),
        # 101 is the association bonus (+100 for standing on another site): Reputation not earned on this one
        F.count(F.when(F.col("reputation") == F.lit(ASSOCIATION_BONUS_REPUTATION), 1)).alias("population_at_association_bonus"),
    ).first()
    info = {key: float(value or 0) for key, value in counts.asDict().items()}
    info |= {"lowest_reputation": float(lowest or 0)} | {f"spearman_{d}": rho[d] for d in DIAGNOSTICS}
    # the same figure without the persons at exactly the association bonus, whose Reputation was earned elsewhere
    earned_here = F.col("reputation") != F.lit(ASSOCIATION_BONUS_REPUTATION)
    rho_earned = spearman(people.where(earned_here), "reputation", [CLOUT, *DIAGNOSTICS, *BASELINES])
    info |= {f"spearman_without_association_bonus_{name}": value for name, value in rho_earned.items()}
    return [Figure("spearman", rho[CLOUT], {b: rho[b] for b in BASELINES})], info


def validate_stackexchange(
    spark: SparkSession, settings: Settings, path: str | Path, workdir: str | Path | None = None, algorithm_version: str | None = None
) -> Validation:
    """Run the Stack Exchange validation end to end in a scratch lakehouse; log it to MLflow and return it."""
    base = load_algorithm(settings, algorithm_version)
    users = users_file(path)
    validation = Validation(
        NETWORK,
        {
            "dataset": NETWORK, "path": str(Path(path).resolve()), "base_algorithm_version": base.version,
            "algorithm_version": f"{base.version}-span", "workdir": str(Path(workdir).resolve() if workdir else "temporary"),
        },
    )  # fmt: skip
    clock = Stopwatch()
    with record(settings, validation, {"algorithm_version": f"{base.version}-span"}) as run, scratch_lake(settings, workdir) as lake:
        validation.run_id = run.info.run_id
        with clock.step("ingest"):
            validation.info |= ingest_dump(spark, lake, NETWORK, str(path))
        days = event_days(spark, lake, NETWORK)
        if not days:
            raise ValidationError(f"no Stack Exchange events in {path}")
        algorithm = span_algorithm(base, days[0], days[-1])
        validation.params |= {
            "window_days": str(algorithm.window.days),
            "half_life_days": str(algorithm.window.half_life_days), "span": f"{days[0]}..{days[-1]}", "snapshot_date": str(days[-1]),
        }  # fmt: skip
        log_new_params(validation)
        scores = score_window(spark, lake, algorithm, days, days[0], days[-1], clock)
        with clock.step("measure"):
            store = TableStore(spark, lake)
            events = with_persons(store.read(EVENTS).where(F.col("network") == F.lit(NETWORK)), store.read(ACCOUNTS))
            measure_into(validation, population(authors(events), reputations(spark, users), received(events), scores), measure)
        validation.seconds = clock.seconds | {"total": clock.total()}
        log_outcome(validation)
    return validation
