"""Discourse community forums: webhook / API payloads (topics, posts, likes, accepted solutions), JSON lines.

Native records, one JSON object per line, each in the envelope Discourse webhooks use:
- Topic (``topic_created``): ``{"topic": {"id", "title", "created_at", "user_id", "created_by": {"id",
  "username"}, "category_id", "category_slug", "tags": ["x", ...] (newer versions: [{"name", ...}]),
  "archetype"}}``. The topic is created together with its first post.
- Post (``post_created``): ``{"post": {"id", "topic_id", "post_number", "post_type", "user_id", "username",
  "created_at", "raw", "cooked" (HTML), "reply_to_post_number", "reply_to_user": {"id", "username"},
  "category_slug", "topic_user_id", "topic_tags"}}``. A post answering the topic rather than one post has no
  reply_to_user; Discourse does not say who owns the topic, so our collector adds ``topic_user_id``, and
  ``topic_tags`` (the topic's tags) beside the ``category_slug`` the payload already has.
- Like (a ``post_actions`` row of type 2): ``{"post_action": {"id", "post_id", "post_user_id", "user_id",
  "post_action_type_id": 2, "created_at", "category_slug", "topic_tags"}}``.
- Accepted solution (discourse-solved): ``{"solution": {"topic_id", "post_id", "post_user_id",
  "accepter_user_id", "accepted_at", "category_slug", "topic_tags"}}``.
The collector copies the topic's ``category_slug`` and ``topic_tags`` onto likes and solutions.

Mapping to events (account ids are ``discourse:<user id>``; usernames change, ids do not):
- topic -> ``post`` by its owner (content_id ``topic:<id>``).
- post number 1 is the topic's own first post -> the same ``post`` event as the topic record (same event id,
  so whichever arrives is counted once); a later post -> ``reply`` aimed at ``reply_to_user`` or, when it
  answers the topic itself (no reply_to_post_number, or post 1), at ``topic_user_id``
  (content_id ``post:<id>``, target_content_id ``topic:<topic id>``).
- like -> ``like`` of ``post_user_id``; other post action types (bookmark, flags) -> ``no_events``.
- solution -> ``accepted_answer`` from the accepter to the answer's author (target_content_id ``post:<id>``).
- small-action posts (post_type 3: "closed this topic" ...) -> ``no_events``.
- topics: the topic's tags plus its category slug ("uncategorized" says nothing and is left out).
- a created_at/accepted_at that is not ISO-8601, or a non-numeric post_number/post_type/action type ->
  ``wrong_type``; a record with none of the four envelopes -> ``unknown_action`` (action ``record:<keys>``).
Event ids: ``discourse:topic:<topic id>:post``, ``discourse:post:<post id>:reply``,
``discourse:like:<user id>:<post id>``, ``discourse:accepted:<post id>``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout.ingest.adapters.base import (
    account,
    event,
    event_key,
    no_events,
    null,
    parse_json,
    record_candidates,
    topics,
    ts_iso,
    wrong_type,
)

NETWORK = "discourse"
SYNTH_ACTIONS = {"post": 0.16, "reply": 0.36, "like": 0.42, "accepted_answer": 0.06}

_LIKE = 2
_SMALL_ACTION = 3
_NO_CATEGORY = "uncategorized"

_USER = T.StructType([T.StructField("id", T.StringType()), T.StructField("username", T.StringType())])
_STRINGS = T.ArrayType(T.StringType())  # tags: plain names, or objects (kept as their JSON text)


def _text_fields(*names: str) -> list[T.StructField]:
    return [T.StructField(n, T.StringType()) for n in names]


RECORD = T.StructType(
    [
        T.StructField(
            "topic",
            T.StructType(
                [
                    *_text_fields("id", "title", "created_at", "user_id", "category_id", "category_slug", "archetype"),
                    T.StructField("created_by", _USER),
                    T.StructField("tags", _STRINGS),
                ]
            ),
        ),
        T.StructField(
            "post",
            T.StructType(
                [
                    *_text_fields(
                        "id",
                        "topic_id",
                        "post_number",
                        "post_type",
                        "user_id",
                        "username",
                        "created_at",
                        "raw",
                        "cooked",
                        "reply_to_post_number",
                        "category_slug",
                        "topic_user_id",
                    ),
                    T.StructField("reply_to_user", _USER),
                    T.StructField("topic_tags", _STRINGS),
                ]
            ),
        ),
        T.StructField(
            "post_action",
            T.StructType(
                [
                    *_text_fields("id", "post_id", "post_user_id", "user_id", "post_action_type_id", "created_at", "category_slug"),
                    T.StructField("topic_tags", _STRINGS),
                ]
            ),
        ),
        T.StructField(
            "solution",
            T.StructType(
                [
                    *_text_fields("topic_id", "post_id", "post_user_id", "accepter_user_id", "accepted_at", "category_slug"),
                    T.StructField("topic_tags", _STRINGS),
                ]
            ),
        ),
    ]
)


def _forum_topics(tags: Column, category_slug: Column) -> Column:
    names = F.transform(
        tags, lambda t: F.when(F.trim(t).startswith("{"), F.coalesce(F.get_json_object(t, "$.name"), F.get_json_object(t, "$.id"))).otherwise(t)
    )
    category = F.when(F.lower(F.trim(category_slug)) != _NO_CATEGORY, F.array(category_slug)).otherwise(F.array().cast("array<string>"))
    return topics(names, category)


def _prefixed(prefix: str, native_id: Column) -> Column:
    return F.concat(F.lit(prefix), native_id)


def to_events(raw: DataFrame) -> DataFrame:
    parsed = raw.select("raw_payload", "source_file", parse_json(F.col("raw_payload"), RECORD).alias("r"))
    topic, post, action, solution = (F.col(f"r.{k}") for k in ("topic", "post", "post_action", "solution"))

    topic_time = ts_iso(topic["created_at"], padded=True)
    topic_event = event(
        event_key(NETWORK, F.lit("topic"), topic["id"], F.lit("post")),
        topic_time,
        F.lit("post"),
        account(NETWORK, F.coalesce(topic["user_id"], topic["created_by"]["id"])),
        null(),
        _prefixed("topic:", topic["id"]),
        null(),
        _forum_topics(topic["tags"], topic["category_slug"]),
        F.length(topic["title"]),
    )

    post_time = ts_iso(post["created_at"], padded=True)
    post_number, post_type = post["post_number"].try_cast("int"), post["post_type"].try_cast("int")
    replied_number = post["reply_to_post_number"].try_cast("int")
    first_post = post_number == 1
    post_action = F.when(first_post, F.lit("post")).otherwise(F.lit("reply"))
    answers_topic = replied_number.isNull() | (replied_number == 1)
    post_target = F.when(~first_post, F.coalesce(post["reply_to_user"]["id"], F.when(answers_topic, post["topic_user_id"])))
    post_text = F.coalesce(post["raw"], F.regexp_replace(post["cooked"], "<[^>]*>", ""))
    post_event = event(
        F.when(first_post, event_key(NETWORK, F.lit("topic"), post["topic_id"], F.lit("post"))).otherwise(
            event_key(NETWORK, F.lit("post"), post["id"], F.lit("reply"))
        ),
        post_time,
        post_action,
        account(NETWORK, post["user_id"]),
        account(NETWORK, post_target),
        F.when(first_post, _prefixed("topic:", post["topic_id"])).otherwise(_prefixed("post:", post["id"])),
        F.when(~first_post, _prefixed("topic:", post["topic_id"])),
        _forum_topics(post["topic_tags"], post["category_slug"]),
        F.length(post_text),
    )

    like_time = ts_iso(action["created_at"], padded=True)
    action_type = action["post_action_type_id"].try_cast("int")
    like_event = event(
        event_key(NETWORK, F.lit("like"), action["user_id"], action["post_id"]),
        like_time,
        F.lit("like"),
        account(NETWORK, action["user_id"]),
        account(NETWORK, action["post_user_id"]),
        null(),
        _prefixed("post:", action["post_id"]),
        _forum_topics(action["topic_tags"], action["category_slug"]),
        null(),
    )

    accepted_time = ts_iso(solution["accepted_at"], padded=True)
    accepted_event = event(
        event_key(NETWORK, F.lit("accepted"), solution["post_id"]),
        accepted_time,
        F.lit("accepted_answer"),
        account(NETWORK, solution["accepter_user_id"]),
        account(NETWORK, solution["post_user_id"]),
        null(),
        _prefixed("post:", solution["post_id"]),
        _forum_topics(solution["topic_tags"], solution["category_slug"]),
        null(),
    )

    keys = F.array_join(F.json_object_keys(F.col("raw_payload")), ",")
    unknown = event(null(), null(), F.concat(F.lit("record:"), F.coalesce(keys, F.lit("none"))), null(), null(), null(), null(), F.array(), null())
    events = (
        F.when(topic.isNotNull(), F.array(topic_event))
        .when(post.isNotNull(), F.when(post_type == _SMALL_ACTION, no_events()).otherwise(F.array(post_event)))
        .when(action.isNotNull(), F.when(action_type == _LIKE, F.array(like_event)).otherwise(no_events()))
        .when(solution.isNotNull(), F.array(accepted_event))
        .otherwise(F.array(unknown))
    )
    bad_value = (
        F.when(topic.isNotNull(), wrong_type(topic["created_at"], topic_time))
        .when(
            post.isNotNull(),
            wrong_type(post["created_at"], post_time)
            | wrong_type(post["post_number"], post_number)
            | wrong_type(post["post_type"], post_type)
            | wrong_type(post["reply_to_post_number"], replied_number),
        )
        .when(action.isNotNull(), wrong_type(action["created_at"], like_time) | wrong_type(action["post_action_type_id"], action_type))
        .when(solution.isNotNull(), wrong_type(solution["accepted_at"], accepted_time))
    )
    recognised = topic.isNotNull() | post.isNotNull() | action.isNotNull() | solution.isNotNull()
    return record_candidates(
        parsed,
        NETWORK,
        events,
        (F.coalesce(bad_value, F.lit(False)), "wrong_type"),
        (~recognised, "unknown_action"),
        unknown_keeps_events=True,
    )


def _iso_text(ts: Column) -> Column:
    """Discourse writes milliseconds ('2026-11-20T08:00:00.000Z'); microseconds only when the time has them."""
    millis = F.unix_micros(ts) % 1000 == 0
    return F.when(millis, F.date_format(ts, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")).otherwise(F.date_format(ts, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"))


def render(actions: DataFrame) -> DataFrame:
    """Canonical synthetic actions -> Discourse topic / post / post_action / solution payloads, one JSON line each."""
    a = F.col
    created = _iso_text(a("event_time"))
    day_seq = F.concat(F.date_format("event_time", "yyyyMMdd"), a("seq").cast("string"))
    own_id = F.coalesce(a("content_native"), day_seq)
    target_item = F.coalesce(a("target_content_native"), day_seq)
    # the first topic label is the category, the others are tags
    category = F.coalesce(F.try_element_at("topics", F.lit(1)), F.lit(_NO_CATEGORY))
    tags = F.filter("topics", lambda _, i: i > 0)
    text = F.coalesce(a("text"), F.lit(""))
    topic = F.struct(
        F.struct(
            own_id.alias("id"),
            F.when(text != "", text).otherwise(F.concat(F.lit("Topic "), own_id)).alias("title"),
            created.alias("created_at"),
            a("actor_native").alias("user_id"),
            F.struct(a("actor_native").alias("id"), a("actor_handle").alias("username")).alias("created_by"),
            category.alias("category_slug"),
            tags.alias("tags"),
            F.lit("regular").alias("archetype"),
        ).alias("topic")
    )
    escaped = F.regexp_replace(F.regexp_replace(F.regexp_replace(text, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")
    reply = F.struct(
        F.struct(
            own_id.alias("id"),
            target_item.alias("topic_id"),
            (a("seq") + 2).alias("post_number"),
            F.lit(1).alias("post_type"),
            a("actor_native").alias("user_id"),
            a("actor_handle").alias("username"),
            created.alias("created_at"),
            text.alias("raw"),
            F.concat(F.lit("<p>"), escaped, F.lit("</p>")).alias("cooked"),
            category.alias("category_slug"),
            a("target_native").alias("topic_user_id"),
            a("topics").alias("topic_tags"),
        ).alias("post")
    )
    like = F.struct(
        F.struct(
            day_seq.alias("id"),
            target_item.alias("post_id"),
            a("target_native").alias("post_user_id"),
            a("actor_native").alias("user_id"),
            F.lit(_LIKE).alias("post_action_type_id"),
            created.alias("created_at"),
            category.alias("category_slug"),
            a("topics").alias("topic_tags"),
        ).alias("post_action")
    )
    solution = F.struct(
        F.struct(
            a("content_native").alias("topic_id"),
            target_item.alias("post_id"),
            a("target_native").alias("post_user_id"),
            a("actor_native").alias("accepter_user_id"),
            created.alias("accepted_at"),
            category.alias("category_slug"),
            a("topics").alias("topic_tags"),
        ).alias("solution")
    )
    options = {"ignoreNullFields": "true"}
    value = (
        F.when(a("action") == "post", F.to_json(topic, options))
        .when(a("action") == "reply", F.to_json(reply, options))
        .when(a("action") == "like", F.to_json(like, options))
        .otherwise(F.to_json(solution, options))
    )
    return actions.select(value.alias("value"))
