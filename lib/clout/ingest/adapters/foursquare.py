"""Foursquare / Swarm check-ins (API v2 check-in objects) and collector like/comment records, JSON lines.

Native records, one JSON object per line:
- Check-in, as the v2 API returns it (``users/self/checkins``, push API): ``{"id", "createdAt" (epoch
  seconds, UTC), "type": "checkin"|"shout"|"venueless", "timeZoneOffset" (minutes, local display only),
  "user": {"id", "firstName"}, "venue": {"id", "name", "categories": [{"id", "name"}]}, "with": [{"id",
  "firstName"}] (friends tagged), "shout", "likes": {"count"}, "comments": {"count"}}``.
  A check-in Swarm made for a tagged friend, as it appears in that friend's history, has ``user`` = the
  friend and ``createdBy`` = ``{"id"}`` of the friend who tagged them.
- Like on a check-in, as our collector exports it (the API only lists likers, without times):
  ``{"type": "like", "checkinId", "checkinOwnerId", "user": {"id"}, "createdAt", "venue"}``.
- Comment on a check-in, likewise: ``{"type": "comment", "id", "checkinId", "checkinOwnerId", "user": {"id"},
  "createdAt", "text", "venue"}``. The collector copies the check-in's ``venue`` onto likes and comments.
The check-in's ``likes``/``comments`` summaries are counts only and are ignored: each like and comment
arrives as its own record.

Mapping to events (account ids are ``foursquare:<user id>``):
- check-in -> ``checkin`` by its user (content_id = check-in id), plus one ``checkin_tag`` per ``with`` friend,
  aimed at that friend.
- check-in with ``createdBy`` (someone else than its user) -> only ``checkin_tag`` from createdBy to the user:
  being checked in by a friend is the tag, not a check-in of one's own. (A tag seen both on the tagger's
  check-in and as the friend's copy yields two events; collectors export one side.)
- like -> ``like``, comment -> ``comment``, both aimed at ``checkinOwnerId``.
- topics: the venue's category names (lower-cased: "Coffee Shop" -> "coffee shop").
- ``createdAt`` that is not epoch seconds -> ``wrong_type``; any other record ``type`` -> ``unknown_action``
  (action ``type:<type>``).
Event ids: ``foursquare:<check-in id>:checkin``, ``foursquare:<check-in id>:checkin_tag:<friend id>``,
``foursquare:like:<user id>:<check-in id>``, ``foursquare:<check-in id>:comment:<comment id>``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout.ingest.adapters.base import (
    account,
    event,
    event_key,
    null,
    parse_json,
    record_candidates,
    topics,
    ts_epoch_fractional,
    wrong_type,
)

NETWORK = "foursquare"
SYNTH_ACTIONS = {"checkin": 0.42, "checkin_tag": 0.13, "like": 0.33, "comment": 0.12}

_CHECKIN_TYPES = ("checkin", "shout", "venueless")
_USER = T.StructType([T.StructField("id", T.StringType())])
_VENUE = T.StructType(
    [
        T.StructField("id", T.StringType()),
        T.StructField("name", T.StringType()),
        T.StructField("categories", T.ArrayType(T.StructType([T.StructField("name", T.StringType())]))),
    ]
)
RECORD = T.StructType(
    [T.StructField(n, T.StringType()) for n in ("id", "type", "createdAt", "shout", "text", "checkinId", "checkinOwnerId")]
    + [
        T.StructField("user", _USER),
        T.StructField("createdBy", _USER),
        T.StructField("venue", _VENUE),
        T.StructField("with", T.ArrayType(_USER)),
    ]
)


def to_events(raw: DataFrame) -> DataFrame:
    parsed = raw.select("raw_payload", "source_file", parse_json(F.col("raw_payload"), RECORD).alias("r"))
    r = lambda name: F.col(f"r.{name}")  # noqa: E731
    kind = r("type")
    created = ts_epoch_fractional(r("createdAt"))
    venue_topics = topics(r("venue.categories")["name"])
    owner, creator = r("user.id"), r("createdBy.id")
    checkin_id = r("id")

    checkin = event(
        event_key(NETWORK, checkin_id, F.lit("checkin")),
        created,
        F.lit("checkin"),
        account(NETWORK, owner),
        null(),
        checkin_id,
        null(),
        venue_topics,
        F.length(r("shout")),
    )

    def tag(tagger: Column, friend: Column) -> Column:
        return event(
            event_key(NETWORK, checkin_id, F.lit("checkin_tag"), friend),
            created,
            F.lit("checkin_tag"),
            account(NETWORK, tagger),
            account(NETWORK, friend),
            null(),
            checkin_id,
            venue_topics,
            null(),
        )

    friends = F.filter(F.coalesce(r("with"), F.array().cast(T.ArrayType(_USER))), lambda u: u.isNotNull())
    checked_in_by_friend = creator.isNotNull() & ~F.coalesce(creator == owner, F.lit(False))
    checkin_events = F.when(checked_in_by_friend, F.array(tag(creator, owner))).otherwise(
        F.concat(F.array(checkin), F.transform(friends, lambda u: tag(owner, u["id"])))
    )

    like = event(
        event_key(NETWORK, F.lit("like"), r("user.id"), r("checkinId")),
        created,
        F.lit("like"),
        account(NETWORK, r("user.id")),
        account(NETWORK, r("checkinOwnerId")),
        null(),
        r("checkinId"),
        venue_topics,
        null(),
    )
    comment = event(
        event_key(NETWORK, r("checkinId"), F.lit("comment"), r("id")),
        created,
        F.lit("comment"),
        account(NETWORK, r("user.id")),
        account(NETWORK, r("checkinOwnerId")),
        r("id"),
        r("checkinId"),
        venue_topics,
        F.length(r("text")),
    )
    unknown = event(
        null(), created, F.concat(F.lit("type:"), F.coalesce(kind, F.lit("none"))), account(NETWORK, r("user.id")),
        null(), null(), null(), F.array(), null(),
    )  # fmt: skip

    is_checkin = F.coalesce(kind.isin(*_CHECKIN_TYPES), F.lit(False))
    recognised = is_checkin | F.coalesce(kind.isin("like", "comment"), F.lit(False))
    events = F.when(is_checkin, checkin_events).when(kind == "like", F.array(like)).when(kind == "comment", F.array(comment)).otherwise(F.array(unknown))
    return record_candidates(
        parsed,
        NETWORK,
        events,
        (recognised & wrong_type(r("createdAt"), created), "wrong_type"),
        (~recognised, "unknown_action"),
        unknown_keeps_events=True,
    )


def render(actions: DataFrame) -> DataFrame:
    """Canonical synthetic actions -> Swarm check-ins (own, or a friend's copy for a tag) and like/comment records."""
    a = F.col
    # createdAt is whole epoch seconds natively; a time with a fraction keeps it (to_events reads both)
    created = (F.unix_micros("event_time").cast("decimal(20,0)") / 1_000_000).cast("decimal(20,6)")
    day_seq = F.concat(F.date_format("event_time", "yyyyMMdd"), F.lit("x"), a("seq").cast("string"))
    own_id = F.coalesce(a("content_native"), day_seq)
    venue = F.struct(
        F.substring(F.sha1(F.array_join("topics", "|")), 1, 24).alias("id"),
        F.coalesce(F.initcap(F.try_element_at("topics", F.lit(1))), F.lit("Somewhere")).alias("name"),
        F.transform("topics", lambda t: F.struct(F.initcap(t).alias("name"))).alias("categories"),
    )
    user = lambda native, handle: F.struct(native.alias("id"), handle.alias("firstName"))  # noqa: E731
    checkin = F.struct(
        own_id.alias("id"),
        created.alias("createdAt"),
        F.lit("checkin").alias("type"),
        F.lit(0).alias("timeZoneOffset"),
        user(a("actor_native"), a("actor_handle")).alias("user"),
        venue.alias("venue"),
        a("text").alias("shout"),
    )
    # a tag as the tagged friend's history shows it: a check-in of the friend, created by the tagger
    tagged = F.struct(
        own_id.alias("id"),
        created.alias("createdAt"),
        F.lit("checkin").alias("type"),
        F.lit(0).alias("timeZoneOffset"),
        user(a("target_native"), a("target_handle")).alias("user"),
        user(a("actor_native"), a("actor_handle")).alias("createdBy"),
        venue.alias("venue"),
    )
    reaction = F.struct(
        a("action").alias("type"),
        F.when(a("action") == "comment", own_id).alias("id"),
        F.coalesce(a("target_content_native"), day_seq).alias("checkinId"),
        a("target_native").alias("checkinOwnerId"),
        user(a("actor_native"), a("actor_handle")).alias("user"),
        created.alias("createdAt"),
        F.when(a("action") == "comment", a("text")).alias("text"),
        venue.alias("venue"),
    )
    options = {"ignoreNullFields": "true"}
    value = (
        F.when(a("action") == "checkin", F.to_json(checkin, options))
        .when(a("action") == "checkin_tag", F.to_json(tagged, options))
        .otherwise(F.to_json(reaction, options))
    )
    whole_seconds = F.regexp_replace(value, r'("createdAt":-?\d+)\.0{6}(?=[,}])', "$1")
    return actions.select(whole_seconds.alias("value"))
