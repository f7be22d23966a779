"""Instagram Graph API (media, comments, likes, follows), JSON lines.

Native records, one JSON object per line; the record type is recognised by its fields (the Graph API
objects carry no type tag). Times are Graph ``timestamp`` text, ``2026-11-20T08:00:00+0000``.

- Media (``/{ig-user-id}/media``): ``{"id", "owner": {"id"}, "username", "timestamp", "caption",
  "media_type": "IMAGE"|"VIDEO"|"CAROUSEL_ALBUM", "media_product_type": "FEED"|"REELS"|"STORY",
  "permalink"}``
- Comment (``/{ig-media-id}/comments``, ``/{ig-comment-id}/replies``): ``{"id", "text", "timestamp",
  "from": {"id", "username"}, "media": {"id", "owner": {"id"}}, "parent_id"}``; ``parent_id`` is set on a
  reply, together with ``"parent_from": {"id", "username"}`` (the parent comment's author, written by the
  exporter from the comment it fetched the replies of: Graph gives only the parent's id).
- Like: ``{"media_id", "media_owner_id", "user_id", "timestamp", "media_caption"}``
- Follow: ``{"follower_id", "followed_id", "timestamp", "followed_biography"}``
  (``media_caption`` and ``followed_biography`` are copied by the exporter from the media liked and the
  profile followed, so a like or a follow knows what it is about).
- User profile node (``/{ig-user-id}?fields=...``): ``{"id", "username", "account_type",
  "followers_count", "follows_count", "media_count", "biography"}``: carries no action.

Recognised as, first match wins: ``from`` -> comment; ``media_id`` -> like; ``follower_id`` or
``followed_id`` -> follow; ``owner``, ``media_type`` or ``caption`` -> media; ``account_type``,
``followers_count``, ``follows_count`` or ``media_count`` -> profile.

Mapping to events (account ids are ``instagram:<ig user id>``):
- media -> ``post`` (content_id = media id), whatever its media_type.
- comment -> ``comment`` aimed at ``media.owner.id`` (target_content_id = media id); with ``parent_id``
  -> ``reply`` aimed at ``parent_from.id`` (target_content_id = parent_id).
- like -> ``like`` aimed at ``media_owner_id``; follow -> ``follow`` aimed at ``followed_id``.
- topics: hashtags in the caption (media) or the comment text; for a like those of ``media_caption``,
  for a follow those of ``followed_biography`` (what was liked / who was followed is about).
- profile -> no event: one candidate with parse_error ``no_events`` (counted in quarantine).
- a record of none of these shapes -> parse_error ``unknown_action``; an unparseable ``timestamp`` ->
  ``wrong_type``.
Event ids: ``instagram:<media or comment id>:<action>``, ``instagram:like:<user id>:<media id>`` (a user
likes a media once), ``instagram:follow:<follower>:<followed>:<epoch ms>``.
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

NETWORK = "instagram"
SYNTH_ACTIONS = {"post": 0.20, "comment": 0.15, "reply": 0.05, "like": 0.55, "follow": 0.05}
MEDIA_TYPES = ("IMAGE", "VIDEO", "CAROUSEL_ALBUM")

_USER = T.StructType([T.StructField("id", T.StringType()), T.StructField("username", T.StringType())])
RECORD = T.StructType(
    [
        T.StructField("id", T.StringType()),
        T.StructField("timestamp", T.StringType()),
        # media
        T.StructField("owner", T.StructType([T.StructField("id", T.StringType())])),
        T.StructField("username", T.StringType()),
        T.StructField("caption", T.StringType()),
        T.StructField("media_type", T.StringType()),
        # comment
        T.StructField("text", T.StringType()),
        T.StructField("from", _USER),
        T.StructField(
            "media", T.StructType([T.StructField("id", T.StringType()), T.StructField("owner", T.StructType([T.StructField("id", T.StringType())]))])
        ),
        T.StructField("parent_id", T.StringType()),
        T.StructField("parent_from", _USER),
        # like
        T.StructField("media_id", T.StringType()),
        T.StructField("media_owner_id", T.StringType()),
        T.StructField("user_id", T.StringType()),
        T.StructField("media_caption", T.StringType()),
        # follow
        T.StructField("follower_id", T.StringType()),
        T.StructField("followed_id", T.StringType()),
        T.StructField("followed_biography", T.StringType()),
        # profile
        T.StructField("account_type", T.StringType()),
        T.StructField("followers_count", T.StringType()),
        T.StructField("follows_count", T.StringType()),
        T.StructField("media_count", T.StringType()),
    ]
)


def _kind(r: Column) -> Column:
    return (
        F.when(r["from"].isNotNull(), F.lit("comment"))
        .when(r["media_id"].isNotNull(), F.lit("like"))
        .when(r["follower_id"].isNotNull() | r["followed_id"].isNotNull(), F.lit("follow"))
        .when(r["owner"].isNotNull() | r["media_type"].isNotNull() | r["caption"].isNotNull(), F.lit("media"))
        .when(
            r["account_type"].isNotNull() | r["followers_count"].isNotNull() | r["follows_count"].isNotNull() | r["media_count"].isNotNull(),
            F.lit("profile"),
        )
    )


def to_events(raw: DataFrame) -> DataFrame:
    parsed = raw.select("raw_payload", "source_file", parse_json(F.col("raw_payload"), RECORD).alias("r"))
    r = F.col("r")
    kind = _kind(r)
    is_media, is_comment, is_like, is_follow = kind == "media", kind == "comment", kind == "like", kind == "follow"
    is_reply = is_comment & r["parent_id"].isNotNull()
    time = ts_iso(r["timestamp"])
    action = (
        F.when(is_media, F.lit("post"))
        .when(is_reply, F.lit("reply"))
        .when(is_comment, F.lit("comment"))
        .when(is_like, F.lit("like"))
        .when(is_follow, F.lit("follow"))
    )
    actor_id = F.when(is_media, r["owner"]["id"]).when(is_comment, r["from"]["id"]).when(is_like, r["user_id"]).when(is_follow, r["follower_id"])
    target_id = (
        F.when(is_reply, r["parent_from"]["id"])
        .when(is_comment, r["media"]["owner"]["id"])
        .when(is_like, r["media_owner_id"])
        .when(is_follow, r["followed_id"])
    )
    target_content = F.when(is_reply, r["parent_id"]).when(is_comment, r["media"]["id"]).when(is_like, r["media_id"])
    text = F.when(is_media, r["caption"]).when(is_comment, r["text"])
    about = F.coalesce(text, F.when(is_like, r["media_caption"]).when(is_follow, r["followed_biography"]))
    event_id = (
        F.when(is_media | is_comment, event_key(NETWORK, r["id"], action))
        .when(is_like, event_key(NETWORK, F.lit("like"), r["user_id"], r["media_id"]))
        .when(is_follow, event_key(NETWORK, F.lit("follow"), r["follower_id"], r["followed_id"], F.unix_millis(time)))
    )
    record_event = event(
        event_id,
        time,
        action,
        account(NETWORK, actor_id),
        account(NETWORK, target_id),
        F.when(is_media | is_comment, r["id"]),
        target_content,
        topics(hashtags(about)),
        F.length(text),
    )
    events = F.when(kind == "profile", F.array()).otherwise(F.array(record_event))
    return record_candidates(
        parsed,
        NETWORK,
        events,
        (wrong_type(r["timestamp"], time), "wrong_type"),
        (kind.isNull(), "unknown_action"),
    )


def render(actions: DataFrame) -> DataFrame:
    """Canonical synthetic actions -> IG media, comments, likes and follows (one JSON line each)."""
    a = F.col
    act = a("action")
    ts = iso_seconds(a("event_time"), zone="Z")
    body = with_hashtags(a("text"), a("topics"))
    media = F.struct(
        a("content_native").alias("id"),
        F.struct(a("actor_native").alias("id")).alias("owner"),
        a("actor_handle").alias("username"),
        ts.alias("timestamp"),
        body.alias("caption"),
        F.element_at(F.array(*[F.lit(t) for t in MEDIA_TYPES]), (F.pmod(a("seq"), F.lit(len(MEDIA_TYPES))) + 1).cast("int")).alias("media_type"),
        F.lit("FEED").alias("media_product_type"),
    )
    comment = F.struct(
        a("content_native").alias("id"),
        body.alias("text"),
        ts.alias("timestamp"),
        F.struct(a("actor_native").alias("id"), a("actor_handle").alias("username")).alias("from"),
        F.when(act == "comment", F.struct(a("target_content_native").alias("id"), F.struct(a("target_native").alias("id")).alias("owner"))).alias("media"),
        F.when(act == "reply", a("target_content_native")).alias("parent_id"),
        F.when(act == "reply", F.struct(a("target_native").alias("id"), a("target_handle").alias("username"))).alias("parent_from"),
    )
    like = F.struct(
        a("target_content_native").alias("media_id"),
        a("target_native").alias("media_owner_id"),
        a("actor_native").alias("user_id"),
        ts.alias("timestamp"),
        hashtag_text(a("topics")).alias("media_caption"),
    )
    follow = F.struct(
        a("actor_native").alias("follower_id"),
        a("target_native").alias("followed_id"),
        ts.alias("timestamp"),
        hashtag_text(a("topics")).alias("followed_biography"),
    )
    return render_json(
        actions,
        NETWORK,
        act,
        (act == "post", media),
        (act.isin("comment", "reply"), comment),
        (act == "like", like),
        (act == "follow", follow),
    )
