"""Stack Exchange data dump (quantumcomputing.stackexchange.com), a real dump: XML files, usually gzip.

Native shape: one file per entity, ``<?xml ...?>`` + an enclosing element + one ``<row .../>`` per line with
the values as XML attributes (entities escaped: ``Tags="&lt;qiskit&gt;"``; dates ``2018-03-12T18:15:23.517``,
no zone, UTC). The event files and the attributes used:
- ``Posts.xml``    ``Id, PostTypeId (1 question, 2 answer, 3-8 wiki / moderator posts), ParentId (answer ->
  question), AcceptedAnswerId (question), CreationDate, OwnerUserId (absent: deleted user), Body, Tags``
  (``<quantum-gate><qiskit>``)
- ``Comments.xml`` ``Id, PostId, UserId (absent: deleted user), CreationDate, Text``
- ``Votes.xml``    ``Id, PostId, VoteTypeId, UserId (favourites and bounties only), CreationDate`` (day
  resolution: ``2018-03-12T00:00:00.000``)

Reading (``read``): only files named ``Posts.xml``, ``Comments.xml`` or ``Votes.xml`` (any case, optionally
``.gz``/``.bz2``) are read; one raw record per ``<row`` line. The XML declaration and the enclosing element
lines are not records. Reference files (``Users``, ``Badges``, ``Tags``, ``PostLinks``, ``PostHistory``...)
passed in are ignored: they describe people and the site, not actions, so they yield no records (the ingest
stage then logs them with 0 records). ``Users.Reputation`` is an external standing measure for validating
scores, read elsewhere.

Parsing: ``from_xml`` per line (attributes become ``_Name`` fields, entities unescaped); a line that is not
well-formed XML -> ``malformed_record``; an unparseable CreationDate or a non-integer PostTypeId /
VoteTypeId -> ``wrong_type``.

Mapping (account ids ``stackexchange:<user id>``; content ids ``post:<Id>`` / ``comment:<Id>``; topics are
the question's tags, for answers, comments and votes found through ParentId / PostId):
- question (PostTypeId 1) -> ``post`` by OwnerUserId, topics = its Tags, text_chars = len(Body);
  event_id ``stackexchange:post:<Id>``.
- answer (PostTypeId 2) -> ``answer`` by OwnerUserId aimed at the owner of the ParentId question,
  content ``post:<Id>``, target content ``post:<ParentId>``; event_id ``stackexchange:post:<Id>``.
- a question's AcceptedAnswerId -> ``accepted_answer`` (one more event of the question's record) from the
  question owner to the answer owner, target content ``post:<answer Id>``; event_id
  ``stackexchange:accepted_answer:<answer Id>``. Time: the acceptance vote (VoteTypeId 1 on that answer)
  has day resolution, so its midnight often precedes the answer itself; the event time is
  ``greatest(acceptance vote day, answer CreationDate)``, i.e. the later of the two that the dump holds
  (answer CreationDate alone when there is no acceptance vote; ``missing_timestamp`` when neither is known).
- other post types (tag wikis 4/5, moderator posts ...) -> ``no_events``: not actions between persons.
- comment -> ``comment`` by UserId aimed at the owner of PostId (question or answer), content
  ``comment:<Id>``, target content ``post:<PostId>``, text_chars = len(Text); event_id
  ``stackexchange:comment:<Id>``.
- vote (event_id ``stackexchange:vote:<Id>``, target = owner of PostId, target content ``post:<PostId>``,
  time = the vote day): VoteTypeId 2 -> ``vote_up``, 3 -> ``vote_down``, 5 (favourite) -> ``like`` by its
  UserId. Up/down voters are anonymous in the dump, so their actor is the shared account
  ``stackexchange:anonymous`` (a later stage treats it specially; it is never a person). VoteTypeId 1
  (acceptance) is not an event of its own -- its day feeds the question's ``accepted_answer`` -- and the
  remaining types (4 offensive, 6 close, 7 reopen, 8/9 bounty start/close, 10/11 deletion/undeletion,
  12 spam, 15 moderator review, 16 approve edit ...) are moderation, not influence: all -> ``no_events``.

Missing people: a post or comment whose owner is absent (deleted user), or an action aimed at a post not in
the dump (deleted post), keeps its actor / target null, so validation quarantines it as ``missing_id``.
Self-directed actions (answering or commenting on one's own post, accepting one's own answer, favouriting
one's own question) are passed through and quarantined as ``self_interaction`` by validation.

The lookups (post owner, question tags, acceptance vote day) are left joins of the raw rows with
aggregations of the same raw rows (unique per post Id), so every record keeps exactly one row. They see only
the rows of one batch: a dump must be ingested whole (Posts with its Comments and Votes in one run, as the
ingest stage does for a dump folder); Comments or Votes ingested without their Posts get null targets and
are quarantined as ``missing_id``.
"""

from __future__ import annotations

import posixpath
import re

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout.ingest.adapters.base import (
    CORRUPT,
    account,
    candidates,
    event,
    event_key,
    first_problem,
    read_lines,
    topics,
    ts_iso,
    wrong_type,
)

NETWORK = "stackexchange"
ANONYMOUS = f"{NETWORK}:anonymous"
# placeholder actors standing for many unnamed people: never a person, never scored (clout.identity)
ANONYMOUS_ACCOUNTS = (ANONYMOUS,)
EVENT_FILES = ("posts", "comments", "votes")
_FILE_NAME = r"(?i)^(posts|comments|votes)\.xml(\.gz|\.bz2)?$"
VOTE_ACTIONS = {2: "vote_up", 3: "vote_down", 5: "like"}
ANONYMOUS_VOTES = (2, 3)
ACCEPTED_VOTE = 1

_ATTRS = (
    "Id",
    "PostTypeId",
    "ParentId",
    "AcceptedAnswerId",
    "CreationDate",
    "OwnerUserId",
    "Body",
    "Tags",
    "PostId",
    "UserId",
    "Text",
    "VoteTypeId",
)
_SCHEMA = T.StructType([T.StructField(f"_{a}", T.StringType()) for a in _ATTRS] + [T.StructField(CORRUPT, T.StringType())])


def event_file_kind(path: str) -> str | None:
    """'posts' / 'comments' / 'votes' for an event file of the dump, None for any other file."""
    m = re.match(_FILE_NAME, posixpath.basename(path.rstrip("/")))
    return m.group(1).lower() if m else None


# The lines of a dump file that are its XML wrapper, not records: the declaration and the root element's tags.
_WRAPPER_LINE = r"^[\x{FEFF}\s]*(<\?xml.*\?>|</?[A-Za-z]+>)\s*$"  # a byte-order mark may lead the declaration


def read(spark: SparkSession, paths: list[str]) -> DataFrame:
    """One record per line of the event files among ``paths``, but the XML wrapper; reference files are ignored.

    A line that is not a well-formed ``<row .../>`` (truncated, mangled) is still a record: the parse rejects it
    as malformed, so it is quarantined, never silently skipped.
    """
    event_paths = [p for p in paths if event_file_kind(p)]
    if not event_paths:
        return spark.createDataFrame([], "raw_payload string, source_file string")
    return read_lines(spark, event_paths).where(~F.col("raw_payload").rlike(_WRAPPER_LINE))


def _kind(source_file: Column) -> Column:
    return F.lower(F.regexp_extract(F.regexp_extract(source_file, r"([^/]+)$", 1), _FILE_NAME, 1))


def _ts(value: Column) -> Column:
    """Dump dates carry no zone and are UTC; a value that has a zone keeps it."""
    return ts_iso(F.when(value.rlike(r"(Z|[+-]\d\d:?\d\d)$"), value).otherwise(F.concat(value, F.lit("Z"))))


def _tags(value: Column) -> Column:
    """'<quantum-gate><qiskit>' -> ['qiskit', 'quantum-gate'] (normalised)."""
    return topics(F.regexp_extract_all(F.coalesce(value, F.lit("")), F.lit(r"<([^<>]+)>"), 1))


def _ref(prefix: str, native_id: Column) -> Column:
    trimmed = F.trim(native_id)
    return F.when(trimmed.isNotNull() & (trimmed != ""), F.concat(F.lit(prefix), trimmed))


def _lookup(parsed: DataFrame) -> DataFrame:
    """Per post Id: owner, creation time, the tags of its question and the day of its acceptance vote."""
    posts = (
        parsed.where((F.col("kind") == "posts") & F.col("x._Id").isNotNull())
        .groupBy(F.col("x._Id").alias("id"))
        .agg(
            F.min(
                F.struct(
                    F.col("x._PostTypeId").alias("type"),
                    F.col("x._ParentId").alias("parent"),
                    F.col("x._OwnerUserId").alias("owner"),
                    F.col("x._CreationDate").alias("created"),
                    F.col("x._Tags").alias("tags"),
                )
            ).alias("p")
        )
        .select("id", "p.*")
    )
    questions = posts.where(F.col("type") == "1").select(F.col("id").alias("q_id"), F.col("tags").alias("q_tags"))
    accept_votes = (
        parsed.where((F.col("kind") == "votes") & (F.col("x._VoteTypeId").try_cast("int") == ACCEPTED_VOTE))
        .groupBy(F.col("x._PostId").alias("v_post"))
        .agg(F.max(_ts(F.col("x._CreationDate"))).alias("accept_day"))
    )
    thread = F.when(F.col("type") == "1", F.col("id")).when(F.col("type") == "2", F.col("parent"))
    return (
        posts.join(questions, thread == F.col("q_id"), "left")
        .join(accept_votes, F.col("id") == F.col("v_post"), "left")
        .select(
            F.col("id").alias("ref_id"),
            account(NETWORK, F.col("owner")).alias("ref_owner"),
            _ts(F.col("created")).alias("ref_time"),
            _tags(F.col("q_tags")).alias("ref_topics"),
            F.col("accept_day").alias("ref_accept_day"),
        )
    )


def to_events(raw: DataFrame) -> DataFrame:
    parsed = raw.select(
        "raw_payload",
        "source_file",
        _kind(F.col("source_file")).alias("kind"),
        F.from_xml(F.col("raw_payload"), _SCHEMA, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}).alias("x"),
    )
    x = F.col("x")
    post_type = x["_PostTypeId"].try_cast("int")
    vote_type = x["_VoteTypeId"].try_cast("int")
    is_post, is_comment, is_vote = (F.col("kind") == k for k in EVENT_FILES)
    # the post each record refers to: an answer's question, a question's accepted answer, a comment's or vote's post
    ref_id = (
        F.when(is_post & (post_type == 2), x["_ParentId"]).when(is_post & (post_type == 1), x["_AcceptedAnswerId"]).when(is_comment | is_vote, x["_PostId"])
    )
    joined = parsed.withColumn("_ref_id", ref_id).join(_lookup(parsed), F.col("_ref_id") == F.col("ref_id"), "left")

    created = _ts(x["_CreationDate"])
    own_id = x["_Id"]
    owner = account(NETWORK, x["_OwnerUserId"])
    ref_owner, ref_topics = F.col("ref_owner"), F.coalesce(F.col("ref_topics"), F.array().cast("array<string>"))
    post_content, ref_content = _ref("post:", own_id), _ref("post:", F.col("_ref_id"))
    none = F.lit(None).cast("string")

    question = event(
        event_key(NETWORK, F.lit("post"), own_id), created, F.lit("post"), owner, none, post_content, none, _tags(x["_Tags"]), F.length(x["_Body"])
    )
    accepted_time = F.when(F.col("ref_accept_day").isNotNull(), F.greatest("ref_accept_day", "ref_time")).otherwise(F.col("ref_time"))
    accepted = event(
        event_key(NETWORK, F.lit("accepted_answer"), x["_AcceptedAnswerId"]),
        accepted_time,
        F.lit("accepted_answer"),
        owner,
        ref_owner,
        none,
        ref_content,
        _tags(x["_Tags"]),
        F.lit(None),
    )
    answer = event(
        event_key(NETWORK, F.lit("post"), own_id), created, F.lit("answer"), owner, ref_owner, post_content, ref_content, ref_topics, F.length(x["_Body"])
    )
    comment = event(
        event_key(NETWORK, F.lit("comment"), own_id),
        created,
        F.lit("comment"),
        account(NETWORK, x["_UserId"]),
        ref_owner,
        _ref("comment:", own_id),
        ref_content,
        ref_topics,
        F.length(x["_Text"]),
    )
    vote_action = F.create_map(*[kv for k, v in sorted(VOTE_ACTIONS.items()) for kv in (F.lit(k), F.lit(v))])[vote_type]
    voter = account(NETWORK, x["_UserId"])
    vote_actor = F.when(vote_type.isin(*ANONYMOUS_VOTES), F.coalesce(voter, F.lit(ANONYMOUS))).otherwise(voter)
    vote = event(event_key(NETWORK, F.lit("vote"), own_id), created, vote_action, vote_actor, ref_owner, none, ref_content, ref_topics, F.lit(None))

    events = (
        F.when(is_post & (post_type == 1), F.when(x["_AcceptedAnswerId"].isNotNull(), F.array(question, accepted)).otherwise(F.array(question)))
        .when(is_post & (post_type == 2), F.array(answer))
        .when(is_comment, F.array(comment))
        .when(is_vote & vote_action.isNotNull(), F.array(vote))
    )
    problem = first_problem(
        (x.isNull() | x[CORRUPT].isNotNull(), "malformed_record"),
        (wrong_type(x["_CreationDate"], created), "wrong_type"),
        (wrong_type(x["_PostTypeId"], post_type) & is_post, "wrong_type"),
        (wrong_type(x["_VoteTypeId"], vote_type) & is_vote, "wrong_type"),
    )
    shaped = joined.select(
        "raw_payload",
        "source_file",
        problem.alias("parse_error"),
        F.when(problem.isNull(), events).alias("ev"),
    )
    return candidates(shaped, NETWORK)
