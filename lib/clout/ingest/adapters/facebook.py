"""Facebook Graph API nodes (page feed export), JSON lines.

Native records, one Graph API node per line. ``object`` names the node type (the exporter writes it, as
Graph webhooks do; when it is absent the type is inferred: ``type`` -> reaction, ``post_id``/``parent``
-> comment, otherwise post). Times are Graph ``created_time`` text, ``2026-11-20T08:00:00+0000``.

- Post (``/{page-id}/feed``): ``{"object": "post", "id": "<page id>_<post id>", "from": {"id", "name"},
  "created_time", "message", "message_tags": [{"id", "name", "type": "user"|"page"|..., "offset",
  "length"}]}``
- Share (``/{post-id}/sharedposts``): a post that also has ``"parent_id"`` (the shared post) and
  ``"parent_author_id"`` (its author, resolved by the exporter: Graph gives only the id).
- Comment (``/{post-id}/comments``): ``{"object": "comment", "id", "from": {"id", "name"}, "message",
  "message_tags", "created_time", "post_id", "post_author_id", "parent": {"id", "from": {"id", "name"}}}``;
  ``parent`` is Graph's own field, present only on a comment that answers another comment.
- Reaction (``/{object-id}/reactions``): ``{"object": "reaction", "id" (Graph gives the reacting user's id
  here), "from": {"id"}, "post_id", "post_author_id", "type": "LIKE"|"LOVE"|"WOW"|"HAHA"|"SAD"|"ANGRY"|
  "CARE"|"THANKFUL"|"PRIDE", "created_time", "post_message"}``; ``post_message`` is the message of the
  post reacted to, copied by the exporter (which fetched the reactions from that post) so the reaction
  knows what it is about.
- Page / user nodes (``"object": "page"|"user"``) carry no action.

Mapping to events (account ids are ``facebook:<user or page id>``):
- post -> ``post`` (content_id = post id); post with ``parent_id`` -> ``share`` aimed at
  ``parent_author_id`` (target_content_id = parent_id).
- comment -> ``comment`` aimed at ``post_author_id`` on ``post_id``; comment with ``parent`` -> ``reply``
  aimed at ``parent.from.id`` on ``parent.id``.
- every reaction type -> ``like`` aimed at ``post_author_id`` (a missing ``type``, as the legacy
  ``/likes`` edge gives, is a like too); an unknown type becomes action ``reaction:<TYPE>``, which
  validation rejects as ``unknown_action``.
- each ``message_tags`` entry of type user or page (or without a type) on a post or comment ->
  ``mention`` of that id, except the account the record is already aimed at.
- topics: the hashtags written in ``message``; for a reaction, those of ``post_message`` (what was liked); plus
  the feed the post is in, as ``feed:<page or group id>``. Graph names a feed post ``<feed id>_<post id>`` (a
  group's post is ``<group id>_<post id>``, a page's ``<page id>_<post id>``, a share to one's timeline
  ``<user id>_<post id>``), so the feed is the prefix of the post's ``id``, or of ``post_id`` for a comment or
  reaction (a comment's own id is ``<post part>_<comment id>``: not its feed). An id without ``_`` names no feed.
  The label is what makes a Facebook group a community (``clout community --network facebook --community
  <group id>``); ':' keeps it apart from any hashtag, which is letters, digits and '_' only.
- page / user nodes -> no event: one candidate with parse_error ``no_events`` (counted in quarantine).
- any other ``object`` -> parse_error ``unknown_action``; an unparseable ``created_time`` -> ``wrong_type``.
Event ids: ``facebook:<post or comment id>:<action>``, ``facebook:<post or comment id>:mention:<id>``,
``facebook:reaction:<user id>:<post id>`` (one reaction per user and post: changing LIKE to LOVE is the
same event).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout.ingest.adapters.base import (
    account,
    event,
    event_key,
    hashtag_text,
    hashtags,
    iso_seconds,
    parse_json,
    record_candidates,
    render_json,
    topics,
    ts_iso,
    with_hashtags,
    wrong_type,
)

NETWORK = "facebook"
SYNTH_ACTIONS = {"post": 0.20, "comment": 0.18, "reply": 0.07, "share": 0.10, "like": 0.45}
REACTION_TYPES = ("LIKE", "LOVE", "WOW", "HAHA", "SAD", "ANGRY", "CARE", "THANKFUL", "PRIDE")
_EVENT_OBJECTS = ("post", "comment", "reaction")
_NO_EVENT_OBJECTS = ("page", "user")

_FROM = T.StructType([T.StructField("id", T.StringType()), T.StructField("name", T.StringType())])
RECORD = T.StructType(
    [
        T.StructField("object", T.StringType()),
        T.StructField("id", T.StringType()),
        T.StructField("from", _FROM),
        T.StructField("created_time", T.StringType()),
        T.StructField("message", T.StringType()),
        T.StructField(
            "message_tags",
            T.ArrayType(T.StructType([T.StructField("id", T.StringType()), T.StructField("name", T.StringType()), T.StructField("type", T.StringType())])),
        ),
        T.StructField("parent_id", T.StringType()),
        T.StructField("parent_author_id", T.StringType()),
        T.StructField("post_id", T.StringType()),
        T.StructField("post_author_id", T.StringType()),
        T.StructField("parent", T.StructType([T.StructField("id", T.StringType()), T.StructField("from", _FROM)])),
        T.StructField("type", T.StringType()),
        T.StructField("post_message", T.StringType()),
    ]
)


FEED_PREFIX = "feed:"


def _feed(post_id: Column) -> Column:
    """The feed label of a Graph post id '<feed id>_<post id>' as a one-label array; empty for an id without '_'."""
    feed_id = F.substring_index(post_id, "_", 1)
    return F.when(F.instr(post_id, "_") > 1, F.array(F.concat(F.lit(FEED_PREFIX), feed_id))).otherwise(F.array().cast("array<string>"))


def to_events(raw: DataFrame) -> DataFrame:
    parsed = raw.select("raw_payload", "source_file", parse_json(F.col("raw_payload"), RECORD).alias("r"))
    r = F.col("r")
    kind = F.lower(
        F.trim(
            F.coalesce(
                r["object"],
                F.when(r["type"].isNotNull(), F.lit("reaction")),
                F.when(r["post_id"].isNotNull() | r["parent"].isNotNull(), F.lit("comment")),
                F.lit("post"),
            )
        )
    )
    is_post, is_comment, is_reaction = kind == "post", kind == "comment", kind == "reaction"
    is_share = is_post & r["parent_id"].isNotNull()
    is_reply = is_comment & r["parent"]["id"].isNotNull()
    reaction_type = F.upper(F.trim(r["type"]))
    time = ts_iso(r["created_time"])
    actor_id = F.when(is_reaction, F.coalesce(r["from"]["id"], r["id"])).otherwise(r["from"]["id"])
    action = (
        F.when(is_share, F.lit("share"))
        .when(is_post, F.lit("post"))
        .when(is_reply, F.lit("reply"))
        .when(is_comment, F.lit("comment"))
        .when(reaction_type.isNull() | reaction_type.isin(*REACTION_TYPES), F.lit("like"))
        .otherwise(F.concat(F.lit("reaction:"), reaction_type))
    )
    target_id = F.when(is_share, r["parent_author_id"]).when(is_reply, r["parent"]["from"]["id"]).when(is_comment | is_reaction, r["post_author_id"])
    target_content = F.when(is_share, r["parent_id"]).when(is_reply, r["parent"]["id"]).when(is_comment | is_reaction, r["post_id"])
    actor = account(NETWORK, actor_id)
    record_topics = topics(hashtags(F.when(is_reaction, r["post_message"]).otherwise(r["message"])), _feed(F.when(is_post, r["id"]).otherwise(r["post_id"])))
    text_chars = F.when(~is_reaction, F.length(r["message"]))
    primary = event(
        F.when(is_reaction, event_key(NETWORK, F.lit("reaction"), actor_id, r["post_id"])).otherwise(event_key(NETWORK, r["id"], action)),
        time,
        action,
        actor,
        account(NETWORK, target_id),
        F.when(~is_reaction, r["id"]),
        target_content,
        record_topics,
        text_chars,
    )
    tagged = F.filter(
        F.coalesce(r["message_tags"], F.array()),
        lambda t: F.coalesce(F.lower(t["type"]), F.lit("user")).isin("user", "page") & F.coalesce(t["id"] != target_id, F.lit(True)) & ~is_reaction,
    )
    mentions = F.transform(
        tagged,
        lambda t: event(
            event_key(NETWORK, r["id"], F.lit("mention"), t["id"]),
            time,
            F.lit("mention"),
            actor,
            account(NETWORK, t["id"]),
            r["id"],
            r["id"],
            record_topics,
            text_chars,
        ),
    )
    events = F.when(kind.isin(*_EVENT_OBJECTS), F.concat(F.array(primary), mentions)).otherwise(F.array())
    return record_candidates(
        parsed,
        NETWORK,
        events,
        (wrong_type(r["created_time"], time), "wrong_type"),
        (~kind.isin(*_EVENT_OBJECTS, *_NO_EVENT_OBJECTS), "unknown_action"),
    )


def render(actions: DataFrame) -> DataFrame:
    """Canonical synthetic actions -> Graph post, share, comment and reaction nodes (one JSON line each)."""
    a = F.col
    act = a("action")
    created = iso_seconds(a("event_time"), zone="Z")
    author = F.struct(a("actor_native").alias("id"), a("actor_handle").alias("name"))
    message = with_hashtags(a("text"), a("topics"))
    post = F.struct(
        F.lit("post").alias("object"),
        a("content_native").alias("id"),
        author.alias("from"),
        created.alias("created_time"),
        message.alias("message"),
        F.when(act == "share", a("target_content_native")).alias("parent_id"),
        F.when(act == "share", a("target_native")).alias("parent_author_id"),
    )
    comment = F.struct(
        F.lit("comment").alias("object"),
        a("content_native").alias("id"),
        author.alias("from"),
        created.alias("created_time"),
        message.alias("message"),
        F.when(act == "comment", a("target_content_native")).alias("post_id"),
        F.when(act == "comment", a("target_native")).alias("post_author_id"),
        F.when(
            act == "reply",
            F.struct(a("target_content_native").alias("id"), F.struct(a("target_native").alias("id"), a("target_handle").alias("name")).alias("from")),
        ).alias("parent"),
    )
    reaction_type = F.element_at(F.array(*[F.lit(t) for t in REACTION_TYPES[:7]]), (F.pmod(a("seq"), F.lit(7)) + 1).cast("int"))
    reaction = F.struct(
        F.lit("reaction").alias("object"),
        a("actor_native").alias("id"),
        author.alias("from"),
        a("target_content_native").alias("post_id"),
        a("target_native").alias("post_author_id"),
        reaction_type.alias("type"),
        created.alias("created_time"),
        hashtag_text(a("topics")).alias("post_message"),
    )
    return render_json(
        actions,
        NETWORK,
        act,
        (act.isin("post", "share"), post),
        (act.isin("comment", "reply"), comment),
        (act == "like", reaction),
    )
