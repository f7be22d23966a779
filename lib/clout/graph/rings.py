"""Coordinated rings: groups of persons who react to each other far more than to anyone else (GraphFrames).

Why. A ring of accounts that like and share each other manufactures reach, amplification and authority out of
nothing: every member looks engaged by many people. Bot discounts do not see it when the members behave like
people. What gives a ring away is the shape of its engagement: many reciprocal ties inside the group, and the
effort its members give and receive staying inside it.

How, from the snapshot's window reactions (topic '_all', decayed and bot-discounted):

1. reciprocal ties: two named persons who each gave the other at least ``rings.min_pair_effort`` (over all
   networks). One-way attention (a fan and a star) never makes a tie.
2. candidate groups: GraphFrames label propagation on the ties. A dense group agrees on one label within a few
   rounds, while weak ties to outsiders lose the vote, so a ring stands out even inside a large connected
   honest graph (connected components would merge it with everyone its members ever traded likes with).
3. evidence per group: size, density (ties inside / possible pairs), insularity (share of the members' given
   effort that went to other members) and inbound share (share of the effort they received that came from other
   members). A member whose own insularity is below ``min_insularity`` (an honest friend with one foot in the
   group, who picked up its label) is dropped and the evidence is computed again on the rest.
4. a ring: ``min_size <= size <= max_size``, density, insularity and inbound share at their thresholds.

Honest communities are dense too, but their members also react to others and are reacted to by outsiders,
so they fail insularity or the inbound share. The ``rings`` table keeps every member with the evidence.
"""

from __future__ import annotations

import datetime as dt

from graphframes import GraphFrame
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from clout.config import Algorithm, RingsConf, Settings
from clout.exact import exact_sum
from clout.ordering import materialised, sorted_numbers
from clout.sqltext import snapshot_condition
from clout.tables import RINGS, TableStore

# the group-level evidence columns, repeated on each member's row
GROUP_EVIDENCE = ("ring_size", "reciprocal_ties", "density", "insularity", "inbound_share", "internal_effort")
MEMBER_EVIDENCE = ("member_ties", "member_insularity", "member_inbound_share")


def pair_effort(reactions: DataFrame) -> DataFrame:
    """(src, dst, anonymous, effort): effort one actor gave one target in the window, summed over networks."""
    still_weighs = F.col("effort") > 0
    not_self = F.col("actor_person") != F.col("target_person")
    return (
        reactions.where(still_weighs & not_self)
        .groupBy(F.col("actor_person").alias("src"), F.col("target_person").alias("dst"), "anonymous")
        .agg(exact_sum("effort").alias("effort"))  # exact (clout.exact): a tie is decided at min_pair_effort, to the last bit
    )


def reciprocal_ties(pairs: DataFrame, conf: RingsConf) -> DataFrame:
    """(src, dst) with src < dst: named persons who each gave the other at least ``min_pair_effort``."""
    is_strong = (F.col("effort") >= F.lit(conf.min_pair_effort)) & ~F.col("anonymous")
    strong = pairs.where(is_strong).select("src", "dst")
    returned = strong.select(F.col("dst").alias("src"), F.col("src").alias("dst"))
    one_row_per_pair = F.col("src") < F.col("dst")
    return strong.join(returned, on=["src", "dst"], how="inner").where(one_row_per_pair)


def candidate_groups(ties: DataFrame, conf: RingsConf) -> DataFrame:
    """(person_id, group): the label GraphFrames label propagation gives each person with a reciprocal tie.

    The vertices are numbered by ``ordering.sorted_numbers``, not by GraphFrames: label propagation breaks a tie between
    labels (every vertex's first round is all ties) by the labels' numbers, and GraphFrames numbers string ids with
    monotonically_increasing_id after a hash repartition, so the groups found followed spark.sql.shuffle.partitions.
    """
    persons = ties.select(F.col("src").alias("id")).unionByName(ties.select(F.col("dst").alias("id"))).distinct()
    numbers = materialised(sorted_numbers(persons))
    src = numbers.select(F.col("id").alias("src"), F.col("n").alias("src_n"))
    dst = numbers.select(F.col("id").alias("dst"), F.col("n").alias("dst_n"))
    edges = ties.join(src, on="src", how="inner").join(dst, on="dst", how="inner").select(F.col("src_n").alias("src"), F.col("dst_n").alias("dst"))
    # label propagation sends each label both ways along an edge: one row per pair is the undirected graph
    labelled = GraphFrame(numbers.select(F.col("n").alias("id")), edges).labelPropagation(maxIter=conf.label_propagation_iterations)
    named = labelled.join(numbers.select(F.col("n").alias("id"), F.col("id").alias("person_id")), on="id", how="inner")
    return named.select("person_id", F.col("label").cast("string").alias("group"))


def _both_in(members: DataFrame, edges: DataFrame) -> DataFrame:
    """``edges`` (src, dst, ...) with each endpoint's group (null when the endpoint is in no group) and ``inside``."""
    src_group = members.select(F.col("person_id").alias("src"), F.col("group").alias("src_group"))
    dst_group = members.select(F.col("person_id").alias("dst"), F.col("group").alias("dst_group"))
    joined = edges.join(src_group, on="src", how="left").join(dst_group, on="dst", how="left")
    return joined.withColumn("inside", F.coalesce(F.col("src_group") == F.col("dst_group"), F.lit(False)))


def _share(part: str, whole: str) -> Column:
    return F.when(F.col(whole) > 0, F.col(part) / F.col(whole)).otherwise(F.lit(0.0))


def evidence(members: DataFrame, pairs: DataFrame, ties: DataFrame) -> DataFrame:
    """One row per member (person_id, group) with the group's and the member's evidence (see the module docstring)."""
    flows = _both_in(members, pairs)
    inside_effort = F.when(F.col("inside"), F.col("effort")).otherwise(F.lit(0.0))
    given = (
        flows.where(F.col("src_group").isNotNull())
        .groupBy(F.col("src").alias("person_id"))
        .agg(exact_sum("effort").alias("given"), exact_sum(inside_effort).alias("given_inside"))
    )
    received = (
        flows.where(F.col("dst_group").isNotNull())
        .groupBy(F.col("dst").alias("person_id"))
        .agg(exact_sum("effort").alias("received"), exact_sum(inside_effort).alias("received_inside"))
    )
    inside_ties = _both_in(members, ties).where(F.col("inside"))
    tie_ends = inside_ties.select(F.col("src").alias("person_id")).unionByName(inside_ties.select(F.col("dst").alias("person_id")))
    member_ties = tie_ends.groupBy("person_id").agg(F.count(F.lit(1)).alias("member_ties"))
    per_member = (
        members.join(given, on="person_id", how="left")
        .join(received, on="person_id", how="left")
        .join(member_ties, on="person_id", how="left")
        .na.fill(0.0, ["given", "given_inside", "received", "received_inside"])
        .na.fill(0, ["member_ties"])
    )
    size = F.count(F.lit(1))
    per_group = per_member.groupBy("group").agg(
        size.cast("int").alias("ring_size"),
        (F.sum("member_ties") / 2).cast("long").alias("reciprocal_ties"),  # each tie counted at both ends
        exact_sum("given").alias("group_given"),  # exact sums (clout.exact): the evidence is compared with thresholds and written
        exact_sum("given_inside").alias("internal_effort"),  # what members gave members is what members received from them
        exact_sum("received").alias("group_received"),
    )
    possible_pairs = F.col("ring_size") * (F.col("ring_size") - 1) / 2
    groups = per_group.select(
        "group", "ring_size", "reciprocal_ties", "internal_effort",
        F.when(possible_pairs > 0, F.col("reciprocal_ties") / possible_pairs).otherwise(F.lit(0.0)).alias("density"),
        _share("internal_effort", "group_given").alias("insularity"),
        _share("internal_effort", "group_received").alias("inbound_share"),
    )  # fmt: skip
    return per_member.join(groups, on="group", how="inner").select(
        "person_id", "group", *GROUP_EVIDENCE, "member_ties",
        _share("given_inside", "given").alias("member_insularity"),
        _share("received_inside", "received").alias("member_inbound_share"),
    )  # fmt: skip


def is_ring(conf: RingsConf) -> Column:
    """The group's evidence meets every threshold of ``rings`` in the algorithm."""
    sized = F.col("ring_size").between(conf.min_size, conf.max_size)
    dense = F.col("density") >= F.lit(conf.min_density)
    insular = F.col("insularity") >= F.lit(conf.min_insularity)
    fed_from_inside = F.col("inbound_share") >= F.lit(conf.min_inbound_share)
    return sized & dense & insular & fed_from_inside


def belongs(conf: RingsConf) -> Column:
    """The member's own given effort stays inside as much as a ring's must: not an outsider who caught its label."""
    return F.col("member_insularity") >= F.lit(conf.min_insularity)


def find_rings(reactions: DataFrame, conf: RingsConf) -> DataFrame:
    """Ring members with evidence: (ring_id, person_id, *GROUP_EVIDENCE, *MEMBER_EVIDENCE); see the module docstring."""
    # Each evidence pass reads its members five times and the pairs three times, and the second pass's members
    # are the first pass's output: left as plans, the final plan holds the reactions' plan dozens of times over
    # (planning it ran the driver out of memory on 400 persons). Each input is cut to a leaf once computed.
    pairs = materialised(pair_effort(reactions))
    ties = materialised(reciprocal_ties(pairs, conf))
    groups = materialised(candidate_groups(ties, conf))
    first = evidence(groups, pairs, ties)
    # the members of passing groups who belong; the evidence is then taken again without the ones dropped
    kept = materialised(first.where(is_ring(conf) & belongs(conf)).select("person_id", "group"))
    rings = evidence(kept, pairs, ties).where(is_ring(conf))
    # ring ids number the snapshot's rings in the order of their first member: stable across reruns, and derived from
    # no one's id, so erasing a member leaves nothing of them in the others' rows. One partition holds every ring member
    # for this numbering, which is fine: rings are few and at most rings.max_size strong.
    first_member = F.min("person_id").over(Window.partitionBy("group"))
    numbered = rings.withColumn("first_member", first_member).withColumn("ring_number", F.dense_rank().over(Window.orderBy("first_member")))
    return numbered.select(
        F.format_string("ring-%d", F.col("ring_number")).alias("ring_id"),
        "person_id", *GROUP_EVIDENCE, *MEMBER_EVIDENCE,
    )  # fmt: skip


def compute(spark: SparkSession, settings: Settings, algorithm: Algorithm, snapshot_date: dt.date, reactions: DataFrame) -> dict[str, float]:
    """Replace the snapshot's ``rings`` rows for this version (none when ``rings.enabled`` is off); return ring counts."""
    store = TableStore(spark, settings)
    conf = algorithm.rings
    if conf.enabled:
        members = find_rings(reactions, conf)
    else:
        members = spark.createDataFrame([], RINGS.schema).select("ring_id", "person_id", *GROUP_EVIDENCE, *MEMBER_EVIDENCE)
    rows = members.select(F.lit(snapshot_date).alias("snapshot_date"), F.lit(algorithm.version).alias("algorithm_version"), "*")
    store.replace_partitions(RINGS, rows.select(*RINGS.columns), snapshot_condition(snapshot_date, algorithm.version))
    written = snapshot_rings(store, snapshot_date, algorithm.version)
    stats = written.agg(
        F.countDistinct("ring_id").alias("rings"),
        F.count(F.lit(1)).alias("members"),
        F.max("ring_size").alias("largest"),
        F.sum(F.col("internal_effort") / F.col("ring_size")).alias("internal_effort"),  # the group's figure, once per ring
    ).first()
    return {
        "rings_found": float(stats.rings),
        "ring_members": float(stats.members),
        "ring_largest_size": float(stats.largest or 0),
        "ring_internal_effort": float(stats.internal_effort or 0.0),
    }


def snapshot_rings(store: TableStore, snapshot_date: dt.date, algorithm_version: str) -> DataFrame:
    """The snapshot's ``rings`` rows of this version (an empty frame before any ring was ever written)."""
    if not store.exists(RINGS):
        return store.spark.createDataFrame([], RINGS.schema)
    this_snapshot = (F.col("snapshot_date") == F.lit(snapshot_date)) & (F.col("algorithm_version") == F.lit(algorithm_version))
    return store.read(RINGS).where(this_snapshot)
