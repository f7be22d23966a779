"""Reddit API "Things" (submissions, comments) and collector vote records, JSON lines.

Native records, one JSON object per line, in Reddit's ``{"kind", "data"}`` Thing envelope:
- Submission ``{"kind": "t3", "data": {"id", "name": "t3_<id>", "author", "author_fullname": "t2_<id>",
  "created_utc" (epoch seconds, a float in the API), "subreddit", "title", "selftext", "link_flair_text"}}``
- Comment ``{"kind": "t1", "data": {"id", "name": "t1_<id>", "author", "author_fullname", "created_utc",
  "subreddit", "body", "parent_id": "t3_..."|"t1_...", "link_id": "t3_...", "parent_author_fullname"}}``.
  Reddit's comment JSON does not say whose item it answers; our collector resolves the parent and adds
  ``parent_author_fullname`` (the parent Thing's ``author_fullname``).
- Vote, as our collector exports it (Reddit has no public vote stream: the collector reads the voters'
  upvoted/downvoted listings): ``{"kind": "vote", "data": {"voter_fullname", "thing_id" (fullname of the
  voted Thing), "thing_author_fullname", "dir": 1|-1|0, "created_utc", "subreddit", "link_title"}}``;
  ``subreddit`` and ``link_title`` are copied from the voted Thing (its submission's title for a comment).

Mapping to events (account ids are ``reddit:<user id>``: the ``t2_`` fullname without its prefix):
- t3 -> ``post`` (content_id = the ``t3_`` fullname).
- t1 -> ``comment`` aimed at ``parent_author_fullname`` when ``parent_id`` is a submission (``t3_``),
  ``reply`` when it is a comment (``t1_``); target_content_id = parent_id.
- vote dir 1 -> ``vote_up``, dir -1 -> ``vote_down``, aimed at ``thing_author_fullname``. dir 0 is an
  unvote (it retracts an earlier vote, it is not an action): ``no_events``.
- deleted authors (``author`` "[deleted]"/"[removed]", or no fullname) leave the account null, so validation
  quarantines the event as ``missing_id``.
- topics: the subreddit (not a user-profile subreddit ``u_<name>``, which says nothing of the subject) plus
  hashtags in title/selftext, body, or the voted thing's link_title.
- other Thing kinds that carry no action (t2 account, t4 message, t5 subreddit, t6 award, "more") ->
  ``no_events``; any other kind -> ``unknown_action`` (action ``kind:<kind>``); a comment parent of another
  kind or a vote dir outside -1/0/1 -> ``unknown_action`` too.
- created_utc that is not a number (or out of range) -> ``wrong_type``; so is a non-numeric dir.
Event ids: ``reddit:<fullname>:<action>`` for submissions and comments,
``reddit:vote:<voter id>:<thing fullname>:<vote_up|vote_down>`` (one standing vote per person and Thing).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout.ingest.adapters.base import (
    account,
    event,
    event_key,
    hashtags,
    no_events,
    null,
    parse_json,
    record_candidates,
    topics,
    ts_epoch_fractional,
    wrong_type,
)

NETWORK = "reddit"
SYNTH_ACTIONS = {"post": 0.14, "comment": 0.20, "reply": 0.12, "vote_up": 0.46, "vote_down": 0.08}

_NO_ACTION_KINDS = ("t2", "t4", "t5", "t6", "more")
_DELETED = ("[deleted]", "[removed]")
# Epoch seconds beyond this are no real time, and timestamp_seconds would overflow (and fail the job).
_FIELDS = [
    # submissions and comments
    "id", "name", "author", "author_fullname", "created_utc", "subreddit", "title", "selftext",
    "link_flair_text", "body", "parent_id", "link_id", "parent_author_fullname",
    # collector votes
    "voter_fullname", "thing_id", "thing_author_fullname", "dir", "link_title",
]  # fmt: skip
# Every value is read as text (numbers included), so a value of the wrong kind is caught as wrong_type.
RECORD = T.StructType(
    [
        T.StructField("kind", T.StringType()),
        T.StructField("data", T.StructType([T.StructField(name, T.StringType()) for name in _FIELDS])),
    ]
)


def _user(fullname: Column, name: Column | None = None) -> Column:
    """reddit:<id> from a t2_ fullname; null for a deleted author."""
    native = F.regexp_replace(fullname, r"^t2_", "")
    if name is not None:
        native = F.when(~F.coalesce(name.isin(*_DELETED), F.lit(False)), native)
    return account(NETWORK, native)


def _subreddit_topics(subreddit: Column, *texts: Column) -> Column:
    subject = F.when(~F.lower(subreddit).startswith("u_"), F.array(subreddit)).otherwise(F.array().cast("array<string>"))
    return topics(subject, *[hashtags(t) for t in texts])


def to_events(raw: DataFrame) -> DataFrame:
    parsed = raw.select("raw_payload", "source_file", parse_json(F.col("raw_payload"), RECORD).alias("r"))
    kind = F.col("r.kind")
    d = F.col("r.data")
    created = ts_epoch_fractional(d["created_utc"])

    # submission
    post_id = F.coalesce(d["name"], F.concat(F.lit("t3_"), d["id"]))
    post = event(
        event_key(NETWORK, post_id, F.lit("post")),
        created,
        F.lit("post"),
        _user(d["author_fullname"], d["author"]),
        null(),
        post_id,
        null(),
        _subreddit_topics(d["subreddit"], d["title"], d["selftext"]),
        F.length(d["title"]) + F.coalesce(F.length(d["selftext"]), F.lit(0)),
    )

    # comment: its parent decides comment (on a submission) or reply (to a comment)
    comment_id = F.coalesce(d["name"], F.concat(F.lit("t1_"), d["id"]))
    parent = F.coalesce(d["parent_id"], d["link_id"])
    parent_kind = F.substring_index(parent, "_", 1)
    comment_action = (
        F.when(parent_kind == "t3", F.lit("comment"))
        .when(parent_kind == "t1", F.lit("reply"))
        .otherwise(F.concat(F.lit("comment_parent:"), F.coalesce(parent_kind, F.lit("none"))))
    )
    comment = event(
        event_key(NETWORK, comment_id, comment_action),
        created,
        comment_action,
        _user(d["author_fullname"], d["author"]),
        _user(d["parent_author_fullname"]),
        comment_id,
        parent,
        _subreddit_topics(d["subreddit"], d["body"]),
        F.length(d["body"]),
    )

    # vote
    direction = d["dir"].try_cast("int")
    vote_action = F.when(direction == 1, F.lit("vote_up")).when(direction == -1, F.lit("vote_down"))
    voter = F.regexp_replace(d["voter_fullname"], r"^t2_", "")
    vote = event(
        event_key(NETWORK, F.lit("vote"), voter, d["thing_id"], vote_action),
        created,
        F.coalesce(vote_action, F.concat(F.lit("vote:"), F.coalesce(d["dir"], F.lit("none")))),
        _user(d["voter_fullname"]),
        _user(d["thing_author_fullname"]),
        null(),
        d["thing_id"],
        _subreddit_topics(d["subreddit"], d["link_title"]),
        null(),
    )

    unknown_kind = event(null(), created, F.concat(F.lit("kind:"), F.coalesce(kind, F.lit("none"))), null(), null(), null(), null(), F.array(), null())
    events = (
        F.when(kind == "t3", F.array(post))
        .when(kind == "t1", F.array(comment))
        .when(kind == "vote", F.when(direction == 0, no_events()).otherwise(F.array(vote)))
        .when(kind.isin(*_NO_ACTION_KINDS), no_events())
        .otherwise(F.array(unknown_kind))
    )
    is_known = kind.isin("t3", "t1", "vote", *_NO_ACTION_KINDS)
    unrecognised = (
        ~F.coalesce(is_known, F.lit(False))
        | ((kind == "t1") & ~F.coalesce(parent_kind.isin("t3", "t1"), F.lit(False)))
        | ((kind == "vote") & ~F.coalesce(direction.isin(-1, 0, 1), F.lit(False)))
    )
    acting = kind.isin("t3", "t1", "vote")
    return record_candidates(
        parsed,
        NETWORK,
        events,
        (F.coalesce(acting, F.lit(False)) & wrong_type(d["created_utc"], created), "wrong_type"),
        ((kind == "vote") & wrong_type(d["dir"], direction), "wrong_type"),
        (unrecognised, "unknown_action"),
        unknown_keeps_events=True,
    )


def render(actions: DataFrame) -> DataFrame:
    """Canonical synthetic actions -> Reddit Things (post, comment, reply) and collector votes, one JSON line each."""
    a = F.col
    created = (F.unix_micros("event_time").cast("decimal(20,0)") / 1_000_000).cast("decimal(20,6)")
    # topics travel as the subreddit (the first) plus hashtags; '#' in the free text would add topics of its own
    hashtag_text = F.array_join(F.transform("topics", lambda t: F.concat(F.lit("#"), t)), " ")
    plain_text = F.regexp_replace(F.coalesce(a("text"), F.lit("")), "#", "")
    text_with_tags = F.trim(F.concat_ws(" ", plain_text, hashtag_text))
    subreddit_of = lambda owner_handle: F.coalesce(F.try_element_at("topics", F.lit(1)), F.concat(F.lit("u_"), owner_handle))  # noqa: E731
    day_seq = F.concat(F.date_format("event_time", "yyyyMMdd"), F.lit("x"), a("seq").cast("string"))
    own_id = F.coalesce(a("content_native"), day_seq)
    author = lambda native: F.concat(F.lit("t2_"), native)  # noqa: E731
    submission = F.struct(
        F.lit("t3").alias("kind"),
        F.struct(
            own_id.alias("id"),
            F.concat(F.lit("t3_"), own_id).alias("name"),
            a("actor_handle").alias("author"),
            author(a("actor_native")).alias("author_fullname"),
            created.alias("created_utc"),
            subreddit_of(a("actor_handle")).alias("subreddit"),
            text_with_tags.alias("title"),
            F.lit("").alias("selftext"),
        ).alias("data"),
    )
    parent_prefix = F.when(a("action") == "reply", F.lit("t1_")).otherwise(F.lit("t3_"))
    comment = F.struct(
        F.lit("t1").alias("kind"),
        F.struct(
            own_id.alias("id"),
            F.concat(F.lit("t1_"), own_id).alias("name"),
            a("actor_handle").alias("author"),
            author(a("actor_native")).alias("author_fullname"),
            created.alias("created_utc"),
            subreddit_of(a("target_handle")).alias("subreddit"),
            text_with_tags.alias("body"),
            F.concat(parent_prefix, a("target_content_native")).alias("parent_id"),
            F.when(a("action") == "comment", F.concat(F.lit("t3_"), a("target_content_native"))).alias("link_id"),
            author(a("target_native")).alias("parent_author_fullname"),
        ).alias("data"),
    )
    vote = F.struct(
        F.lit("vote").alias("kind"),
        F.struct(
            author(a("actor_native")).alias("voter_fullname"),
            F.concat(F.lit("t3_"), F.coalesce(a("target_content_native"), day_seq)).alias("thing_id"),
            author(a("target_native")).alias("thing_author_fullname"),
            F.when(a("action") == "vote_up", F.lit(1)).otherwise(F.lit(-1)).alias("dir"),
            created.alias("created_utc"),
            subreddit_of(a("target_handle")).alias("subreddit"),
            hashtag_text.alias("link_title"),
        ).alias("data"),
    )
    options = {"ignoreNullFields": "true"}
    value = (
        F.when(a("action") == "post", F.to_json(submission, options))
        .when(a("action").isin("comment", "reply"), F.to_json(comment, options))
        .otherwise(F.to_json(vote, options))
    )
    return actions.select(value.alias("value"))
