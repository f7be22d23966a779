"""Great Expectations suites per table, validated on Spark DataFrames through an ephemeral context.

A failing suite blocks publishing: the daily job exits non-zero and no snapshot is promoted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pyspark.sql import DataFrame

from clout.ingest.actions import ACTIONS
from clout.ingest.validate import REASONS
from clout.tables import INGEST_COUNTS

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass
class GateResult:
    suite: str
    success: bool
    evaluated: int
    failed: list[str]
    result_json: dict

    def describe(self) -> str:
        state = "passed" if self.success else "FAILED"
        tail = f": {', '.join(self.failed)}" if self.failed else ""
        return f"{self.suite}: {state} ({self.evaluated} expectations){tail}"


def _expectations(table: str, networks: list[str], calibration=None, topics=None, max_daily_move: int | None = None):
    import great_expectations as gx

    E = gx.expectations
    if table == "events":
        return [
            E.ExpectColumnValuesToNotBeNull(column=c) for c in ("event_id", "network", "event_time", "event_date", "action", "actor_account", "source_file")
        ] + [
            E.ExpectColumnValuesToBeUnique(column="event_id"),
            E.ExpectColumnValuesToBeInSet(column="action", value_set=sorted(ACTIONS)),
            E.ExpectColumnValuesToBeInSet(column="network", value_set=sorted(networks)),
            E.ExpectTableRowCountToBeBetween(min_value=1),
        ]
    if table == "quarantine":
        return [
            E.ExpectColumnValuesToNotBeNull(column="reason"),
            E.ExpectColumnValuesToNotBeNull(column="source_file"),
            E.ExpectColumnValuesToBeInSet(column="reason", value_set=sorted(REASONS)),
            E.ExpectColumnValuesToBeUnique(column="quarantine_id"),
        ]
    if table == "ingest_log":
        return [E.ExpectColumnValuesToNotBeNull(column=c) for c in ("network", "source_file", "run_id", *INGEST_COUNTS)] + [
            E.ExpectCompoundColumnsToBeUnique(column_list=["source_file", "file_size", "file_mtime"]),
            *[E.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in INGEST_COUNTS],
            # per file: every candidate accepted, quarantined or already stored, and a record emits at least one
            E.UnexpectedRowsExpectation(
                unexpected_rows_query="SELECT * FROM {batch} WHERE events_emitted <> accepted + quarantined + already_present OR events_emitted < records",
                description="per-file counts reconcile: events_emitted = accepted + quarantined + already_present >= records",
            ),
        ]
    if table == "accounts":
        return [E.ExpectColumnValuesToNotBeNull(column=c) for c in ("account_id", "network", "person_id", "first_seen", "last_seen")] + [
            E.ExpectColumnValuesToBeUnique(column="account_id"),
            E.ExpectColumnValuesToBeInSet(column="network", value_set=sorted(networks)),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="last_seen", column_B="first_seen", or_equal=True),
            E.UnexpectedRowsExpectation(
                unexpected_rows_query="SELECT * FROM {batch} WHERE account_id NOT LIKE concat(network, ':_%')",
                description="account ids are '<network>:<native id>' of their own network",
            ),
            E.ExpectTableRowCountToBeBetween(min_value=1),
        ]
    if table == "daily_interactions":
        return [
            E.ExpectColumnValuesToNotBeNull(column="actor_person"),
            E.ExpectColumnValuesToNotBeNull(column="target_person"),
            E.ExpectColumnValuesToBeBetween(column="actions", min_value=1),
            E.ExpectColumnValuesToBeBetween(column="effort", min_value=0),
        ]
    if table == "scores":
        # the whole snapshot: one row per person, every score on the scale, suppressed persons at the floor
        return [
            E.ExpectColumnValuesToNotBeNull(column="person_id"),
            E.ExpectColumnValuesToBeUnique(column="person_id"),
            E.ExpectColumnValuesToBeBetween(column="score", min_value=1, max_value=100),
            E.ExpectColumnValuesToBeBetween(column="bot_probability", min_value=0, max_value=1),
            E.UnexpectedRowsExpectation(
                unexpected_rows_query="SELECT * FROM {batch} WHERE suppressed AND score > (SELECT min(score) FROM {batch})",
                description="a suppressed (risky) person is held at the bottom of the scale",
            ),
            # the daily bound (clout.score.bound): calibrated_score is there exactly when the row is not carried forward
            E.ExpectColumnValuesToNotBeNull(column="carried_forward"),
            E.ExpectColumnValuesToBeBetween(column="calibrated_score", min_value=1, max_value=100),
            E.UnexpectedRowsExpectation(
                unexpected_rows_query="SELECT * FROM {batch} WHERE carried_forward = (calibrated_score IS NOT NULL)",
                description="a carried-forward row has no calibrated score, every other row has one",
            ),
            *(
                [
                    E.UnexpectedRowsExpectation(
                        unexpected_rows_query=f"SELECT * FROM {{batch}} WHERE NOT suppressed AND abs(delta_1d) > {int(max_daily_move)}",
                        description=f"no person who is not suppressed moved more than score.max_daily_move ({int(max_daily_move)}) since the day before",
                    )
                ]
                if max_daily_move is not None
                else []
            ),
            E.ExpectTableRowCountToBeBetween(min_value=1),
        ]
    if table == "scores_calibration":
        # the calibrated population (not suppressed): the scale's promises, mean and 95th percentile
        if calibration is None:
            raise ValueError("the scores_calibration suite needs the algorithm's calibration targets")
        tolerance = 1.0
        return [
            E.ExpectColumnMeanToBeBetween(column="score", min_value=calibration.mean - tolerance, max_value=calibration.mean + tolerance),
            E.ExpectColumnQuantileValuesToBeBetween(
                column="score",
                quantile_ranges={"quantiles": [0.95], "value_ranges": [[calibration.p95 - tolerance, calibration.p95 + tolerance]]},
            ),
            E.ExpectColumnValuesToBeBetween(column="score", min_value=calibration.floor, max_value=calibration.ceiling),
            E.ExpectTableRowCountToBeBetween(min_value=1),
        ]
    if table == "topic_scores":
        # one snapshot's staged topic scores. No row-count or column-mean expectation: a day whose topics are all
        # trivial (or a network without topics) legitimately has none, and a mean over no rows fails.
        if calibration is None or topics is None:
            raise ValueError("the topic_scores suite needs the algorithm's calibration and topics conf")
        topic_mean_tolerance = 3.0  # a small topic's mean moves with rounding and ties; the global suite allows 1.0 on thousands
        return [
            *[E.ExpectColumnValuesToNotBeNull(column=c) for c in ("topic", "person_id", "score", "raw_score")],
            E.ExpectCompoundColumnsToBeUnique(column_list=["topic", "person_id"]),
            E.ExpectColumnValuesToBeBetween(column="score", min_value=calibration.floor, max_value=calibration.ceiling),
            E.UnexpectedRowsExpectation(
                unexpected_rows_query=f"SELECT * FROM {{batch}} WHERE topic_reactors < {int(topics.min_reactors)} OR raw_score <= 0 OR topic = '_all'",
                description="no trivial topic, no person nothing weighed for, no topic-free row",
            ),
            E.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "SELECT topic FROM {batch} GROUP BY topic "
                    f"HAVING count(*) >= 20 AND abs(avg(score) - {float(calibration.mean)}) > {topic_mean_tolerance} OR count(*) <> max(topic_persons)"
                ),
                description="calibrated within each topic: a topic's mean score is the scale's mean; every scored person of the topic is there",
            ),
        ]
    if table == "community_scores":
        # one community's rows of one snapshot, before they replace the stored ones
        if calibration is None:
            raise ValueError("the community_scores suite needs the algorithm's calibration conf")
        return [
            *[E.ExpectColumnValuesToNotBeNull(column=c) for c in ("network", "community", "person_id", "score", "raw_score", "members")],
            E.ExpectColumnValuesToBeInSet(column="network", value_set=networks),
            E.ExpectCompoundColumnsToBeUnique(column_list=["network", "community", "person_id"]),
            E.ExpectColumnValuesToBeBetween(column="score", min_value=calibration.floor, max_value=calibration.ceiling),
            E.ExpectColumnValuesToBeBetween(column="raw_score", min_value=0),
            E.UnexpectedRowsExpectation(
                unexpected_rows_query=f"SELECT * FROM {{batch}} WHERE raw_score = 0 AND score <> {int(calibration.floor)}",
                description="a member nobody engaged with inside the community is at the floor",
            ),
            E.UnexpectedRowsExpectation(
                unexpected_rows_query="SELECT network, community FROM {batch} GROUP BY network, community HAVING count(*) <> max(members)",
                description="every member of the community is there, once",
            ),
        ]
    raise KeyError(f"no suite for table {table!r}")


def validate(df: DataFrame, table: str, networks: list[str], calibration=None, topics=None, max_daily_move: int | None = None) -> GateResult:
    """Validate ``df`` against the table's suite with a real GE ephemeral context (``calibration``: the
    algorithm's CalibrationConf, for the scores_calibration and topic_scores suites; ``topics``: its TopicsConf, for
    topic_scores; ``max_daily_move``: the algorithm's bound, which the scores suite then checks against ``delta_1d``)."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:  # progress bars would flood the job log
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except ImportError:
        pass
    source = context.data_sources.add_spark(name=f"clout_{table}")
    asset = source.add_dataframe_asset(name=table)
    batch_definition = asset.add_batch_definition_whole_dataframe(f"{table}_batch")
    suite = context.suites.add(gx.ExpectationSuite(name=f"clout_{table}"))
    for expectation in _expectations(table, networks, calibration, topics, max_daily_move):
        suite.add_expectation(expectation)
    result = batch_definition.get_batch(batch_parameters={"dataframe": df}).validate(suite)
    failed = [_describe(r.expectation_config) for r in result.results if not r.success]
    return GateResult(f"clout_{table}", bool(result.success), len(result.results), failed, result.to_json_dict())


def _describe(config) -> str:
    kwargs = config.kwargs
    columns = kwargs.get("column_list") or [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]
    subject = kwargs.get("column") or ",".join(columns) or config.description or ""
    return f"{config.type}({subject})"
