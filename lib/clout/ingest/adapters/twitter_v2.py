"""X / Twitter API v2 (filtered-stream and Account Activity shapes), JSON lines.

Native records, one JSON object per line:
- Tweet, as the v2 stream delivers it: ``{"data": {"id", "author_id", "created_at", "text",
  "referenced_tweets": [{"type": "replied_to"|"quoted"|"retweeted", "id"}], "in_reply_to_user_id",
  "entities": {"hashtags": [{"tag"}], "mentions": [{"id", "username"}]}}, "includes": {"users": [...],
  "tweets": [{"id", "author_id"}]}}``
- Like (Account Activity ``favorite_events``): ``{"favorite_events": [{"id", "created_at",
  "favorited_status": {"id", "user": {"id"}, "entities": {"hashtags": [{"text"}]}}, "user": {"id"}}]}``
- Follow (Account Activity ``follow_events``): ``{"follow_events": [{"type": "follow", "created_timestamp"
  (epoch ms as text), "source": {"id"}, "target": {"id"}}]}``

Mapping to events (account ids are ``twitter:<user id>``):
- tweet without referenced_tweets -> ``post`` (content_id = tweet id); ``replied_to`` -> ``reply`` aimed at
  ``in_reply_to_user_id``; ``quoted`` -> ``quote`` and ``retweeted`` -> ``share`` aimed at the referenced
  tweet's author from ``includes.tweets``.
- every entities.mentions user, except the one replied to (Twitter adds that mention itself) -> ``mention``.
- favorite event -> ``like`` of the favorited tweet's author; follow event -> ``follow`` of the target.
- topics: the tweet's hashtags; for a like, the liked tweet's (favorited_status carries the full v1.1 tweet,
  entities.hashtags[].text included).
Event ids: ``twitter:<tweet id>:<action>``, ``twitter:<tweet id>:mention:<user id>``,
``twitter:like:<user id>:<tweet id>``, ``twitter:follow:<source>:<target>:<created ms>``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout.ingest.adapters.base import (
    account,
    event,
    event_key,
    parse_json,
    record_candidates,
    topics,
    ts_epoch_millis,
    ts_iso,
    wrong_type,
)

NETWORK = "twitter"
SYNTH_ACTIONS = {"post": 0.22, "reply": 0.14, "quote": 0.04, "share": 0.16, "like": 0.40, "follow": 0.04}

_USER = T.StructType([T.StructField("id", T.StringType())])
_TWEET = T.StructType(
    [
        T.StructField("id", T.StringType()),
        T.StructField("author_id", T.StringType()),
        T.StructField("created_at", T.StringType()),
        T.StructField("text", T.StringType()),
        T.StructField("in_reply_to_user_id", T.StringType()),
        T.StructField("referenced_tweets", T.ArrayType(T.StructType([T.StructField("type", T.StringType()), T.StructField("id", T.StringType())]))),
        T.StructField(
            "entities",
            T.StructType(
                [
                    T.StructField("hashtags", T.ArrayType(T.StructType([T.StructField("tag", T.StringType())]))),
                    T.StructField("mentions", T.ArrayType(T.StructType([T.StructField("id", T.StringType()), T.StructField("username", T.StringType())]))),
                ]
            ),
        ),
    ]
)
RECORD = T.StructType(
    [
        T.StructField("data", _TWEET),
        T.StructField(
            "includes",
            T.StructType(
                [T.StructField("tweets", T.ArrayType(T.StructType([T.StructField("id", T.StringType()), T.StructField("author_id", T.StringType())])))]
            ),
        ),
        T.StructField(
            "favorite_events",
            T.ArrayType(
                T.StructType(
                    [
                        T.StructField("id", T.StringType()),
                        T.StructField("created_at", T.StringType()),
                        T.StructField(
                            "favorited_status",
                            T.StructType(
                                [
                                    T.StructField("id", T.StringType()),
                                    T.StructField("user", _USER),
                                    T.StructField(
                                        "entities",
                                        T.StructType([T.StructField("hashtags", T.ArrayType(T.StructType([T.StructField("text", T.StringType())])))]),
                                    ),
                                ]
                            ),
                        ),
                        T.StructField("user", _USER),
                    ]
                )
            ),
        ),
        T.StructField(
            "follow_events",
            T.ArrayType(
                T.StructType(
                    [
                        T.StructField("type", T.StringType()),
                        T.StructField("created_timestamp", T.StringType()),
                        T.StructField("source", _USER),
                        T.StructField("target", _USER),
                    ]
                )
            ),
        ),
    ]
)
_REF_ACTION = {"replied_to": "reply", "quoted": "quote", "retweeted": "share"}


def _ref_action(ref_type: Column) -> Column:
    mapped = F.create_map(*[x for k, v in _REF_ACTION.items() for x in (F.lit(k), F.lit(v))])
    return mapped[ref_type]


def to_events(raw: DataFrame) -> DataFrame:
    rec = parse_json(F.col("raw_payload"), RECORD).alias("r")
    tw = F.col("r.data")
    ref = F.try_element_at(tw["referenced_tweets"], F.lit(1))
    # values used by several events are materialised once (a Column used in many places is evaluated per use)
    parsed = raw.select("raw_payload", "source_file", rec).select(
        "*",
        ref.alias("ref"),
        ts_iso(tw["created_at"]).alias("tweet_time"),
        account(NETWORK, tw["author_id"]).alias("actor"),
        topics(tw["entities"]["hashtags"]["tag"]).alias("tweet_topics"),
        F.length(tw["text"]).alias("text_chars"),
    )
    ref, tweet_time, actor, tweet_topics, text_chars = (F.col(c) for c in ("ref", "tweet_time", "actor", "tweet_topics", "text_chars"))
    ref_author = F.try_element_at(F.filter(F.coalesce(F.col("r.includes.tweets"), F.array()), lambda t: t["id"] == ref["id"]), F.lit(1))["author_id"]
    primary_action = F.when(ref.isNull(), F.lit("post")).otherwise(F.coalesce(_ref_action(ref["type"]), F.concat(F.lit("ref:"), ref["type"])))
    primary_target = F.when(ref["type"] == "replied_to", tw["in_reply_to_user_id"]).when(ref.isNotNull(), ref_author)
    primary = event(
        event_key(NETWORK, tw["id"], primary_action),
        tweet_time,
        primary_action,
        actor,
        account(NETWORK, primary_target),
        tw["id"],
        ref["id"],
        tweet_topics,
        text_chars,
    )
    mentions = F.transform(
        F.filter(F.coalesce(tw["entities"]["mentions"], F.array()), lambda m: F.coalesce(m["id"] != tw["in_reply_to_user_id"], F.lit(True))),
        lambda m: event(
            event_key(NETWORK, tw["id"], F.lit("mention"), m["id"]),
            tweet_time,
            F.lit("mention"),
            actor,
            account(NETWORK, m["id"]),
            tw["id"],
            tw["id"],
            tweet_topics,
            text_chars,
        ),
    )
    likes = F.transform(
        F.coalesce(F.col("r.favorite_events"), F.array()),
        lambda e: event(
            event_key(NETWORK, F.lit("like"), e["user"]["id"], e["favorited_status"]["id"]),
            ts_iso(e["created_at"]),
            F.lit("like"),
            account(NETWORK, e["user"]["id"]),
            account(NETWORK, e["favorited_status"]["user"]["id"]),
            F.lit(None).cast("string"),
            e["favorited_status"]["id"],
            topics(e["favorited_status"]["entities"]["hashtags"]["text"]),
            F.lit(None).cast("int"),
        ),
    )
    follows = F.transform(
        F.coalesce(F.col("r.follow_events"), F.array()),
        lambda e: event(
            event_key(NETWORK, F.lit("follow"), e["source"]["id"], e["target"]["id"], e["created_timestamp"]),
            ts_epoch_millis(e["created_timestamp"]),
            F.when(e["type"] == "follow", F.lit("follow")).otherwise(F.concat(F.lit("follow_event:"), e["type"])),
            account(NETWORK, e["source"]["id"]),
            account(NETWORK, e["target"]["id"]),
            F.lit(None).cast("string"),
            F.lit(None).cast("string"),
            F.array().cast("array<string>"),
            F.lit(None).cast("int"),
        ),
    )
    tweet_events = F.when(tw.isNotNull(), F.concat(F.array(primary), mentions)).otherwise(F.array())
    bad_time = F.coalesce(
        wrong_type(tw["created_at"], tweet_time),
        F.exists(F.coalesce(F.col("r.favorite_events"), F.array()), lambda e: wrong_type(e["created_at"], ts_iso(e["created_at"]))),
    )
    bad_follow_time = F.exists(
        F.coalesce(F.col("r.follow_events"), F.array()), lambda e: wrong_type(e["created_timestamp"], ts_epoch_millis(e["created_timestamp"]))
    )
    return record_candidates(
        parsed,
        NETWORK,
        F.concat(tweet_events, likes, follows),
        (bad_time | bad_follow_time, "wrong_type"),
    )


def render(actions: DataFrame) -> DataFrame:
    """Canonical synthetic actions -> v2 tweets, favorite events and follow events (one JSON line each)."""
    a = F.col
    created = F.date_format("event_time", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
    ref_type = F.create_map(F.lit("reply"), F.lit("replied_to"), F.lit("quote"), F.lit("quoted"), F.lit("share"), F.lit("retweeted"))[a("action")]
    hashtag_text = F.array_join(F.transform("topics", lambda t: F.concat(F.lit("#"), t)), " ")
    tweet = F.struct(
        F.struct(
            a("content_native").alias("id"),
            a("actor_native").alias("author_id"),
            created.alias("created_at"),
            F.concat_ws(" ", F.when(a("action") == "reply", F.concat(F.lit("@"), a("target_handle"))), a("text"), hashtag_text).alias("text"),
            F.when(a("action") == "reply", a("target_native")).alias("in_reply_to_user_id"),
            F.when(ref_type.isNotNull(), F.array(F.struct(ref_type.alias("type"), a("target_content_native").alias("id")))).alias("referenced_tweets"),
            F.struct(
                F.transform("topics", lambda t: F.struct(t.alias("tag"))).alias("hashtags"),
                F.when(a("action") == "reply", F.array(F.struct(a("target_native").alias("id"), a("target_handle").alias("username")))).alias("mentions"),
            ).alias("entities"),
        ).alias("data"),
        F.struct(
            F.when(
                ref_type.isNotNull() & (a("action") != "reply"),
                F.array(F.struct(a("target_content_native").alias("id"), a("target_native").alias("author_id"))),
            ).alias("tweets")
        ).alias("includes"),
    )
    like = F.struct(
        F.array(
            F.struct(
                F.concat(F.lit("fav"), a("seq").cast("string")).alias("id"),
                created.alias("created_at"),
                F.struct(
                    a("target_content_native").alias("id"),
                    F.struct(a("target_native").alias("id")).alias("user"),
                    F.struct(F.transform("topics", lambda t: F.struct(t.alias("text"))).alias("hashtags")).alias("entities"),
                ).alias("favorited_status"),
                F.struct(a("actor_native").alias("id")).alias("user"),
            )
        ).alias("favorite_events")
    )
    follow = F.struct(
        F.array(
            F.struct(
                F.lit("follow").alias("type"),
                (F.unix_micros("event_time") / 1000).cast("bigint").cast("string").alias("created_timestamp"),
                F.struct(a("actor_native").alias("id")).alias("source"),
                F.struct(a("target_native").alias("id")).alias("target"),
            )
        ).alias("follow_events")
    )
    value = (
        F.when(a("action") == "like", F.to_json(like))
        .when(a("action") == "follow", F.to_json(follow))
        .otherwise(F.to_json(tweet, {"ignoreNullFields": "true"}))
    )
    return actions.select(value.alias("value"))
