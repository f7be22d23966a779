"""Community-scoped scores: a member's influence from engagement inside one community only (``clout community``).

A community manager of a subreddit, a forum category or a hashtag's crowd asks who matters *there*: a person famous
on Twitter who posts in the subreddit and is ignored there must score low in it, however high their global score.

What a community is. A community is (network N, label C): the reactions on N that ingest labelled C, read from
the window of ``daily_interactions`` kept as state (``clout.window_state``; no raw event is rescanned). The labels
are the topics the adapters keep (lower-case, without '#'):

- Reddit: the subreddit of the submission, comment or voted Thing (``--community python`` for r/python; a leading
  ``r/`` is accepted). A hashtag written in a post elsewhere with the same word lands on the same label.
- Discourse: one ``discourse`` network is one forum (account ids are the forum's own user ids); its categories
  (slug) and tags are communities inside it, and ``--community _all`` is the whole forum (every reaction on N).
- Facebook: a group or page, by its id (``--community 1234`` for the group 1234; stored as ``feed:1234``, the label
  the adapter reads from Graph's post ids ``<group id>_<post id>``), or a hashtag by its word.
- Twitter, Mastodon, Instagram ...: hashtags.

A label reaches the table's replaceWhere condition, so it must be a plain word (letters, digits, '_', '.', ':', '-'):
subreddits, hashtags and category slugs are; a forum tag with other characters cannot be scored by this command.

Members are the persons who reacted or were reacted to inside the community in the snapshot's window (the score's
own window, read from its state: same days, decay, bot and ring discount; ``window_reactions`` and ``discount_rings``). Posts are
counted per network, not per label (``daily_posts``), so a member who posted there and got no reaction and gave
none is not seen. Risky persons (suppressed in the global score) are not members: a manager must not be shown them.

Score. Person P's raw community score is the topic score's formula (``clout.score.topics``) on the community's
reactions only,

    sum over the persons R who reacted to P inside the community of  authority_C(R) x ln(1 + effort R gave P there)

with ``authority_C``: the weighted PageRank (``clout.graph.pagerank``, the algorithm's damping) of the community's own
engagement graph (members as vertices, the discounted effort given inside it as edge weights), times its vertices (1 =
an average member). Not the global authority: a Twitter celebrity who likes one post in a forum would then weigh
more than the forum's veterans, the same leak from elsewhere on the reactor's side; a community's graph is small
beside the global one, so its own rank costs little. An anonymous placeholder counts as ``topics.unnamed_authority``.

Calibration. Members someone's weighted reaction reached are placed by the exact mid-rank percentile of their raw score
among them (``percentile_within``) and mapped by the algorithm's ``to_scale``, as topic scores are; a member nobody
engaged with inside the community (a lurker, or the person prolific elsewhere and ignored here) gets the floor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F

from clout import window_state
from clout.aggregate.stage import ALL_TOPICS
from clout.config import Algorithm
from clout.errors import InputError
from clout.exact import AMOUNT, exact_sum
from clout.graph.pagerank import PageRankResult, weighted_pagerank
from clout.graph.rings import snapshot_rings
from clout.ingest.adapters.facebook import FEED_PREFIX
from clout.quality.suites import validate
from clout.score.calibrate import percentile_within, to_scale
from clout.score.reactions import discount_rings, snapshot_risk, window_reactions
from clout.score.stage import code_version, is_risky, reach_contribution, snapshot_rows
from clout.score.topics import reactor_contribution
from clout.sqltext import snapshot_condition, string_literal
from clout.tables import COMMUNITY_SCORES, SCORES, TableStore

MAX_LIMIT = 10_000


class CommunityGateFailed(RuntimeError):
    """The community_scores suite rejected the rows: nothing was written (the CLI exits 1 with the failed expectations)."""


LARGEST_SHOWN = 5  # communities named in the error for a community with no members


@dataclass(frozen=True)
class CommunityRequest:
    network: str
    community: str
    day: dt.date
    algorithm_version: str | None = None  # default: the version published as current for the day
    limit: int = 20  # members printed (every member is written)

    @property
    def label(self) -> str:
        """The community as stored: topics are lower-case without '#'; a subreddit may be given as r/name, a Facebook
        group or page as its id (digits: the adapter's ``feed:<id>`` label; a hashtag is never only digits there)."""
        label = self.community.strip().lower().lstrip("#")
        if self.network == "reddit" and label.startswith(("r/", "/r/")):
            label = label.split("r/", 1)[1]
        if self.network == "facebook" and label.isdigit():
            label = FEED_PREFIX + label
        return label

    def problem(self, networks: list[str]) -> str | None:
        """Why the request cannot be answered as asked, or None (checked before any Spark work)."""
        if self.network not in networks:
            return f"--network {self.network!r}: not a configured network ({', '.join(sorted(networks))})"
        if not self.label:
            return "--community is empty"
        if self.label != ALL_TOPICS:
            try:
                string_literal(self.label, "--community")  # the label reaches the table's replaceWhere condition
            except InputError as err:
                return str(err)
        if not 1 <= self.limit <= MAX_LIMIT:
            return f"--limit {self.limit}: expected 1..{MAX_LIMIT:,} (the rows come to the driver to be printed)"
        return None


@dataclass(frozen=True)
class CommunityResult:
    algorithm_version: str
    members: int
    engaged_members: int
    rows: list[Row]  # the best ``limit`` members, with their global score


# Named conditions (functions: a Column needs a running session)
def in_community(network: str, label: str) -> Column:
    """A reaction on the community's network carrying its label ('_all': every reaction of the network)."""
    return (F.col("network") == F.lit(network)) & (F.col("topic") == F.lit(label))


def gave_effort() -> Column:
    """The reaction still weighs something after the bot and ring discounts."""
    return F.col("effort") > 0


def engaged() -> Column:
    """Someone's weighted reaction reached the member inside the community."""
    return F.col("raw_score") > 0


def community_condition(day: dt.date, version: str, network: str, label: str) -> str:
    """The replaceWhere condition of one community's rows of one snapshot."""
    community = f"'{ALL_TOPICS}'" if label == ALL_TOPICS else string_literal(label, "--community")  # '_all': a constant of the code
    return f"{snapshot_condition(day, version)} AND network = {string_literal(network, 'network')} AND community = {community}"


def community_reactions(store: TableStore, algorithm: Algorithm, day: dt.date, network: str, label: str, risk: DataFrame, anonymous: list[str]) -> DataFrame:
    """The window's reactions inside the community, decayed, bot- and ring-discounted like the score's (``risk``: the
    snapshot's, ``snapshot_risk``)."""
    pairs = window_state.pairs(store, algorithm, day, topics=label != ALL_TOPICS).where(in_community(network, label))
    window = window_reactions(pairs, risk, day, algorithm, anonymous)
    return discount_rings(window, snapshot_rings(store, day, algorithm.version), algorithm)


def members_of(reactions: DataFrame, risk: DataFrame, algorithm: Algorithm) -> DataFrame:
    """(person_id): named persons who reacted or were reacted to inside the community, less the suppressed ones."""
    actors = reactions.where(~F.col("anonymous")).select(F.col("actor_person").alias("person_id"))
    seen = actors.unionByName(reactions.select(F.col("target_person").alias("person_id"))).distinct()
    suppressed = risk.where(is_risky() & F.lit(algorithm.bots.suppress_risky)).select("person_id")
    return seen.join(suppressed, on="person_id", how="left_anti")


def community_ranks(reactions: DataFrame, members: DataFrame, algorithm: Algorithm) -> PageRankResult:
    """Weighted PageRank of the community's engagement graph: members are vertices, the discounted effort given inside
    the community weighs the edges (``result.ranks`` is persisted: unpersist it when done)."""
    edges = (
        reactions.where(~F.col("anonymous") & gave_effort())
        .groupBy(F.col("actor_person").alias("src"), F.col("target_person").alias("dst"))
        .agg(exact_sum("effort", AMOUNT).alias("weight"))
    )
    pr = algorithm.pagerank
    return weighted_pagerank(members.select(F.col("person_id").alias("id")), edges, pr.damping, pr.tol, pr.max_iter, pr.checkpoint_interval)


def community_authority(ranks: DataFrame) -> DataFrame:
    """(person_id, authority): the community rank x its vertices (1 = an average member)."""
    vertices = ranks.count()  # the ranks are persisted: counting reads no graph again
    return ranks.select(F.col("id").alias("person_id"), (F.col("rank") * F.lit(float(vertices))).alias("authority"))


def raw_community_scores(reactions: DataFrame, authority: DataFrame, algorithm: Algorithm) -> DataFrame:
    """(person_id, raw_score, reach, effort, reactors) of every member someone reacted to inside the community."""
    reactor_authority = authority.select(F.col("person_id").alias("actor_person"), F.col("authority").alias("reactor_authority"))
    # one network and one label: each (actor, target) is one window row already
    weighted = reactions.join(reactor_authority, on="actor_person", how="left").withColumn("contribution", reactor_contribution(algorithm))
    return weighted.groupBy(F.col("target_person").alias("person_id")).agg(
        exact_sum("contribution").alias("raw_score"),  # exact: a last bit that followed the partitioning would break rank ties
        exact_sum(reach_contribution()).alias("reach"),
        exact_sum("effort").alias("effort"),
        F.count(F.when(gave_effort(), F.lit(1))).alias("reactors"),
    )


def calibrated(members: DataFrame, raw: DataFrame, authority: DataFrame, algorithm: Algorithm) -> DataFrame:
    """Every member with ``score``: engaged members placed among themselves, the others at the floor."""
    cal = algorithm.calibration
    parts = members.join(raw, on="person_id", how="left").join(authority, on="person_id", how="left")
    zero = F.lit(0.0)
    filled = parts.select(
        "person_id", *(F.coalesce(c, zero).alias(c) for c in ("raw_score", "reach", "effort", "authority")), F.coalesce("reactors", F.lit(0)).alias("reactors")
    )
    # percentile_within ranks per group in one sort; here the group is the one community
    ranked = percentile_within(filled.where(engaged()).withColumn("_community", F.lit(1)), "_community", "raw_score").drop("_community")
    scored = ranked.withColumn("score", to_scale(F.col("p"), cal.mean, cal.p95, cal.floor, cal.ceiling)).drop("p")
    return scored.unionByName(filled.where(~engaged()).withColumn("score", F.lit(cal.floor)))


def has_snapshot(store: TableStore, day: dt.date, version: str) -> bool:
    """The day's snapshot of ``version`` is published (its rings and risk are what the community's reactions are discounted by)."""
    return bool(store.partition_dates(SCORES, "snapshot_date", day, day, version))


def largest_communities(store: TableStore, algorithm: Algorithm, day: dt.date, network: str) -> list[tuple[str, int]]:
    """The network's labels with the most distinct reactors in the window (what to suggest for a community with no members)."""
    labelled = window_state.pairs(store, algorithm, day, topics=True).where(F.col("network") == F.lit(network))
    counts = labelled.groupBy("topic").agg(F.countDistinct("actor_person").alias("reactors"))
    return [(r.topic, r.reactors) for r in counts.orderBy(F.desc("reactors"), "topic").limit(LARGEST_SHOWN).collect()]


def score_community(store: TableStore, algorithm: Algorithm, request: CommunityRequest, anonymous: list[str]) -> CommunityResult:
    """Replace the community's rows of the snapshot in ``community_scores``; the best ``request.limit`` members back.

    Raises InputError (the CLI exits 2) for a day without a published snapshot of the version or a community with no
    members in the window."""
    day, network, label = request.day, request.network, request.label
    if not has_snapshot(store, day, algorithm.version):
        raise InputError(f"no published snapshot of {day} ({algorithm.version}): run `clout daily --date {day}` first")
    risk = snapshot_risk(store, day).cache()
    reactions = community_reactions(store, algorithm, day, network, label, risk, anonymous).cache()
    members = members_of(reactions, risk, algorithm).cache()
    ranks = None
    try:
        count = members.count()
        if count == 0:
            largest = largest_communities(store, algorithm, day, network)
            hint = ", ".join(f"{t} ({n} reactors)" for t, n in largest) if largest else f"no labelled reactions on {network} in the window"
            raise InputError(f"community {label!r} on {network}: no members in the {algorithm.window.days}-day window ending {day}; largest: {hint}")
        ranks = community_ranks(reactions, members, algorithm).ranks
        authority = community_authority(ranks)
        scored = calibrated(members, raw_community_scores(reactions, authority, algorithm), authority, algorithm).cache()
        engaged_count = scored.where(engaged()).count()  # the calibration population, one scalar
        rows = scored.select(
            F.lit(day).alias("snapshot_date"), F.lit(algorithm.version).alias("algorithm_version"), F.lit(network).alias("network"),
            F.lit(label).alias("community"), "person_id", "score", "raw_score", "reach", "effort", "authority", "reactors",
            F.lit(count).cast("long").alias("members"), F.lit(engaged_count).cast("long").alias("engaged_members"),
            F.lit(code_version()).alias("code_version"),
        )  # fmt: skip
        gate = validate(rows, "community_scores", list(store.settings.networks), calibration=algorithm.calibration)
        if not gate.success:  # the stored rows of the community stay as they were
            raise CommunityGateFailed(gate.describe())
        store.replace_partitions(COMMUNITY_SCORES, rows, community_condition(day, algorithm.version, network, label))
        scored.unpersist()
    finally:
        for persisted in (ranks, members, reactions, risk):
            if persisted is not None:
                persisted.unpersist()
    return best_members(store, algorithm.version, request)


def best_members(store: TableStore, version: str, request: CommunityRequest) -> CommunityResult:
    """The community's stored rows, best first (score, raw score, id: a total order), with the member's global score."""
    this = snapshot_rows(request.day, version) & (F.col("network") == F.lit(request.network)) & (F.col("community") == F.lit(request.label))
    community = store.read(COMMUNITY_SCORES).where(this)
    global_score = store.read(SCORES).where(snapshot_rows(request.day, version)).select("person_id", F.col("score").alias("global_score"))
    ordered = community.join(global_score, on="person_id", how="left").orderBy(F.desc("score"), F.desc("raw_score"), "person_id")
    top = ordered.limit(request.limit).collect()  # at most --limit rows
    first = top[0] if top else None
    return CommunityResult(version, first.members if first else 0, first.engaged_members if first else 0, top)


LEFT_ALIGNED = (1,)  # person_id


def table(result: CommunityResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows for ``catalog.print_table`` (with ``left=LEFT_ALIGNED``)."""
    header = ["rank", "person_id", "community_score", "global_score", "reactors", "reach", "effort", "authority"]
    blank = lambda value: "" if value is None else str(value)  # noqa: E731
    rows = [
        [str(k), r.person_id, str(r.score), blank(r.global_score), str(r.reactors), f"{r.reach:.2f}", f"{r.effort:.2f}", f"{r.authority:.2f}"]
        for k, r in enumerate(result.rows, 1)
    ]
    return header, rows
