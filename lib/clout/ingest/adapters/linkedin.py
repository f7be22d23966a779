"""LinkedIn REST (Posts API, socialActions / Reactions API, member profiles), JSON lines.

Native records, one JSON object per line, recognised by their fields (LinkedIn entities carry no type tag).
Times are epoch milliseconds (JSON numbers); people and organisations are URNs.

- Post (``/rest/posts``): ``{"id": "urn:li:share:<n>"|"urn:li:ugcPost:<n>", "author": "urn:li:person:<id>"
  |"urn:li:organization:<n>", "createdAt", "publishedAt", "commentary", "visibility", "lifecycleState":
  "PUBLISHED"|"DRAFT"|"PUBLISH_REQUESTED"|"PUBLISH_FAILED", "distribution": {...}}``. Commentary is
  LinkedIn "little text": hashtags are written ``{hashtag|\\#|physics}``, reserved characters are escaped
  with a backslash (a plain ``#word`` not preceded by a backslash is read as a hashtag too).
- Reshare: a post with ``"reshareContext": {"parent": <post urn>, "root": <post urn>}``.
- Reaction (``/rest/reactions``): ``{"id": "urn:li:reaction:(<actor>,<entity>)", "reactionType": "LIKE"|
  "PRAISE"|"EMPATHY"|"INTEREST"|"APPRECIATION"|"ENTERTAINMENT"|"MAYBE", "root": <post urn>, "object"
  (older socialActions shape, same meaning), "actor" (older shape), "created": {"actor", "time"},
  "lastModified": {...}}``.
- Comment (``/rest/socialActions/{urn}/comments``): ``{"id", "actor", "object": <post urn>, "message":
  {"text"}, "created": {"actor", "time"}, "parentComment": <comment urn>}``; ``parentComment`` is set on a
  comment that answers another comment.
- Profile: ``{"profile": {"id": "urn:li:person:<id>", "headline", "title", "companySize", ...}}``.
LinkedIn answers with URNs only, so the exporter adds ``"targetAuthor"`` (the URN of the author of the
entity acted upon: the post reacted to or commented on, the parent comment of a reply, the parent post of
a reshare), resolved with one batch lookup per file, and on reactions ``"targetCommentary"`` (the
commentary of the entity reacted to, so the reaction knows what it is about).

Recognised as, first match wins: ``profile`` -> profile; ``reactionType`` -> reaction; ``message`` or
``parentComment`` -> comment; ``author`` -> post.

Mapping to events (account ids are ``linkedin:<URN>``, e.g. ``linkedin:urn:li:person:8ZK2Q``: the URN is
kept whole, so people and organisations never collide):
- published post -> ``post`` (content_id = post urn, time = publishedAt, else createdAt); with
  ``reshareContext.parent`` -> ``share`` aimed at ``targetAuthor`` (target_content_id = parent urn).
  DRAFT / PUBLISH_REQUESTED / PUBLISH_FAILED posts were never seen by anyone -> no event; any other
  lifecycleState -> action ``lifecycle:<state>``, rejected by validation as ``unknown_action``.
- every reaction type -> ``like`` aimed at ``targetAuthor`` (target_content_id = root); an unknown type ->
  action ``reaction:<TYPE>``, rejected by validation as ``unknown_action``.
- comment -> ``comment`` aimed at ``targetAuthor`` on ``object``; with ``parentComment`` -> ``reply``
  aimed at ``targetAuthor`` with target_content_id = the parent comment's id (the last element of its
  urn ``urn:li:comment:(<activity>,<id>)``, or the value itself when it is a bare id), so it matches the
  parent comment's content_id (its ``id``).
- topics: the hashtags of the commentary / comment text; for a reaction those of ``targetCommentary``.
- profile records (job title, company size) are not actions: each yields one candidate with parse_error
  ``no_events``, so they are counted in quarantine; whoever needs the attributes reads them from the raw
  files.
- a record of none of these shapes -> parse_error ``unknown_action``; a time that is not epoch ms ->
  ``wrong_type``.
Event ids: ``linkedin:<post urn>:<action>``, ``linkedin:comment:<comment id>``,
``linkedin:reaction:<actor urn>:<root urn>`` (one reaction per member and entity: changing LIKE to PRAISE
is the same event).
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
    render_json,
    topics,
    ts_epoch_millis,
    wrong_type,
)

NETWORK = "linkedin"
SYNTH_ACTIONS = {"post": 0.20, "comment": 0.17, "reply": 0.05, "share": 0.08, "like": 0.50}
REACTION_TYPES = ("LIKE", "PRAISE", "EMPATHY", "INTEREST", "APPRECIATION", "ENTERTAINMENT", "MAYBE")
UNPUBLISHED = ("DRAFT", "PUBLISH_REQUESTED", "PUBLISH_FAILED")

_STAMP = T.StructType([T.StructField("actor", T.StringType()), T.StructField("time", T.StringType())])
RECORD = T.StructType(
    [
        T.StructField("id", T.StringType()),
        # post
        T.StructField("author", T.StringType()),
        T.StructField("createdAt", T.StringType()),
        T.StructField("publishedAt", T.StringType()),
        T.StructField("commentary", T.StringType()),
        T.StructField("lifecycleState", T.StringType()),
        T.StructField("reshareContext", T.StructType([T.StructField("parent", T.StringType()), T.StructField("root", T.StringType())])),
        # reaction / comment
        T.StructField("reactionType", T.StringType()),
        T.StructField("root", T.StringType()),
        T.StructField("object", T.StringType()),
        T.StructField("actor", T.StringType()),
        T.StructField("created", _STAMP),
        T.StructField("message", T.StructType([T.StructField("text", T.StringType())])),
        T.StructField("parentComment", T.StringType()),
        T.StructField("targetAuthor", T.StringType()),
        T.StructField("targetCommentary", T.StringType()),
        # profile
        T.StructField(
            "profile",
            T.StructType(
                [
                    T.StructField("id", T.StringType()),
                    T.StructField("headline", T.StringType()),
                    T.StructField("title", T.StringType()),
                    T.StructField("companySize", T.StringType()),
                ]
            ),
        ),
    ]
)


def _little_text_hashtags(text: Column) -> Column:
    """``{hashtag|\\#|Physics}`` templates and plain ``#Physics`` not escaped with a backslash."""
    s = F.coalesce(text, F.lit(""))
    templated = F.regexp_extract_all(s, F.lit(r"\{hashtag\|\\?#\|([^}|]+)\}"), 1)
    plain = F.regexp_extract_all(s, F.lit(r"(?<![\\\w])#(\w+)"), 1)
    return F.concat(templated, plain)


def _kind(r: Column) -> Column:
    return (
        F.when(r["profile"].isNotNull(), F.lit("profile"))
        .when(r["reactionType"].isNotNull(), F.lit("reaction"))
        .when(r["message"].isNotNull() | r["parentComment"].isNotNull(), F.lit("comment"))
        .when(r["author"].isNotNull(), F.lit("post"))
    )


def to_events(raw: DataFrame) -> DataFrame:
    parsed = raw.select("raw_payload", "source_file", parse_json(F.col("raw_payload"), RECORD).alias("r"))
    r = F.col("r")
    kind = _kind(r)
    is_post, is_reaction, is_comment = kind == "post", kind == "reaction", kind == "comment"
    is_share = is_post & r["reshareContext"]["parent"].isNotNull()
    is_reply = is_comment & r["parentComment"].isNotNull()
    lifecycle = F.upper(F.trim(r["lifecycleState"]))
    reaction_type = F.upper(F.trim(r["reactionType"]))

    post_time_raw = F.coalesce(r["publishedAt"], r["createdAt"])
    time_raw = F.when(is_post, post_time_raw).otherwise(r["created"]["time"])
    time = ts_epoch_millis(time_raw)
    post_action = (
        F.when(lifecycle.isNotNull() & (lifecycle != "PUBLISHED"), F.concat(F.lit("lifecycle:"), lifecycle))
        .when(is_share, F.lit("share"))
        .otherwise(F.lit("post"))
    )
    action = (
        F.when(is_post, post_action)
        .when(is_reaction, F.when(reaction_type.isin(*REACTION_TYPES), F.lit("like")).otherwise(F.concat(F.lit("reaction:"), reaction_type)))
        .when(is_reply, F.lit("reply"))
        .when(is_comment, F.lit("comment"))
    )
    actor_urn = F.when(is_post, r["author"]).otherwise(F.coalesce(r["actor"], r["created"]["actor"]))
    parent_comment_id = F.coalesce(F.nullif(F.regexp_extract(r["parentComment"], r"^urn:li:comment:\(.+,([^,()]+)\)$", 1), F.lit("")), r["parentComment"])
    entity = F.coalesce(r["root"], r["object"])
    target_content = F.when(is_share, r["reshareContext"]["parent"]).when(is_reaction, entity).when(is_reply, parent_comment_id).when(is_comment, r["object"])
    text = F.when(is_post, r["commentary"]).when(is_comment, r["message"]["text"])
    event_id = (
        F.when(is_post, event_key(NETWORK, r["id"], action))
        .when(is_reaction, event_key(NETWORK, F.lit("reaction"), actor_urn, entity))
        .when(is_comment, event_key(NETWORK, F.lit("comment"), r["id"]))
    )
    record_event = event(
        event_id,
        time,
        action,
        account(NETWORK, actor_urn),
        F.when(is_share | is_reaction | is_comment, account(NETWORK, r["targetAuthor"])),
        F.when(is_post | is_comment, r["id"]),
        target_content,
        topics(_little_text_hashtags(F.coalesce(text, F.when(is_reaction, r["targetCommentary"])))),
        F.length(text),
    )
    bad_time = (
        wrong_type(r["publishedAt"], ts_epoch_millis(r["publishedAt"]))
        | wrong_type(r["createdAt"], ts_epoch_millis(r["createdAt"]))
        | wrong_type(r["created"]["time"], ts_epoch_millis(r["created"]["time"]))
    )
    no_event = (kind == "profile") | (is_post & lifecycle.isin(*UNPUBLISHED))
    events = F.when(no_event, F.array()).otherwise(F.array(record_event))
    return record_candidates(
        parsed,
        NETWORK,
        events,
        (bad_time, "wrong_type"),
        (kind.isNull(), "unknown_action"),
    )


def _urn(value: Column, kind: str) -> Column:
    """A canonical id as a LinkedIn URN: kept when it already is one, else ``urn:li:<kind>:<id>``."""
    return F.when(value.startswith("urn:li:"), value).otherwise(F.concat(F.lit(f"urn:li:{kind}:"), value))


def _hashtag_templates(topic_list: Column) -> Column:
    return F.when(F.size(topic_list) > 0, F.array_join(F.transform(topic_list, lambda t: F.concat(F.lit("{hashtag|\\#|"), t, F.lit("}"))), " "))


def _little_text(text: Column, topic_list: Column) -> Column:
    """Free text with little-text reserved characters escaped, followed by the topics as hashtag templates."""
    escaped = F.regexp_replace(text, r"([\\|{}@\[\]()<>#*_~])", r"\\$1")
    return F.concat_ws(" ", escaped, _hashtag_templates(topic_list))


def render(actions: DataFrame) -> DataFrame:
    """Canonical synthetic actions -> LinkedIn posts, reshares, comments and reactions (one JSON line each).

    Member ids are used as they are (the generator's LinkedIn ids already are ``urn:li:person:`` URNs);
    content ids become ``urn:li:share:`` URNs. A synthetic reply names its parent comment by bare id: the
    canonical row does not know which post the parent comment is on, which a comment URN would need.
    """
    a = F.col
    act = a("action")
    ms = F.unix_millis(a("event_time"))
    stamp = F.struct(a("actor_native").alias("actor"), ms.alias("time"))
    post = F.struct(
        _urn(a("content_native"), "share").alias("id"),
        a("actor_native").alias("author"),
        ms.alias("createdAt"),
        ms.alias("publishedAt"),
        _little_text(a("text"), a("topics")).alias("commentary"),
        F.lit("PUBLIC").alias("visibility"),
        F.lit("PUBLISHED").alias("lifecycleState"),
        F.struct(F.lit("MAIN_FEED").alias("feedDistribution")).alias("distribution"),
        F.when(
            act == "share",
            F.struct(_urn(a("target_content_native"), "share").alias("parent"), _urn(a("target_content_native"), "share").alias("root")),
        ).alias("reshareContext"),
        F.when(act == "share", a("target_native")).alias("targetAuthor"),
    )
    comment = F.struct(
        a("content_native").alias("id"),
        a("actor_native").alias("actor"),
        F.when(act == "comment", _urn(a("target_content_native"), "share")).alias("object"),
        F.when(act == "reply", a("target_content_native")).alias("parentComment"),
        F.struct(_little_text(a("text"), a("topics")).alias("text")).alias("message"),
        stamp.alias("created"),
        stamp.alias("lastModified"),
        a("target_native").alias("targetAuthor"),
    )
    root = _urn(a("target_content_native"), "share")
    reaction = F.struct(
        F.concat(F.lit("urn:li:reaction:("), a("actor_native"), F.lit(","), root, F.lit(")")).alias("id"),
        F.element_at(F.array(*[F.lit(t) for t in REACTION_TYPES]), (F.pmod(a("seq"), F.lit(len(REACTION_TYPES))) + 1).cast("int")).alias("reactionType"),
        root.alias("root"),
        stamp.alias("created"),
        stamp.alias("lastModified"),
        a("target_native").alias("targetAuthor"),
        _hashtag_templates(a("topics")).alias("targetCommentary"),
    )
    return render_json(
        actions,
        NETWORK,
        act,
        (act.isin("post", "share"), post),
        (act.isin("comment", "reply"), comment),
        (act == "like", reaction),
    )
