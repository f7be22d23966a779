"""YouTube Data API v3 resources (videos, comment threads, comments, ratings, subscriptions), JSON lines.

Native records, one API resource per line, told apart by ``kind``. Times are RFC 3339 text
(``2026-11-20T08:00:00Z``); accounts are channel ids (``UC...``).

- Video (``videos.list``): ``{"kind": "youtube#video", "id", "snippet": {"publishedAt", "channelId",
  "channelTitle", "title", "description", "tags": [...]}}``
- Comment thread (``commentThreads.list``): ``{"kind": "youtube#commentThread", "id", "snippet":
  {"channelId" (the video's channel), "videoId", "topLevelComment": <comment>, "totalReplyCount"},
  "replies": {"comments": [<comment>, ...]}}``
- Comment (``comments.list``): ``{"kind": "youtube#comment", "id", "snippet": {"authorChannelId":
  {"value"}, "authorDisplayName", "channelId" (the video's channel), "videoId", "parentId" (set on a
  reply), "textOriginal", "publishedAt"}}``. A reply fetched on its own does not name the author of the
  comment it answers, so the exporter adds ``snippet.parentAuthorChannelId: {"value"}`` (the parent's
  ``authorChannelId``); replies inside a thread need nothing: their parent is the thread's top comment.
- Rating: ``{"kind": "youtube#videoRating", "videoId", "rating": "like"|"dislike"|"none",
  "raterChannelId", "videoOwnerChannelId", "ratedAt", "videoTags": [...]}`` (``videos.getRating`` gives
  videoId and rating for the authorised channel; the exporter adds who rated, whose video it is, when,
  and the video's tags from ``videos.list``).
- Subscription (``subscriptions.list``): ``{"kind": "youtube#subscription", "id", "snippet":
  {"publishedAt", "channelId" (the subscriber), "title" and "description" (of the channel subscribed to),
  "resourceId": {"kind": "youtube#channel", "channelId" (the channel subscribed to)}}}``
- Channel (``"kind": "youtube#channel"``): a profile, carries no action.

Mapping to events (account ids are ``youtube:<channel id>``):
- video -> ``post`` (content_id = video id); topics = its tags plus hashtags in title and description.
- top-level comment (a thread's topLevelComment, or a comment without parentId) -> ``comment`` aimed at
  the video's channel (thread ``snippet.channelId``, else the comment's ``snippet.channelId``),
  target_content_id = videoId.
- reply (in a thread's ``replies.comments``, or a comment with parentId) -> ``reply`` aimed at the parent
  comment's author (the thread's top comment author, else ``parentAuthorChannelId``), target_content_id
  = parentId. A thread yields one event for its top comment plus one per reply; the same comment seen
  in a thread and on its own gets the same event id.
- rating ``like`` -> ``like``, ``dislike`` -> ``vote_down``, aimed at ``videoOwnerChannelId``;
  ``none`` (rating withdrawn) -> no event; any other rating -> action ``rating:<value>``, rejected by
  validation as ``unknown_action``.
- subscription -> ``follow`` of ``resourceId.channelId``.
- topics of a comment: hashtags in textOriginal; of a rating: the video's ``videoTags``; of a
  subscription: hashtags in the subscribed channel's ``snippet.description``.
- channel resources and withdrawn ratings -> no event: one candidate with parse_error ``no_events``.
- any other ``kind`` -> parse_error ``unknown_action``; an unparseable time -> ``wrong_type``.
Event ids: ``youtube:<video or comment id>:<action>``, ``youtube:<like|vote_down>:<rater>:<video id>``,
``youtube:follow:<subscriber>:<channel>:<published ms>``.
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

NETWORK = "youtube"
SYNTH_ACTIONS = {"post": 0.10, "comment": 0.20, "reply": 0.10, "like": 0.45, "vote_down": 0.05, "follow": 0.10}
_EVENT_KINDS = ("youtube#video", "youtube#commentThread", "youtube#comment", "youtube#videoRating", "youtube#subscription")
_NO_EVENT_KINDS = ("youtube#channel",)

_VALUE = T.StructType([T.StructField("value", T.StringType())])
_COMMENT_SNIPPET = T.StructType(
    [
        T.StructField("authorChannelId", _VALUE),
        T.StructField("authorDisplayName", T.StringType()),
        T.StructField("channelId", T.StringType()),
        T.StructField("videoId", T.StringType()),
        T.StructField("parentId", T.StringType()),
        T.StructField("parentAuthorChannelId", _VALUE),
        T.StructField("textOriginal", T.StringType()),
        T.StructField("publishedAt", T.StringType()),
    ]
)
_COMMENT = T.StructType([T.StructField("kind", T.StringType()), T.StructField("id", T.StringType()), T.StructField("snippet", _COMMENT_SNIPPET)])
RECORD = T.StructType(
    [
        T.StructField("kind", T.StringType()),
        T.StructField("id", T.StringType()),
        T.StructField(
            "snippet",
            T.StructType(
                [
                    *_COMMENT_SNIPPET.fields,
                    T.StructField("title", T.StringType()),
                    T.StructField("description", T.StringType()),
                    T.StructField("tags", T.ArrayType(T.StringType())),
                    T.StructField("topLevelComment", _COMMENT),
                    T.StructField("resourceId", T.StructType([T.StructField("kind", T.StringType()), T.StructField("channelId", T.StringType())])),
                ]
            ),
        ),
        T.StructField("replies", T.StructType([T.StructField("comments", T.ArrayType(_COMMENT))])),
        T.StructField("videoId", T.StringType()),
        T.StructField("rating", T.StringType()),
        T.StructField("raterChannelId", T.StringType()),
        T.StructField("videoOwnerChannelId", T.StringType()),
        T.StructField("ratedAt", T.StringType()),
        T.StructField("videoTags", T.ArrayType(T.StringType())),
    ]
)


def _comment_event(c: Column, is_reply: Column, target_channel: Column, target_content: Column) -> Column:
    s = c["snippet"]
    action = F.when(is_reply, F.lit("reply")).otherwise(F.lit("comment"))
    return event(
        event_key(NETWORK, c["id"], action),
        ts_iso(s["publishedAt"]),
        action,
        account(NETWORK, s["authorChannelId"]["value"]),
        account(NETWORK, target_channel),
        c["id"],
        target_content,
        topics(hashtags(s["textOriginal"])),
        F.length(s["textOriginal"]),
    )


def _bad_time(value: Column) -> Column:
    return wrong_type(value, ts_iso(value))


def to_events(raw: DataFrame) -> DataFrame:
    parsed = raw.select("raw_payload", "source_file", parse_json(F.col("raw_payload"), RECORD).alias("r"))
    r = F.col("r")
    s = r["snippet"]
    kind = F.trim(r["kind"])
    comments = F.coalesce(r["replies"]["comments"], F.array())

    video = event(
        event_key(NETWORK, r["id"], F.lit("post")),
        ts_iso(s["publishedAt"]),
        F.lit("post"),
        account(NETWORK, s["channelId"]),
        F.lit(None),
        r["id"],
        F.lit(None),
        topics(s["tags"], hashtags(s["title"]), hashtags(s["description"])),
        F.length(F.concat_ws("\n", s["title"], s["description"])),
    )

    # a comment on its own: top-level (aimed at the video's channel) or a reply (aimed at the parent's author)
    own_reply = s["parentId"].isNotNull()
    own_comment = _comment_event(
        r,
        own_reply,
        F.when(own_reply, s["parentAuthorChannelId"]["value"]).otherwise(s["channelId"]),
        F.when(own_reply, s["parentId"]).otherwise(s["videoId"]),
    )

    # a thread: its top comment plus every reply, all replies answering the top comment
    top = s["topLevelComment"]
    top_event = _comment_event(top, F.lit(False), F.coalesce(s["channelId"], top["snippet"]["channelId"]), F.coalesce(s["videoId"], top["snippet"]["videoId"]))
    reply_events = F.transform(
        comments,
        lambda c: _comment_event(c, F.lit(True), top["snippet"]["authorChannelId"]["value"], F.coalesce(c["snippet"]["parentId"], top["id"])),
    )

    rating = F.lower(F.trim(r["rating"]))
    rating_action = F.when(rating == "like", F.lit("like")).when(rating == "dislike", F.lit("vote_down")).otherwise(F.concat(F.lit("rating:"), rating))
    rated = event(
        event_key(NETWORK, rating_action, r["raterChannelId"], r["videoId"]),
        ts_iso(r["ratedAt"]),
        rating_action,
        account(NETWORK, r["raterChannelId"]),
        account(NETWORK, r["videoOwnerChannelId"]),
        F.lit(None),
        r["videoId"],
        topics(r["videoTags"]),
        F.lit(None),
    )

    subscribed_at = ts_iso(s["publishedAt"])
    subscription = event(
        event_key(NETWORK, F.lit("follow"), s["channelId"], s["resourceId"]["channelId"], F.unix_millis(subscribed_at)),
        subscribed_at,
        F.lit("follow"),
        account(NETWORK, s["channelId"]),
        account(NETWORK, s["resourceId"]["channelId"]),
        F.lit(None),
        F.lit(None),
        topics(hashtags(s["description"])),
        F.lit(None),
    )

    events = (
        F.when(kind == "youtube#video", F.array(video))
        .when(kind == "youtube#comment", F.array(own_comment))
        .when(kind == "youtube#commentThread", F.concat(F.array(top_event), reply_events))
        .when(kind == "youtube#videoRating", F.when(rating == "none", F.array()).otherwise(F.array(rated)))
        .when(kind == "youtube#subscription", F.array(subscription))
        .otherwise(F.array())
    )
    bad_time = (
        _bad_time(s["publishedAt"])
        | _bad_time(top["snippet"]["publishedAt"])
        | _bad_time(r["ratedAt"])
        | F.exists(comments, lambda c: _bad_time(c["snippet"]["publishedAt"]))
    )
    return record_candidates(
        parsed,
        NETWORK,
        events,
        (bad_time, "wrong_type"),
        (~F.coalesce(kind.isin(*_EVENT_KINDS, *_NO_EVENT_KINDS), F.lit(False)), "unknown_action"),
    )


def render(actions: DataFrame) -> DataFrame:
    """Canonical synthetic actions -> videos, comment threads, replies, ratings and subscriptions.

    A top-level comment is rendered as a comment thread without replies; a reply as a comment on its own
    (with the exporter's ``parentAuthorChannelId``), so each canonical row is exactly one event.
    """
    a = F.col
    act = a("action")
    published = iso_seconds(a("event_time"))
    clean_text = F.regexp_replace(a("text"), "#", "")
    tags_text = hashtag_text(a("topics"))
    author = F.struct(a("actor_native").alias("value"))
    video = F.struct(
        F.lit("youtube#video").alias("kind"),
        a("content_native").alias("id"),
        F.struct(
            published.alias("publishedAt"),
            a("actor_native").alias("channelId"),
            a("actor_handle").alias("channelTitle"),
            clean_text.alias("title"),
            tags_text.alias("description"),
            a("topics").alias("tags"),
        ).alias("snippet"),
    )
    comment_text = with_hashtags(a("text"), a("topics"))
    top_comment = F.struct(
        F.lit("youtube#comment").alias("kind"),
        a("content_native").alias("id"),
        F.struct(
            a("actor_handle").alias("authorDisplayName"),
            author.alias("authorChannelId"),
            a("target_native").alias("channelId"),
            a("target_content_native").alias("videoId"),
            comment_text.alias("textOriginal"),
            published.alias("publishedAt"),
        ).alias("snippet"),
    )
    thread = F.struct(
        F.lit("youtube#commentThread").alias("kind"),
        a("content_native").alias("id"),
        F.struct(
            a("target_native").alias("channelId"),
            a("target_content_native").alias("videoId"),
            top_comment.alias("topLevelComment"),
            F.lit(0).alias("totalReplyCount"),
        ).alias("snippet"),
    )
    reply = F.struct(
        F.lit("youtube#comment").alias("kind"),
        a("content_native").alias("id"),
        F.struct(
            a("actor_handle").alias("authorDisplayName"),
            author.alias("authorChannelId"),
            a("target_content_native").alias("parentId"),
            F.struct(a("target_native").alias("value")).alias("parentAuthorChannelId"),
            comment_text.alias("textOriginal"),
            published.alias("publishedAt"),
        ).alias("snippet"),
    )
    rating = F.struct(
        F.lit("youtube#videoRating").alias("kind"),
        a("target_content_native").alias("videoId"),
        F.when(act == "like", F.lit("like")).otherwise(F.lit("dislike")).alias("rating"),
        a("actor_native").alias("raterChannelId"),
        a("target_native").alias("videoOwnerChannelId"),
        published.alias("ratedAt"),
        a("topics").alias("videoTags"),
    )
    subscription = F.struct(
        F.lit("youtube#subscription").alias("kind"),
        F.concat(F.lit("sub"), F.date_format(a("event_time"), "yyyyMMdd"), F.lit("-"), a("seq").cast("string")).alias("id"),
        F.struct(
            published.alias("publishedAt"),
            a("actor_native").alias("channelId"),
            a("target_handle").alias("title"),
            tags_text.alias("description"),
            F.struct(F.lit("youtube#channel").alias("kind"), a("target_native").alias("channelId")).alias("resourceId"),
        ).alias("snippet"),
    )
    return render_json(
        actions,
        NETWORK,
        act,
        (act == "post", video),
        (act == "comment", thread),
        (act == "reply", reply),
        (act.isin("like", "vote_down"), rating),
        (act == "follow", subscription),
    )
