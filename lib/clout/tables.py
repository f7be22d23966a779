"""Every table Clout writes: name, schema, partitioning and keys, declared once.

Reading and writing go through ``TableStore`` so paths, catalog registration and Delta options live in
one place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout import commits, faults
from clout.config import Settings
from clout.sqltext import date_literal, identifier, path_literal, string_literal


def utc_now() -> dt.datetime:
    """Now in UTC without a zone: the tables' TIMESTAMP columns hold UTC wall time (the sessions run in UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: T.StructType
    partition_by: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    description: str = ""
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.schema.fields]


def _s(*fields: tuple[str, T.DataType, bool]) -> T.StructType:
    return T.StructType([T.StructField(n, t, nullable) for n, t, nullable in fields])


STR, TS, DATE, LONG, INT, DBL = T.StringType(), T.TimestampType(), T.DateType(), T.LongType(), T.IntegerType(), T.DoubleType()
STR_ARRAY = T.ArrayType(T.StringType())  # element nullability: see ingest.adapters.base.CANDIDATE_TYPES

# One row per action one account took, whatever the network. Account ids are "<network>:<native id>".
EVENT_FIELDS = (
    ("event_id", STR, False),  # "<network>:<native key>", unique per action
    ("network", STR, False),
    ("event_time", TS, False),
    ("event_date", DATE, False),  # UTC day of event_time; late events land in their own day
    ("action", STR, False),  # normalised vocabulary, see clout.ingest.actions
    ("actor_account", STR, False),  # who acted
    ("target_account", STR, True),  # whose content / whom the action was aimed at (null for a post)
    ("content_id", STR, True),  # the item this action created (post, reply, comment ...)
    ("target_content_id", STR, True),  # the item acted upon
    ("topics", STR_ARRAY, False),  # normalised topic labels (lower-case, no '#')
    ("text_chars", INT, True),  # length of the text the action carried, when it had one
    ("source_file", STR, False),
)
EVENTS = TableSpec(
    "events",
    _s(*EVENT_FIELDS, ("ingested_at", TS, False), ("run_id", STR, False)),
    partition_by=("event_date",),
    keys=("event_id",),
    description="validated actions from every network, one schema, partitioned by event day",
    # file statistics only where they can skip files; min/max of ids and accounts over unsorted files skip nothing
    properties={"delta.dataSkippingStatsColumns": "event_time,network,action"},
)

QUARANTINE = TableSpec(
    "quarantine",
    _s(
        ("quarantine_id", STR, False),  # stable: same bad record ingested twice is stored once
        ("network", STR, False),
        ("source_file", STR, False),
        ("reason", STR, False),
        ("detail", STR, True),
        ("event_id", STR, True),
        ("event_date", DATE, True),
        ("raw_payload", STR, True),
        ("ingest_date", DATE, False),
        ("ingested_at", TS, False),
        ("run_id", STR, False),
    ),
    partition_by=("ingest_date",),
    keys=("quarantine_id",),
    description="rejected records with the reason, the source file and the raw payload",
)

INGEST_LOG = TableSpec(
    "ingest_log",
    _s(
        ("network", STR, False),
        ("source_file", STR, False),
        ("file_size", LONG, False),
        ("file_mtime", TS, False),
        ("records", LONG, False),
        ("events_emitted", LONG, False),
        ("accepted", LONG, False),
        ("quarantined", LONG, False),
        ("already_present", LONG, False),
        ("ingested_at", TS, False),
        ("run_id", STR, False),
    ),
    keys=("source_file", "file_size", "file_mtime"),
    description="one row per landing file ingested, with its reconciled counts",
)
# ingest_log's per-file counts (events_emitted = accepted + quarantined + already_present >= records)
INGEST_COUNTS = ("records", "events_emitted", "accepted", "quarantined", "already_present")

ACCOUNTS = TableSpec(
    "accounts",
    _s(
        ("account_id", STR, False),
        ("network", STR, False),
        ("person_id", STR, False),  # the linked person, or the account itself when unlinked
        ("first_seen", DATE, False),
        ("last_seen", DATE, False),
    ),
    keys=("account_id",),
    description="every account seen, mapped to a person (cross-network links)",
)

IDENTITY_LINKS = TableSpec(
    "identity_links",
    _s(("account_id", STR, False), ("person_id", STR, False), ("source", STR, False), ("linked_at", TS, False)),
    keys=("account_id",),
    description="explicit account -> person link records",
)

DAILY_INTERACTIONS = TableSpec(
    "daily_interactions",
    _s(
        ("event_date", DATE, False),
        ("network", STR, False),
        ("actor_person", STR, False),
        ("target_person", STR, False),
        ("action", STR, False),
        ("topic", STR, False),  # "_all" row carries the topic-free total
        ("actions", LONG, False),
        ("effort", DBL, False),  # actions x action weight of the algorithm version
        ("algorithm_version", STR, False),
    ),
    partition_by=("event_date",),
    keys=("event_date", "network", "actor_person", "target_person", "action", "topic", "algorithm_version"),
    description="who acted on whom, how, on which topic, per day",
    # the window state (clout.window_state) is updated from what changed since its last day, read from the feed
    properties={"delta.enableChangeDataFeed": "true"},
)

POSTS_DAILY = TableSpec(
    "daily_posts",
    _s(("event_date", DATE, False), ("network", STR, False), ("person_id", STR, False), ("posts", LONG, False)),
    partition_by=("event_date",),
    keys=("event_date", "network", "person_id"),
    description="content each person created per day and network (the amplification denominator)",
    properties={"delta.enableChangeDataFeed": "true"},
)

# The decayed window of a snapshot day, kept and updated day by day (clout.window_state).
WINDOW_PAIRS = TableSpec(
    "window_pairs",
    _s(
        ("state_date", DATE, False),
        ("algorithm_version", STR, False),
        ("network", STR, False),
        ("actor_person", STR, False),
        ("target_person", STR, False),
        ("topic", STR, False),
        ("last_date", DATE, False),  # the latest day in the window with a reaction (recency is its decay)
        ("actions", LONG, False),  # reactions in the window, not decayed: the key is gone when it reaches 0
        ("reactions", DBL, False),  # decayed reactions
        ("effort_raw", DBL, False),  # decayed effort, before any bot or ring discount
        ("source_version", LONG, False),  # the daily_interactions version the state was built from
    ),
    partition_by=("algorithm_version", "state_date"),
    keys=("state_date", "algorithm_version", "network", "topic", "actor_person", "target_person"),
    description="the window of daily_interactions per (network, topic, actor, target), decayed to state_date",
)

WINDOW_POSTS = TableSpec(
    "window_posts",
    _s(
        ("state_date", DATE, False),
        ("algorithm_version", STR, False),
        ("person_id", STR, False),
        ("network", STR, False),
        ("last_date", DATE, False),
        ("posts", LONG, False),
        ("decayed_posts", DBL, False),
        ("source_version", LONG, False),  # the daily_posts version the state was built from
    ),
    partition_by=("algorithm_version", "state_date"),
    keys=("state_date", "algorithm_version", "person_id", "network"),
    description="the window of daily_posts per (person, network), decayed to state_date",
)

AUTHORITY = TableSpec(
    "authority",
    _s(
        ("snapshot_date", DATE, False),
        ("algorithm_version", STR, False),
        ("person_id", STR, False),
        ("network", STR, False),  # "_all": PageRank over every network; a network: the rank that flowed in through it
        ("pagerank", DBL, False),
        ("authority", DBL, False),  # pagerank x vertices of the graph (1 = an average person)
    ),
    partition_by=("snapshot_date",),
    keys=("snapshot_date", "algorithm_version", "person_id", "network"),
    description="PageRank authority of each person on the decayed, bot-discounted engagement graph, overall and per network",
)

# Coordinated rings of a snapshot (clout.graph.rings): one row per member, the group's evidence repeated on each.
RINGS = TableSpec(
    "rings",
    _s(
        ("snapshot_date", DATE, False),
        ("algorithm_version", STR, False),
        ("ring_id", STR, False),  # "ring-<n>": the snapshot's rings numbered by their first member; names nobody
        ("person_id", STR, False),
        ("ring_size", INT, False),  # members
        ("reciprocal_ties", LONG, False),  # pairs of members who both reacted to each other (min_pair_effort each way)
        ("density", DBL, False),  # reciprocal_ties / possible pairs
        ("insularity", DBL, False),  # share of the members' given effort that went to other members
        ("inbound_share", DBL, False),  # share of the effort the members received that came from other members
        ("internal_effort", DBL, False),  # decayed, bot-discounted effort exchanged inside, before the ring discount
        ("member_ties", LONG, False),  # this member's reciprocal ties inside the ring
        ("member_insularity", DBL, False),  # share of this member's given effort that went to other members
        ("member_inbound_share", DBL, False),  # share of the effort this member received from other members
    ),
    partition_by=("snapshot_date",),
    keys=("snapshot_date", "algorithm_version", "person_id"),
    description="coordinated rings per snapshot: members and the evidence (size, density, insularity, inbound share)",
)

# One network's share of a person's score: its parts restricted to reactions on that network, and that network's
# share of the (bot-discounted, decayed) effort the person received.
NETWORK_PART = T.StructType(
    [
        T.StructField("network", STR, True),
        T.StructField("reach", DBL, True),
        T.StructField("amplification", DBL, True),
        T.StructField("authority", DBL, True),  # authority that flowed in through this network's edges
        T.StructField("effort_share", DBL, True),
    ]
)  # fields inside arrays are nullable: Delta cannot enforce NOT NULL there and refuses to declare it
SCORE_FIELDS = (
    ("snapshot_date", DATE, False),
    ("algorithm_version", STR, False),
    ("person_id", STR, False),
    ("score", INT, False),  # 1..100, the published score: the calibrated one moved at most score.max_daily_move a day; the floor when suppressed
    ("raw_score", DBL, False),  # weighted mean of the part percentiles, before calibration
    ("reach", DBL, False),  # bot-discounted, decayed distinct reactors, all networks
    ("amplification", DBL, False),  # bot-discounted, decayed effort received per decayed post
    ("authority", DBL, False),  # PageRank x persons in the graph (1 = an average person)
    ("p_reach", DBL, False),  # each part's percentile in the scored population, 0..1
    ("p_amplification", DBL, False),
    ("p_authority", DBL, False),
    ("networks", STR_ARRAY, False),
    ("network_parts", T.ArrayType(NETWORK_PART), False),
    ("bot_probability", DBL, False),  # the person's highest account bot probability on the snapshot day
    ("suppressed", T.BooleanType(), False),  # risky: score held at the floor, not calibrated with the others
    ("code_version", STR, False),
    # The daily bound (clout.score.bound). These come last and are nullable only so that a lakehouse from before them
    # can add them (TableStore.add_missing_columns, run by the score and publish steps; README: Scores over time):
    # every row written since holds calibrated_score unless carried_forward, and carried_forward.
    ("calibrated_score", INT, True),  # the calibrated 1..100 score before the bound; null for a carried-forward row
    ("carried_forward", T.BooleanType(), True),  # in the previous snapshot, not reached in today's window: drifting to the floor
    ("delta_1d", INT, True),  # score - the person's score 1 day before (same version); null when there is none
    ("delta_7d", INT, True),
    ("delta_30d", INT, True),
)
SCORES = TableSpec(
    "scores",
    _s(*SCORE_FIELDS),
    partition_by=("snapshot_date", "algorithm_version"),
    keys=("snapshot_date", "algorithm_version", "person_id"),
    description="the published 1-100 influence score per person, snapshot date and algorithm version",
)
# The day's scores are computed here first; only a snapshot that passed its quality suite replaces the published
# partition of ``scores``.
SCORES_STAGING = dataclasses.replace(
    SCORES, name="scores_staging", description="scores computed for a snapshot, not yet validated; the publish step copies them to scores"
)

# Per-topic scores (clout.score.topics): on each topic that is not trivial, the persons whose content on it drew
# reactions, calibrated within the topic. Computed into the staging table, published after its suite passed.
TOPIC_SCORES = TableSpec(
    "topic_scores",
    _s(
        ("snapshot_date", DATE, False),
        ("algorithm_version", STR, False),
        ("topic", STR, False),  # as ingested: a hashtag, subreddit, tag or category, lower-case, no '#'
        ("person_id", STR, False),
        ("score", INT, False),  # 1..100 within the topic (calibration of the algorithm version)
        ("raw_score", DBL, False),  # sum over reactors of authority x ln(1 + effort given on the topic)
        ("effort", DBL, False),  # decayed, bot- and ring-discounted effort received on the topic
        ("reactors", LONG, False),  # distinct reactors on the topic (an anonymous placeholder counts once)
        ("networks", STR_ARRAY, False),  # networks the topic's reactions came on, sorted
        ("topic_reactors", LONG, False),  # distinct reactors of the whole topic (>= topics.min_reactors)
        ("topic_persons", LONG, False),  # persons scored on the topic (the calibration population)
        ("last_active", DATE, True),  # the person's latest day posting or reacting in the window (clout search --active-days)
        ("code_version", STR, False),
    ),
    partition_by=("snapshot_date", "algorithm_version"),
    keys=("snapshot_date", "algorithm_version", "topic", "person_id"),
    description="per-topic 1-100 influence score per person, calibrated within each topic, per snapshot and algorithm version",
)
TOPIC_SCORES_STAGING = dataclasses.replace(
    TOPIC_SCORES, name="topic_scores_staging", description="topic scores computed for a snapshot, not yet validated; publishing copies them to topic_scores"
)

# Community-scoped scores (clout.score.community, `clout community`): a member's influence from engagement inside one
# community of one network only, computed on demand for a published snapshot; one community's rows replaced at a time.
COMMUNITY_SCORES = TableSpec(
    "community_scores",
    _s(
        ("snapshot_date", DATE, False),
        ("algorithm_version", STR, False),
        ("network", STR, False),
        ("community", STR, False),  # a topic label of that network's actions (subreddit, category, tag, hashtag); '_all': the whole network
        ("person_id", STR, False),
        ("score", INT, False),  # 1..100 within the community (the algorithm's calibration); the floor for a member nobody engaged
        ("raw_score", DBL, False),  # sum over reactors inside the community of community authority x ln(1 + effort given there)
        ("reach", DBL, False),  # decayed, bot- and ring-discounted distinct reactors inside the community
        ("effort", DBL, False),  # decayed, bot- and ring-discounted effort received inside the community
        ("authority", DBL, False),  # PageRank on the community's own engagement graph x its vertices (1 = an average member)
        ("reactors", LONG, False),  # distinct reactors inside the community (an anonymous placeholder counts once)
        ("members", LONG, False),  # the community's scored members (persons who acted or were acted on inside it in the window)
        ("engaged_members", LONG, False),  # members someone's weighted reaction reached inside it (the calibration population)
        ("code_version", STR, False),
    ),
    partition_by=("snapshot_date", "algorithm_version"),
    keys=("snapshot_date", "algorithm_version", "network", "community", "person_id"),
    description="per-community 1-100 influence score per member, from engagement inside the community only, per snapshot and algorithm version",
)

SHARE = lambda name: T.StructType([T.StructField(name, STR, True), T.StructField("share", DBL, True)])  # noqa: E731
ENGAGER = T.StructType([T.StructField("person_id", STR, True), T.StructField("score", INT, True), T.StructField("share", DBL, True)])
SCORE_EXPLANATIONS = TableSpec(
    "score_explanations",
    _s(
        ("snapshot_date", DATE, False),
        ("algorithm_version", STR, False),
        ("person_id", STR, False),
        ("score", INT, False),
        ("p_reach", DBL, False),
        ("p_amplification", DBL, False),
        ("p_authority", DBL, False),
        ("networks", T.ArrayType(SHARE("network")), False),  # share of the effort received, largest first
        ("topics", T.ArrayType(SHARE("topic")), False),  # share of the topical effort received, largest first
        ("top_engagers", T.ArrayType(ENGAGER), False),  # who contributed most, with their own score
        ("top_engagers_share", DBL, False),  # share of the effort the top engagers gave
        ("engagers", LONG, False),  # distinct persons who reacted in the window
        ("bot_discount", DBL, False),  # share of the raw effort removed as bot reactions
        ("suppressed", T.BooleanType(), False),
        ("previous_date", DATE, True),  # the previous snapshot of this version
        ("previous_score", INT, True),
        ("score_change", INT, True),  # score - previous_score
        ("summary", STR, False),  # the one-line explanation
    ),
    partition_by=("snapshot_date", "algorithm_version"),
    keys=("snapshot_date", "algorithm_version", "person_id"),
    description="why each score is what it is: parts, networks, topics, top engagers, bot discount, change",
)

ACCOUNT_RISK = TableSpec(
    "account_risk",
    _s(
        ("risk_date", DATE, False),
        ("network", STR, False),
        ("account", STR, False),
        ("probability", DBL, False),  # the day's bot probability: behaviour alone, or combined with the profile's (bots.evidence)
        ("is_risky", T.BooleanType(), False),
        # "classifier:0.93" (behaviour), "profile:0.97", "combined:0.62", "fixed_interval", "follow_farm"; empty when not risky
        ("reasons", STR_ARRAY, False),
        ("model_version", STR, False),  # behaviour model "<registered model name>/<version>"
        # the behaviour classifier's probability; nullable only so a lakehouse from before it can add it (README: Bot profiles)
        ("behaviour_probability", DBL, True),
        ("profile_probability", DBL, True),  # the profile classifier's, for an account with a row in account_profiles
        ("profile_model_version", STR, True),  # the profile model behind it
    ),
    partition_by=("risk_date",),
    keys=("risk_date", "network", "account"),
    description="bot risk per account and day: behaviour and profile probabilities, rules fired, model versions",
)

# The latest Twitter v1 profile snapshot per account, as checked by clout.bots.features.check_profiles; loaded by
# `clout bots profiles` (clout.bots.profiles). The daily risk scores these with the profile model.
ACCOUNT_PROFILES = TableSpec(
    "account_profiles",
    _s(
        ("account", STR, False),  # "<network>:<id>", as ingest spells account ids
        ("network", STR, False),
        ("id", STR, False),  # the network's own id
        *((c, LONG, False) for c in ("statuses_count", "followers_count", "friends_count", "favourites_count", "listed_count")),
        ("created", TS, False),  # the account's creation time
        ("crawled", TS, False),  # when the profile was read (its creation time when the export has none)
        *((c, T.BooleanType(), False) for c in ("default_profile", "default_profile_image", "geo_enabled", "profile_use_background_image")),
        *((c, STR, True) for c in ("name", "screen_name", "description", "url", "location", "lang", "time_zone", "utc_offset")),
        ("source_file", STR, False),
        ("loaded_at", TS, False),
        ("run_id", STR, False),
    ),
    keys=("account",),
    description="latest profile snapshot per account (Twitter v1 fields, checked): the profile model's input",
)

PROFILE_QUARANTINE = TableSpec(
    "profile_quarantine",
    _s(
        ("quarantine_id", STR, False),  # sha256 of the file and the raw row: the same bad row loaded twice is stored once
        ("network", STR, False),
        ("source_file", STR, False),
        ("reason", STR, False),  # malformed_record, missing_id, bad_count, bad_created_at, duplicate_id, opted_out
        ("account", STR, True),
        ("raw_payload", STR, True),  # null for opted_out
        ("loaded_at", TS, False),
        ("run_id", STR, False),
    ),
    keys=("quarantine_id",),
    description="profile rows `clout bots profiles` set aside, with the reason and the raw row",
)

PROMOTIONS = TableSpec(
    "promotions",
    _s(
        ("promotion_id", STR, False),
        ("algorithm_version", STR, False),  # the version behind scores_current ...
        ("effective_from", DATE, False),  # ... for snapshots on and after this date
        ("previous_version", STR, True),  # the version it replaced on that date
        ("promoted_at", TS, False),
        ("promoted_by", STR, False),
        ("reason", STR, False),
        ("mlflow_run_id", STR, True),  # the compare/promote run that recorded it
    ),
    keys=("promotion_id",),
    description="which algorithm version is published as current from which snapshot date: who promoted it, when and why",
)

ERASURE_LOG = TableSpec(
    "erasure_log",
    _s(
        ("request_id", STR, False),
        ("erased_at", TS, False),
        ("table_name", STR, False),
        ("rows_deleted", LONG, False),
        ("version_before", LONG, False),
        ("version_after", LONG, False),
        ("vacuum_retain_hours", DBL, True),  # null: the table's own retention policy
    ),
    keys=("request_id", "table_name"),
    description="one row per table an erasure changed; no person or account ids",
)

SUPPRESSIONS = TableSpec(
    "suppressions",
    _s(
        ("key", STR, False),  # sha256 of the salt (ingest.suppression_salt) and the id: no id is kept in clear
        ("kind", STR, False),  # account | person
        ("source", STR, False),  # forget | optout
        ("request_id", STR, False),
        ("recorded_at", TS, False),
    ),
    keys=("key",),
    description="hashed ids of erased and opted-out accounts and persons: ingest and identity linking keep them out",
)

ALL_TABLES = (
    EVENTS, QUARANTINE, INGEST_LOG, ACCOUNTS, IDENTITY_LINKS, DAILY_INTERACTIONS, POSTS_DAILY, AUTHORITY, RINGS, SCORES_STAGING, SCORES,
    SCORE_EXPLANATIONS, ACCOUNT_RISK, ACCOUNT_PROFILES, PROFILE_QUARANTINE, PROMOTIONS, ERASURE_LOG, SUPPRESSIONS,
    TOPIC_SCORES_STAGING, TOPIC_SCORES, COMMUNITY_SCORES, WINDOW_PAIRS, WINDOW_POSTS,
)  # fmt: skip


class TableStore:
    """Paths, creation, reads and Delta versions of the project's tables."""

    def __init__(self, spark: SparkSession, settings: Settings):
        self.spark = spark
        self.settings = settings

    def path(self, spec: TableSpec) -> str:
        return self.settings.table_path(spec.name)

    def exists(self, spec: TableSpec) -> bool:
        from delta.tables import DeltaTable

        return DeltaTable.isDeltaTable(self.spark, self.path(spec))

    def ensure(self, spec: TableSpec) -> None:
        """Create the empty Delta table with its declared schema and partitioning if it is not there."""
        if self.exists(spec):
            return
        from delta.tables import DeltaTable

        builder = DeltaTable.createIfNotExists(self.spark).location(self.path(spec)).addColumns(spec.schema)
        if spec.partition_by:
            builder = builder.partitionedBy(*spec.partition_by)
        if spec.description:
            builder = builder.comment(spec.description)
        for key, value in spec.properties.items():
            builder = builder.property(key, value)
        builder.execute()

    def add_missing_columns(self, spec: TableSpec) -> list[str]:
        """Add to an existing table the columns ``spec`` declares and it lacks; return their names.

        How a lakehouse written before a release that declares new columns catches up: an empty append with Delta's
        schema merge changes the table's schema only (one commit, no data file; older rows read null in the new
        columns), so it needs no SQL text and is a no-op once done. Only nullable columns can be added this way: a
        column declared NOT NULL would be violated by every older row.
        """
        if not self.exists(spec):
            return []
        present = set(self.read(spec).columns)
        missing = [f for f in spec.schema.fields if f.name not in present]
        if not missing:
            return []
        required = [f.name for f in missing if not f.nullable]
        if required:
            raise RuntimeError(f"{spec.name} lacks the NOT NULL column(s) {required}: older rows have no value for them; migrate the table by hand")
        empty = self.spark.createDataFrame([], spec.schema).select(*spec.columns)
        with faults.writing(spec.name, self.path(spec)):
            commits.with_retry(spec.name, lambda: empty.write.format("delta").mode("append").option("mergeSchema", "true").save(self.path(spec)))
        return [f.name for f in missing]

    def read(self, spec: TableSpec, version: int | None = None) -> DataFrame:
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(spec))

    def delta(self, spec: TableSpec):
        from delta.tables import DeltaTable

        self.ensure(spec)
        return DeltaTable.forPath(self.spark, self.path(spec))

    def _latest_snapshot(self, spec: TableSpec):
        """The table's Delta log snapshot brought up to date (JVM object), or None when there is no table.

        It lists ``_delta_log``, so commits of other processes count (stalenessAcceptable=False), and runs no Spark
        job: ``DeltaTable.history(1)`` builds a DataFrame and runs a job for it, 0.2-0.4 s a call against about 15 ms,
        and a daily run asks for about 25 versions."""
        if not self.exists(spec):
            return None
        no_option = self.spark._jvm.scala.Option.empty()
        log = self.spark._jvm.org.apache.spark.sql.delta.DeltaLog.forTable(self.spark._jsparkSession, self.path(spec))
        return log.update(False, no_option, no_option)

    def version(self, spec: TableSpec) -> int | None:
        """The table's latest committed version, or None when there is no table (from the Delta log)."""
        snapshot = self._latest_snapshot(spec)
        return None if snapshot is None else int(snapshot.version())

    def snapshot_id(self, spec: TableSpec) -> tuple[str, int] | None:
        """(the table's Delta id, its latest version), or None when there is no table: names one table version's
        contents for good, even across a table dropped and created again at the same path (a new id)."""
        snapshot = self._latest_snapshot(spec)
        return None if snapshot is None else (str(snapshot.metadata().id()), int(snapshot.version()))

    def properties(self, spec: TableSpec) -> dict[str, str]:
        """The table's properties (TBLPROPERTIES) from its Delta log, without a Spark job ({} when there is no table)."""
        snapshot = self._latest_snapshot(spec)
        if snapshot is None:
            return {}
        configuration = snapshot.metadata().configuration()
        return {key: configuration.apply(key) for key in _scala_keys(configuration)}

    def metrics_since(self, spec: TableSpec, before: int | None) -> dict[str, str]:
        """The operation metrics of the table's latest commit (``numDeletedRows``, ``numTargetRowsInserted``, ...), or
        {} when its version is still ``before``: a DELETE or MERGE that matched nothing commits nothing."""
        latest = self.delta(spec).history(1).select("version", "operationMetrics").first()
        if latest is None or int(latest["version"]) == before:
            return {}
        return latest["operationMetrics"] or {}

    def partition_dates(
        self, spec: TableSpec, column: str, start: dt.date | None = None, end: dt.date | None = None, version: str | None = None
    ) -> list[dt.date]:
        """Distinct values of the date partition ``column`` (in [start, end] when given; of one algorithm ``version``
        when given), ascending. One row per day reaches the driver: bounded by the days stored, not by the rows."""
        if not self.exists(spec):
            return []
        rows = self.read(spec)
        if start is not None:
            rows = rows.where(F.col(column) >= F.lit(start))
        if end is not None:
            rows = rows.where(F.col(column) <= F.lit(end))
        if version is not None:
            rows = rows.where(F.col("algorithm_version") == F.lit(version))
        return sorted(r[0] for r in rows.select(column).distinct().collect())

    def replace_partitions(self, spec: TableSpec, df: DataFrame, condition: str) -> None:
        """Atomically replace the rows matching ``condition`` (a partition predicate) with ``df``."""
        self.ensure(spec)
        writer = df.select(*spec.columns).write.format("delta").mode("overwrite").option("replaceWhere", condition)
        with faults.writing(spec.name, self.path(spec)):
            commits.with_retry(spec.name, lambda: writer.save(self.path(spec)))

    def append(self, spec: TableSpec, source: DataFrame) -> None:
        """Append rows in one atomic commit (the caller has made sure they are new)."""
        self.ensure(spec)
        with faults.writing(spec.name, self.path(spec)):
            commits.with_retry(spec.name, lambda: source.select(*spec.columns).write.format("delta").mode("append").save(self.path(spec)))

    def insert_new(self, spec: TableSpec, source: DataFrame, keys: list[str], partition_filter: tuple[str, list] | None = None) -> None:
        """Insert the rows whose keys are not in the table yet (atomic and idempotent: an insert-only MERGE).

        ``partition_filter`` (column, dates) limits the key lookup to the partitions the source can touch.
        """
        condition = " AND ".join(f"t.{identifier(k)} = s.{identifier(k)}" for k in keys)
        if partition_filter and partition_filter[1]:
            column, values = partition_filter
            literals = ", ".join(date_literal(v) for v in values)
            condition = f"t.{identifier(column)} IN ({literals}) AND {condition}"
        merge = self.delta(spec).alias("t").merge(source.alias("s"), condition).whenNotMatchedInsertAll()
        with faults.writing(spec.name, self.path(spec)):
            commits.with_retry(spec.name, merge.execute)  # insert-only: a rerun after a conflict inserts only what is still new

    def register_all(self) -> list[str]:
        """Register every existing table in the session catalog under the configured database, and the views.

        A table already registered at another location (the lakehouse moved, or another lakehouse used the same
        database name first) is re-pointed: a catalog that keeps the old location would answer from stale files.
        """
        db = identifier(self.settings.storage.database, "storage.database")
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
        registered = []
        for spec in ALL_TABLES:
            if self.exists(spec):
                self.register(spec)
                registered.append(f"{db}.{spec.name}")
        if self.exists(SCORES):
            registered += [f"{db}.scores_promoted", self.create_current_view()]
            if self.has_topic_view_tables():
                registered.append(f"{db}.topic_influencers")
        return registered

    def register(self, spec: TableSpec) -> None:
        """Register one table by its location, or re-point the catalog entry when it names another location."""
        db = identifier(self.settings.storage.database, "storage.database")
        name, location = f"{db}.{spec.name}", self.path(spec)
        entry = self.catalog_entry(name)
        if entry is not None:
            table_type, registered_at = entry
            if _same_location(registered_at, location):
                return
            if table_type != "EXTERNAL":
                # dropping a managed table deletes its files: not for registration to do
                raise RuntimeError(f"{name} is a {table_type.lower()} catalog object at {registered_at}, not Clout's table at {location}; drop it first")
            self.spark.sql(f"DROP TABLE {name}")  # an external table: the catalog entry goes, the Delta files stay
        self.spark.sql(f"CREATE TABLE {name} USING DELTA LOCATION {path_literal(location)}")

    def catalog_entry(self, name: str) -> tuple[str, str] | None:
        """(table type, location) of a catalog entry, or None when there is none.

        Read from the session catalog's own metadata: DESCRIBE would load each Delta table's log to answer.
        """
        state = self.spark._jsparkSession.sessionState()
        ident = state.sqlParser().parseTableIdentifier(name)
        if not state.catalog().tableExists(ident):
            return None
        meta = state.catalog().getTableMetadata(ident)
        location = meta.storage().locationUri()
        return meta.tableType().name(), location.get().toString() if location.isDefined() else ""

    def view_definitions(self) -> dict[str, str]:
        """The queries behind ``scores_promoted``, ``scores_current`` and (once topic scores exist) ``topic_influencers``.

        ``scores_promoted``: for each snapshot date, the scores of the version promoted for that date (the latest
        promotion effective on or before it; conf ``algorithm.version`` before any). ``scores_current``: its latest
        snapshot date. ``topic_influencers``: ``influencer_rows`` of the version promoted for each date, what
        ``clout search`` filters. Versions come from validated conf and the promotions table, never from user text.
        """
        db = identifier(self.settings.storage.database, "storage.database")
        default = string_literal(self.settings.algorithm.version, "algorithm version")
        if self.exists(PROMOTIONS):
            effective = (
                f"SELECT d.snapshot_date, coalesce(max_by(p.algorithm_version, struct(p.promoted_at, p.promotion_id)), {default}) AS algorithm_version "
                f"FROM (SELECT DISTINCT snapshot_date FROM {db}.scores) d LEFT JOIN {db}.promotions p ON p.effective_from <= d.snapshot_date "
                "GROUP BY d.snapshot_date"
            )
        else:
            effective = f"SELECT DISTINCT snapshot_date, {default} AS algorithm_version FROM {db}.scores"
        views = {
            "scores_promoted": (
                f"SELECT s.* FROM {db}.scores s JOIN ({effective}) e ON s.snapshot_date = e.snapshot_date AND s.algorithm_version = e.algorithm_version"
            ),
            "scores_current": f"SELECT * FROM {db}.scores_promoted WHERE snapshot_date = (SELECT max(snapshot_date) FROM {db}.scores_promoted)",
        }
        if self.has_topic_view_tables():
            rows = influencer_rows(lambda spec: f"{db}.{spec.name}")
            views["topic_influencers"] = (
                f"SELECT r.* FROM ({rows}) r JOIN ({effective}) e ON r.snapshot_date = e.snapshot_date AND r.algorithm_version = e.algorithm_version"
            )
        return views

    def has_topic_view_tables(self) -> bool:
        """``topic_influencers`` reads topic scores and the explanations: a lakehouse scored without the explain stage
        (tests of the score alone, the real-data validations) has no view to make."""
        return self.exists(TOPIC_SCORES) and self.exists(SCORE_EXPLANATIONS)

    def create_current_view(self) -> str:
        """Create (or replace) ``scores_promoted``, ``scores_current`` and ``topic_influencers`` (see ``view_definitions``)."""
        db = identifier(self.settings.storage.database, "storage.database")
        for spec in (PROMOTIONS, TOPIC_SCORES, SCORE_EXPLANATIONS):  # what the views read besides scores
            if self.exists(spec):
                self.register(spec)
        for name, query in self.view_definitions().items():
            self.spark.sql(f"CREATE OR REPLACE VIEW {db}.{name} AS {query}")
        return f"{db}.scores_current"


def influencer_rows(table) -> str:
    """The query of the influencer search (``clout search`` and the ``topic_influencers`` view): one row per topic score,
    with the person's rank in the topic, global score, the networks the topic score was earned on, last active day and
    the explanation line. ``table(spec)`` names a table in SQL (the catalog's ``db.name``, or a session's temp view).

    One text for both, so the command and the view cannot disagree; the version per date is chosen by the caller
    (the view: the promoted one, as ``scores_promoted``; the command: ``promotions.current_version``, the same rule).
    ``topic_rank`` orders by topic score, then raw score, then id: a total order, the same on every run.
    """
    same_snapshot = "{o}.snapshot_date = t.snapshot_date AND {o}.algorithm_version = t.algorithm_version AND {o}.person_id = t.person_id"
    return (
        "SELECT t.snapshot_date, t.algorithm_version, t.topic, "
        "row_number() OVER (PARTITION BY t.snapshot_date, t.algorithm_version, t.topic ORDER BY t.score DESC, t.raw_score DESC, t.person_id) AS topic_rank, "
        "t.person_id, t.score AS topic_score, s.score AS score, t.networks, t.last_active, e.summary "
        f"FROM {table(TOPIC_SCORES)} t "
        f"LEFT JOIN {table(SCORES)} s ON {same_snapshot.format(o='s')} "
        f"LEFT JOIN {table(SCORE_EXPLANATIONS)} e ON {same_snapshot.format(o='e')}"
    )


def _scala_keys(scala_map) -> list[str]:
    keys, iterator = [], scala_map.keysIterator()
    while iterator.hasNext():
        keys.append(str(iterator.next()))
    return keys


def _same_location(registered: str, wanted: str) -> bool:
    """Whether a catalog location (``file:/x`` for a local folder) is the table path ``wanted`` (``/x``)."""

    def plain(location: str) -> str:
        location = location.rstrip("/")
        for prefix in ("file://", "file:"):
            if location.startswith(prefix) and location[len(prefix) :].startswith("/"):
                return location[len(prefix) :]
        return location

    return plain(registered) == plain(wanted)
